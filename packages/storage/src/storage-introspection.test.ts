/** `StorageIntrospection` over fake state: nothing while disabled, changes only, re-arming, drops. */
import type { EventLogger, LogEventBody } from "@mzts/mz-cluster/logging";
import type { Frontier } from "@mzts/repr";
import { describe, expect, it } from "vitest";
import type { IngestionDataflow } from "./ingestion-dataflow.js";
import type { ShardWriter } from "./shard-writer.js";
import { TickClock } from "./source/load-generator/tick-clock.js";
import { IngestionStatuses } from "./status.js";
import { StorageIntrospection } from "./storage-introspection.js";

function logger(): EventLogger & { events: LogEventBody[] } {
  const events: LogEventBody[] = [];
  return { enabled: true, events, log: (e) => events.push(e) };
}

/** One ingestion u1 with export u2 on shard s2, written by this worker. */
function fixture() {
  const writers = new Map<string, ShardWriter>([
    ["s2", { shardId: "s2", exportId: "u2", committed: 4n } as unknown as ShardWriter],
  ]);
  const x = { id: "u2", shardId: "s2", live: true, generated: 5n, bytes: 50n };
  const dataflows = new Map<string, IngestionDataflow>([
    [
      "u1",
      {
        id: "u1",
        generator: { clock: new TickClock({ startMs: 1000n, intervalMs: 10n }) },
        exports: new Map([["u2", x]]),
      } as unknown as IngestionDataflow,
    ],
  ]);
  const knownUppers = new Map<string, Frontier>([["s2", 1000n]]);
  const statuses = new IngestionStatuses({
    deps: { respond: () => {}, nowMs: () => 0 },
    exportShards: () => ["s2"],
    buffering: () => false,
  });
  statuses.record("u1");
  const intro = new StorageIntrospection({ writers, dataflows, knownUppers, statuses });
  return { intro, writers, dataflows, knownUppers, statuses, x };
}

describe("StorageIntrospection", () => {
  it("logs nothing (and reads nothing) while the logger is absent or disabled", () => {
    const { intro } = fixture();
    intro.sample(undefined);
    const off = { ...logger(), enabled: false };
    intro.sample(off);
    expect(off.events).toEqual([]);
  });

  it("logs the current state once, then only what changed", () => {
    const { intro, knownUppers, statuses } = fixture();
    const l = logger();
    intro.sample(l);
    expect(l.events).toEqual([
      { kind: "ingestionFrontier", sourceId: "u2", upper: 1000n },
      {
        kind: "ingestionStatistics",
        sourceId: "u2",
        updates: 4,
        bytes: 50,
        messages: 5,
        snapshotCommitted: false, // upper 1000 = tick 0's time: tick 0 not written yet
      },
      {
        kind: "ingestionStatistics",
        sourceId: "u1",
        updates: 4,
        bytes: 50,
        messages: 5,
        snapshotCommitted: false,
      },
      { kind: "sourceStatus", sourceId: "u1", status: "starting", error: null },
    ]);
    l.events.length = 0;
    intro.sample(l);
    expect(l.events).toEqual([]);
    knownUppers.set("s2", 1020n);
    statuses.onHealth("u1", "s2", null);
    intro.sample(l);
    expect(l.events.map((e) => e.kind)).toEqual([
      "ingestionFrontier",
      "ingestionStatistics",
      "ingestionStatistics",
      "sourceStatus",
    ]);
    expect(l.events[1]).toMatchObject({ sourceId: "u2", snapshotCommitted: true });
    expect(l.events[3]).toMatchObject({ status: "running" });
  });

  it("a new logger (forwarding re-armed) gets the whole state again", () => {
    const { intro } = fixture();
    const a = logger();
    intro.sample(a);
    const b = logger();
    intro.sample(b);
    expect(b.events).toEqual(a.events);
  });

  it("ids that disappear are dropped; a writer that stops retracts its frontier", () => {
    const { intro, writers, dataflows, statuses } = fixture();
    const l = logger();
    intro.sample(l);
    l.events.length = 0;
    writers.clear(); // (its appended updates leave this worker's statistics too)
    intro.sample(l);
    expect(l.events.filter((e) => e.kind === "ingestionFrontier")).toEqual([
      { kind: "ingestionFrontier", sourceId: "u2", upper: null },
    ]);
    l.events.length = 0;
    dataflows.clear();
    statuses.forget("u1", true);
    intro.sample(l);
    expect(l.events).toEqual([
      { kind: "sourceDropped", sourceId: "u2" },
      { kind: "sourceDropped", sourceId: "u1" },
    ]);
  });
});
