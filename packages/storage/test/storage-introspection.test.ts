/**
 * Storage's introspection events (phase 2, unified logging) over real worker threads and real
 * persist: a storage runtime whose workers forward their events (`logging: {role: "forward"}`),
 * checked against the shards. Imports the BUILT package (`dist/`).
 */
import type { LogEvent, StorageLogEvent } from "@mzts/mz-cluster/logging";
import { afterEach, describe, expect, it } from "vitest";
import { createStorageRuntime, type StorageRuntime } from "../dist/index.js";
import {
  ALLOW_WRITES,
  counter,
  expected,
  INIT,
  readShard,
  shardUpper,
  stopAll,
  tempDir,
  until,
} from "./harness.js";

const runtimes: StorageRuntime[] = [];
afterEach(async () => {
  await Promise.all(runtimes.splice(0).map((r) => r.close()));
  await stopAll();
});

async function start(dataDir: string, workers: number) {
  const rt = createStorageRuntime({
    dataDir,
    workers,
    statisticsIntervalMs: 50,
    logging: { role: "forward" },
  });
  runtimes.push(rt);
  const logging = rt.logging;
  if (logging?.role !== "forward") throw new Error("no forwarding logging");
  const events: LogEvent[] = [];
  logging.onLogEvents((batch) => events.push(...batch));
  rt.onResponse(() => {});
  await rt.ready;
  return { rt, logging, events };
}

/** The latest event of each (worker, kind, source), in arrival order. */
function latest(events: readonly LogEvent[]): Map<string, StorageLogEvent> {
  const out = new Map<string, StorageLogEvent>();
  for (const { worker, event } of events) {
    const e = event as StorageLogEvent;
    out.set(`${worker}/${e.kind}/${e.sourceId}`, e);
  }
  return out;
}

describe("storage introspection (unified logging)", () => {
  it("frontiers, statistics and status agree with the shard; a drop retracts the source", async () => {
    const dir = await tempDir();
    const { rt, logging, events } = await start(dir, 2);
    logging.setForwarding(true);
    const cmd = counter("u1", "u2", "counter-i", 300n);
    rt.connect("n1");
    rt.submit([cmd, INIT, ALLOW_WRITES]);
    if (cmd.kind !== "runIngestion") throw new Error("unreachable");
    const total = expected(cmd.description, 0, 300n).length;
    const sum = (field: "updates" | "messages", id: string) => {
      let n = 0;
      for (const e of latest(events).values()) {
        if (e.kind === "ingestionStatistics" && e.sourceId === id) n += e[field];
      }
      return n;
    };
    await until(() => sum("updates", "u2") === total && sum("messages", "u2") === total);
    expect(await readShard(dir, "counter-i")).toHaveLength(total);
    expect(sum("updates", "u1")).toBe(total); // the ingestion sums its exports

    // The shard's writer logged the export's upper; the shard is closed at maxTicks (null).
    await until(() => latestUpper(events) === null);
    expect(await shardUpper(dir, "counter-i")).toBe(null);
    const frontiers = events.filter((e) => e.event.kind === "ingestionFrontier");
    expect(new Set(frontiers.map((e) => e.worker)).size).toBe(1);
    const status = latest(events).get("0/sourceStatus/u1");
    expect(status).toMatchObject({ status: "running", error: null });
    expect([...latest(events).keys()].some((k) => k.startsWith("1/sourceStatus"))).toBe(false);

    rt.submit([{ kind: "allowCompaction", id: "u1", frontier: null }]);
    await until(() => {
      const l = latest(events);
      return ["0", "1"].every((w) => ["u1", "u2"].every((id) => l.has(`${w}/sourceDropped/${id}`)));
    });
  });

  it("without forwarding enabled (interval 0) storage builds no events", async () => {
    const dir = await tempDir();
    const { rt, logging, events } = await start(dir, 2);
    rt.connect("n1");
    rt.submit([counter("u1", "u2", "counter-j", 50n), INIT, ALLOW_WRITES]);
    const deadline = Date.now() + 15_000;
    while ((await shardUpper(dir, "counter-j")) !== null) {
      if (Date.now() > deadline) throw new Error("counter-j never closed");
      await new Promise((r) => setTimeout(r, 50));
    }
    await new Promise((r) => setTimeout(r, 1200)); // several ticks, and one totals report
    expect(events).toEqual([]);
    expect(logging.stats().logged).toBe(0);
  });
});

function latestUpper(events: readonly LogEvent[]): bigint | null | undefined {
  let upper: bigint | null | undefined;
  for (const { event } of events) if (event.kind === "ingestionFrontier") upper = event.upper;
  return upper;
}
