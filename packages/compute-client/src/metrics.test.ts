/**
 * The history gauges (`bindHistoryMetrics`, attached with `attachHistoryMetrics`): labelled
 * series per instance, set and never reset, refused when the names are taken otherwise.
 */
import { ComputeCommandHistory } from "@mzts/protocol";
import {
  compaction,
  createDataflow,
  hello,
  peek,
  uuid,
} from "@mzts/protocol/testing/compute-commands";
import { Gauge, Registry } from "prom-client";
import { describe, expect, it, vi } from "vitest";
import { MetricsConflict } from "./errors.js";
import {
  attachHistoryMetrics,
  controllerMetrics,
  HISTORY_COMMAND_COUNT,
  HISTORY_DATAFLOW_COUNT,
} from "./metrics.js";

describe("the controller metrics are shared with the unified cluster controller", () => {
  it("one set per registry: the unified driver's series are the legacy controller's objects", async () => {
    const { controllerMetrics: shared, MetricsConflict: UnifiedConflict } = await import(
      "@mzts/controller-unified/state"
    );
    const registry = new Registry();
    const legacy = controllerMetrics(registry);
    expect(shared(registry, (n, r) => new UnifiedConflict(n, r))).toBe(legacy);
  });
});

describe("ComputeCommandHistory metrics", () => {
  async function gaugeValues(registry: Registry, name: string) {
    const metric = registry.getSingleMetric(name);
    if (metric === undefined) throw new Error(`${name} not registered`);
    return (await metric.get()).values;
  }

  it("mirrors the counts into labelled gauges, setting (never resetting) them", async () => {
    const registry = new Registry();
    const a = new ComputeCommandHistory();
    const b = new ComputeCommandHistory();
    a.push(createDataflow(["u1"], 0n));
    attachHistoryMetrics(a, registry, { instance_id: "u1" });
    const detachB = attachHistoryMetrics(b, registry, { instance_id: "u2" });
    const gauge = registry.getSingleMetric(HISTORY_COMMAND_COUNT) as Gauge;
    expect(gauge).toBeInstanceOf(Gauge);
    const reset = vi.spyOn(gauge, "reset");
    const remove = vi.spyOn(gauge, "remove");

    a.push(peek(uuid(1)));
    a.push(createDataflow(["u2"], 0n));
    a.push(compaction("u2", null));
    a.reduce();
    b.push(hello());

    const values = await gaugeValues(registry, HISTORY_COMMAND_COUNT);
    const value = (instance: string, kind: string) =>
      values.find((v) => v.labels.instance_id === instance && v.labels.command_type === kind)
        ?.value;
    expect(value("u1", "createDataflow")).toBe(1);
    expect(value("u1", "peek")).toBe(1);
    expect(value("u1", "allowCompaction")).toBe(0);
    expect(value("u1", "hello")).toBe(0);
    expect(value("u2", "hello")).toBe(1);
    expect(values.filter((v) => v.labels.instance_id === "u2")).toHaveLength(10);
    const dataflows = await gaugeValues(registry, HISTORY_DATAFLOW_COUNT);
    expect(dataflows).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ labels: { instance_id: "u1" }, value: 1 }),
        expect.objectContaining({ labels: { instance_id: "u2" }, value: 0 }),
      ]),
    );
    expect(reset).not.toHaveBeenCalled();
    expect(remove).not.toHaveBeenCalled();

    detachB();
    const after = await gaugeValues(registry, HISTORY_COMMAND_COUNT);
    expect(after.some((v) => v.labels.instance_id === "u2")).toBe(false);
    expect(after.some((v) => v.labels.instance_id === "u1")).toBe(true);
    b.push(peek(uuid(9))); // detached: no longer mirrored
    const again = await gaugeValues(registry, HISTORY_COMMAND_COUNT);
    expect(again.some((v) => v.labels.instance_id === "u2")).toBe(false);
  });

  it("refuses to share the gauges with other label names or foreign metrics", () => {
    const registry = new Registry();
    attachHistoryMetrics(new ComputeCommandHistory(), registry, { instance_id: "u1" });
    expect(() =>
      attachHistoryMetrics(new ComputeCommandHistory(), registry, { cluster: "c" }),
    ).toThrow(MetricsConflict);
    expect(() => attachHistoryMetrics(new ComputeCommandHistory(), registry)).toThrow(
      MetricsConflict,
    );
    const foreign = new Registry();
    new Gauge({ name: HISTORY_DATAFLOW_COUNT, help: "x", registers: [foreign] });
    expect(() => attachHistoryMetrics(new ComputeCommandHistory(), foreign)).toThrow(
      MetricsConflict,
    );
  });
});
