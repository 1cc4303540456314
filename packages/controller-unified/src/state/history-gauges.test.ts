/**
 * The history gauges' deferred writes (`bindHistoryMetrics`): counts set by a history are in
 * the gauge whenever it is read (the last one per kind), and a removed history's unwritten
 * counts never bring its series back.
 */
import { Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import { MetricsConflict } from "../errors.js";
import { bindHistoryMetrics, HISTORY_COMMAND_COUNT } from "./controller-metrics.js";

const conflict = (name: string, reason: string) => new MetricsConflict(name, reason);

async function series(registry: Registry, instance: string) {
  const m = await registry.getSingleMetric(HISTORY_COMMAND_COUNT)?.get();
  return new Map(
    (m?.values ?? [])
      .filter((v) => v.labels.instance_id === instance)
      .map((v) => [v.labels.command_type, v.value]),
  );
}

describe("history gauges", () => {
  it("read the last count set per kind", async () => {
    const registry = new Registry();
    const m = bindHistoryMetrics(registry, { instance_id: "c1" }, conflict);
    for (let n = 1; n <= 1000; n++) m.setCommandCount("allowCompaction", n);
    m.setCommandCount("peek", 3);
    let s = await series(registry, "c1");
    expect(s.get("allowCompaction")).toBe(1000);
    expect(s.get("peek")).toBe(3);
    m.setCommandCount("peek", 0);
    s = await series(registry, "c1");
    expect(s.get("peek")).toBe(0);
    await expect(registry.metrics()).resolves.toContain('command_type="allowCompaction"');
  });

  it("a removed history's unwritten counts do not bring its series back", async () => {
    const registry = new Registry();
    const a = bindHistoryMetrics(registry, { instance_id: "a" }, conflict);
    const b = bindHistoryMetrics(registry, { instance_id: "b" }, conflict);
    a.setCommandCount("schedule", 2);
    b.setCommandCount("schedule", 5);
    a.remove();
    expect((await series(registry, "a")).size).toBe(0);
    expect((await series(registry, "b")).get("schedule")).toBe(5);
  });
});
