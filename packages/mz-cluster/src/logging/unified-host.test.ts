/** `UnifiedLoggingHost` per relation family: events → rows at log times, uppers and since, configuration (interval 0 installs nothing), late and malformed events. */
import { LOG_RELATIONS, type LoggingConfig } from "@mzts/protocol";
import type { Row } from "@mzts/repr";
import { describe, expect, it } from "vitest";
import { type LogEventBody, NO_LOGGER } from "./events.js";
import { UnifiedLoggingHost } from "./unified-host.js";

const ALL: LoggingConfig = {
  enabled: true,
  intervalMs: 1000,
  logLogging: false,
  indexLogs: new Map(LOG_RELATIONS.map((r, i) => [r.name, `s${i + 1}`])),
};
const idOf = (name: string) => ALL.indexLogs.get(name)!;

/** A host on worker 0 with a settable clock. */
function host(opts: { worker?: number; retentionMs?: number; config?: LoggingConfig } = {}) {
  const clock = { now: 0 };
  const demands: boolean[] = [];
  const h = new UnifiedLoggingHost({
    worker: opts.worker ?? 0,
    clock: () => clock.now,
    ...(opts.retentionMs === undefined ? {} : { retentionMs: opts.retentionMs }),
    onDemand: (d) => demands.push(d.storage),
  });
  h.configure(opts.config ?? ALL);
  /** Logs `e` at wall-clock `atMs`. */
  const log = (atMs: number, e: LogEventBody) => {
    clock.now = atMs;
    h.logger.log(e);
  };
  return { h, clock, log, demands };
}

/** The relation's rows as of `t`, sorted, counts checked to be 1. */
function rows(h: UnifiedLoggingHost, name: string, t: bigint): Row[] {
  const out = h.index(idOf(name))!.arrangement.asOf(t);
  for (const [, n] of out) expect(n).toBe(1);
  return out
    .map(([r]) => r)
    .sort((a, b) => (JSON.stringify(a, big) < JSON.stringify(b, big) ? -1 : 1));
}
const big = (_: string, v: unknown) => (typeof v === "bigint" ? `${v}n` : v);

const created: LogEventBody = {
  kind: "dataflowCreated",
  dataflowId: 3,
  name: "Dataflow: idx",
  exports: [
    { id: "u5", kind: "index" },
    { id: "u6", kind: "subscribe" },
  ],
  operators: [
    { id: 0, name: "input" },
    { id: 1, name: "arrangeBy" },
  ],
  imports: ["u1"],
};

describe("UnifiedLoggingHost: configuration", () => {
  it("interval 0 or disabled installs nothing and keeps NO_LOGGER", () => {
    for (const config of [
      { ...ALL, intervalMs: 0 },
      { ...ALL, enabled: false },
      { ...ALL, indexLogs: new Map() },
    ]) {
      const { h, demands } = host({ config });
      expect(h.logger).toBe(NO_LOGGER);
      expect(h.logger.enabled).toBe(false);
      expect(h.index(idOf("dataflows"))).toBeUndefined();
      h.ingest([{ worker: 1, atMs: 5, event: { kind: "sourceDropped", sourceId: "u1" } }]);
      expect(h.step(10_000)).toBe(false);
      expect(h.stats()).toMatchObject({ records: 0, events: { compute: 0, storage: 0 } });
      expect(demands).toEqual([false]);
    }
  });

  it("installs one index per known relation, counts unknown names, and wants storage events", () => {
    const indexLogs = new Map([
      ["dataflows", "s1"],
      ["mz_introspection.source_status", "s2"],
      ["compute.nonsense", "s3"],
    ]);
    const { h, demands } = host({ config: { ...ALL, indexLogs } });
    expect(h.logger.enabled).toBe(true);
    expect(h.index("s1")?.relation.name).toBe("dataflows");
    expect(h.index("s2")?.relation.name).toBe("source_status");
    expect(h.index("s2")?.key).toEqual([0, 1]);
    expect(h.index("s2")?.arity).toBe(4);
    expect(h.index("s3")).toBeUndefined();
    expect(h.stats().unknownRelations).toBe(1);
    expect(demands).toEqual([true]);
  });

  it("the same configuration again keeps everything; another replaces it", () => {
    const { h, log, demands } = host();
    log(500, created);
    h.step(1000);
    const index = h.index(idOf("dataflows"));
    h.configure({ ...ALL, indexLogs: new Map(ALL.indexLogs) });
    expect(h.index(idOf("dataflows"))).toBe(index);
    expect(demands).toEqual([true]);
    h.configure({ ...ALL, intervalMs: 500 });
    expect(h.index(idOf("dataflows"))).not.toBe(index);
    expect(h.index(idOf("dataflows"))!.arrangement.upper).toBe(0n);
    expect(demands).toEqual([true, true]);
    h.configure({ ...ALL, intervalMs: 0 });
    expect(h.logger).toBe(NO_LOGGER);
    expect(demands).toEqual([true, true, false]);
  });
});

describe("UnifiedLoggingHost: uppers and since", () => {
  it("upper = floor(now / interval) * interval + 1; since trails by the retention, never back", () => {
    const { h } = host({ retentionMs: 3000 });
    const arr = () => h.index(idOf("dataflows"))!.arrangement;
    expect(h.step(2500)).toBe(true);
    expect(arr().upper).toBe(2001n);
    expect(arr().since).toBe(0n);
    expect(h.step(2999)).toBe(false); // same upper: nothing to do
    h.step(7400);
    expect(arr().upper).toBe(7001n);
    expect(arr().since).toBe(4000n);
    expect(h.index(idOf("error_counts"))!.errors.upper).toBe(7001n);
    expect(h.index(idOf("error_counts"))!.errors.since).toBe(4000n);
    h.step(7000); // the clock went back: nothing moves back
    expect(arr().upper).toBe(7001n);
    expect(arr().since).toBe(4000n);
  });

  it("compaction keeps the rows as of every readable time and frees retracted history", () => {
    const { h, log } = host({ retentionMs: 2000 });
    log(500, created);
    log(1500, { kind: "dataflowDropped", dataflowId: 3 });
    h.step(1000);
    expect(rows(h, "dataflows", 1000n)).toEqual([[3n, 0n, "Dataflow: idx"]]);
    h.step(10_000);
    expect(h.index(idOf("dataflows"))!.arrangement.since).toBe(8000n);
    expect(rows(h, "dataflows", 8000n)).toEqual([]);
    expect(() => rows(h, "dataflows", 1000n)).toThrow(/compaction|since/i);
    expect(h.stats().records).toBe(0);
  });
});

describe("UnifiedLoggingHost: dataflow relations", () => {
  it("dataflowCreated inserts dataflows, exports, operators and null hydration at its log time", () => {
    const { h, log } = host({ worker: 2 });
    log(1200, created);
    h.step(1999);
    expect(rows(h, "dataflows", 1000n)).toEqual([]);
    expect(() => rows(h, "dataflows", 2000n)).toThrow(); // not complete yet
    h.step(2000);
    expect(rows(h, "dataflows", 2000n)).toEqual([[3n, 2n, "Dataflow: idx"]]);
    expect(rows(h, "dataflow_exports", 2000n)).toEqual([
      ["u5", 2n, 3n, "index"],
      ["u6", 2n, 3n, "subscribe"],
    ]);
    expect(rows(h, "operators", 2000n)).toEqual([
      [3n, 0n, 2n, "input"],
      [3n, 1n, 2n, "arrangeBy"],
    ]);
    expect(rows(h, "hydration_times", 2000n)).toEqual([
      ["u5", 2n, null],
      ["u6", 2n, null],
    ]);
  });

  it("a dataflow created and dropped within one log time writes no update", () => {
    const { h, log } = host();
    log(100, created);
    h.step(500); // a drain between: the creation is held, not written
    log(600, { kind: "hydrated", exportId: "u5", sinceCreatedNs: 5 });
    log(700, { kind: "dataflowDropped", dataflowId: 3 });
    h.step(1000);
    for (const name of ["dataflows", "dataflow_exports", "operators", "hydration_times"]) {
      expect(h.index(idOf(name))!.arrangement.updateCount, name).toBe(0);
    }
  });

  it("held writes of a dataflow reach the tables in order when its log time ends", () => {
    const { h, log } = host();
    log(100, created);
    log(200, { kind: "hydrated", exportId: "u5", sinceCreatedNs: 5e6 });
    log(300, { kind: "exportDropped", exportId: "u6" });
    log(1100, { kind: "dataflowDropped", dataflowId: 3 }); // the next log time, same drain
    h.step(2000);
    expect(rows(h, "hydration_times", 1000n)).toEqual([["u5", 0n, 5000000n]]);
    expect(rows(h, "dataflow_exports", 1000n)).toEqual([["u5", 0n, 3n, "index"]]);
    expect(rows(h, "operators", 1000n)).toHaveLength(2);
    for (const name of ["dataflows", "dataflow_exports", "operators", "hydration_times"]) {
      expect(rows(h, name, 2000n), name).toEqual([]);
    }
  });

  it("state events upsert: the old row is retracted at the new log time; null and 0 retract", () => {
    const { h, log } = host();
    log(100, created);
    log(200, { kind: "exportFrontier", exportId: "u5", time: 10n });
    log(300, { kind: "importFrontier", exportId: "u5", importId: "u1", time: 9n });
    log(400, { kind: "arrangementSize", exportId: "u5", records: 4, batches: 2, sizeBytes: 512 });
    log(500, { kind: "errorCount", exportId: "u5", count: 2 });
    log(600, { kind: "operatorElapsed", dataflowId: 3, operatorId: 1, elapsedNs: 1500.4 });
    h.step(1000);
    log(1100, { kind: "exportFrontier", exportId: "u5", time: 12n });
    log(1150, { kind: "exportFrontier", exportId: "u5", time: 12n }); // unchanged: nothing
    log(1200, { kind: "hydrated", exportId: "u5", sinceCreatedNs: 7e6 });
    log(1300, { kind: "errorCount", exportId: "u5", count: 0 });
    log(1400, { kind: "importFrontier", exportId: "u5", importId: "u1", time: null });
    log(1500, { kind: "operatorElapsed", dataflowId: 3, operatorId: 1, elapsedNs: 2500 });
    h.step(2000);
    expect(rows(h, "compute_frontiers", 1000n)).toEqual([["u5", 0n, 10n]]);
    expect(rows(h, "compute_frontiers", 2000n)).toEqual([["u5", 0n, 12n]]);
    expect(rows(h, "compute_import_frontiers", 1000n)).toEqual([["u5", "u1", 0n, 9n]]);
    expect(rows(h, "compute_import_frontiers", 2000n)).toEqual([]);
    expect(rows(h, "arrangement_sizes", 2000n)).toEqual([["u5", 0n, 4n, 2n, 512n]]);
    expect(rows(h, "error_counts", 1000n)).toEqual([["u5", 0n, 2n]]);
    expect(rows(h, "error_counts", 2000n)).toEqual([]);
    expect(rows(h, "hydration_times", 2000n)).toEqual([
      ["u5", 0n, 7_000_000n],
      ["u6", 0n, null],
    ]);
    expect(rows(h, "scheduling_elapsed", 1000n)).toEqual([[3n, 1n, 0n, 1500n]]);
    expect(rows(h, "scheduling_elapsed", 2000n)).toEqual([[3n, 1n, 0n, 2500n]]);
  });

  it("exportDropped retracts the export's rows; dataflowDropped every row of the dataflow", () => {
    const { h, log } = host();
    log(100, created);
    log(200, { kind: "exportFrontier", exportId: "u5", time: 10n });
    log(300, { kind: "exportFrontier", exportId: "u6", time: 10n });
    log(400, { kind: "operatorElapsed", dataflowId: 3, operatorId: 0, elapsedNs: 10 });
    h.step(1000);
    log(1100, { kind: "exportDropped", exportId: "u6" });
    h.step(2000);
    expect(rows(h, "dataflow_exports", 2000n)).toEqual([["u5", 0n, 3n, "index"]]);
    expect(rows(h, "compute_frontiers", 2000n)).toEqual([["u5", 0n, 10n]]);
    expect(rows(h, "hydration_times", 2000n)).toEqual([["u5", 0n, null]]);
    log(2100, { kind: "dataflowDropped", dataflowId: 3 });
    h.step(3000);
    for (const r of LOG_RELATIONS) expect(rows(h, r.name, 3000n)).toEqual([]);
    expect(rows(h, "operators", 2000n)).toHaveLength(2);
  });

  it("events about unknown or dropped dataflows and exports are ignored and counted", () => {
    const { h, log } = host();
    log(100, created);
    log(200, { kind: "dataflowDropped", dataflowId: 3 });
    log(300, { kind: "exportFrontier", exportId: "u5", time: 10n }); // late sample
    log(400, { kind: "operatorElapsed", dataflowId: 3, operatorId: 0, elapsedNs: 1 });
    log(500, { kind: "exportDropped", exportId: "u9" });
    log(600, { kind: "dataflowDropped", dataflowId: 8 });
    h.step(1000);
    for (const r of LOG_RELATIONS) expect(rows(h, r.name, 1000n)).toEqual([]);
    expect(h.stats().orphans).toBe(4);
    expect(h.stats().records).toBe(0);
  });

  it("import frontiers only for the dataflow's imports", () => {
    const { h, log } = host();
    log(100, created);
    log(200, { kind: "importFrontier", exportId: "u5", importId: "u2", time: 1n });
    h.step(1000);
    expect(rows(h, "compute_import_frontiers", 1000n)).toEqual([]);
    expect(h.stats().orphans).toBe(1);
  });

  it("a malformed event is rejected and counted, never thrown", () => {
    const { h, log } = host();
    log(100, created);
    log(200, {
      kind: "arrangementSize",
      exportId: "u5",
      records: Number.NaN,
      batches: 0,
      sizeBytes: 0,
    });
    log(300, { kind: "bogus" } as unknown as LogEventBody);
    h.ingest([{ worker: 1, atMs: Number.NaN, event: { kind: "sourceDropped", sourceId: "x" } }]);
    expect(() => h.step(1000)).not.toThrow();
    expect(h.stats().rejected).toBe(3);
    expect(rows(h, "dataflows", 1000n)).toHaveLength(1);
  });
});

describe("UnifiedLoggingHost: peek relations", () => {
  it("active peeks come and go; durations count per power-of-two bucket", () => {
    const { h, log } = host({ worker: 1 });
    const start = (uuid: string, atNs: number) =>
      log(100, { kind: "peekStarted", uuid, objectId: "u5", time: 7n, atNs });
    start("p1", 1000);
    start("p2", 1000);
    h.step(1000);
    expect(rows(h, "active_peeks", 1000n)).toEqual([
      ["p1", 1n, "u5", 7n],
      ["p2", 1n, "u5", 7n],
    ]);
    log(1100, { kind: "peekEnded", uuid: "p1", atNs: 1000 + 3000 }); // 3000 ns → bucket 4096
    log(1200, { kind: "peekEnded", uuid: "p2", atNs: 1000 + 4096 }); // → 4096
    log(1300, { kind: "peekEnded", uuid: "p9", atNs: 1 }); // unknown start: no duration
    start("p3", 0);
    log(1400, { kind: "peekEnded", uuid: "p3", atNs: 5000 }); // → 8192
    h.step(2000);
    expect(rows(h, "active_peeks", 2000n)).toEqual([]);
    expect(rows(h, "peek_durations", 2000n)).toEqual([
      [1n, 4096n, 2n],
      [1n, 8192n, 1n],
    ]);
  });

  it("a peek spanning log times within one drain shows at the first and is gone at the next", () => {
    const { h, log } = host();
    h.step(1); // upper 1: the first open log time is 1000
    log(100, { kind: "peekStarted", uuid: "p1", objectId: "u5", time: 7n, atNs: 0 });
    log(150, { kind: "peekStarted", uuid: "p2", objectId: "u5", time: 7n, atNs: 0 });
    log(200, { kind: "peekEnded", uuid: "p2", atNs: 10 }); // same log time: never a row
    log(1500, { kind: "peekEnded", uuid: "p1", atNs: 3000 }); // log time 2000, same drain
    h.step(3000);
    expect(rows(h, "active_peeks", 1000n)).toEqual([["p1", 0n, "u5", 7n]]);
    expect(rows(h, "active_peeks", 2000n)).toEqual([]);
    expect(rows(h, "peek_durations", 1000n)).toEqual([[0n, 16n, 1n]]);
    expect(rows(h, "peek_durations", 2000n)).toEqual([
      [0n, 16n, 1n],
      [0n, 4096n, 1n],
    ]);
  });

  it("a uuid started again replaces its row; its end retracts the row written before", () => {
    const { h, log } = host();
    log(100, { kind: "peekStarted", uuid: "p1", objectId: "u5", time: 7n, atNs: 0 });
    h.step(1000);
    log(1100, { kind: "peekStarted", uuid: "p1", objectId: "u6", time: 8n, atNs: 0 });
    h.step(2000);
    expect(rows(h, "active_peeks", 2000n)).toEqual([["p1", 0n, "u6", 8n]]);
    log(2100, { kind: "peekStarted", uuid: "p1", objectId: "u7", time: 9n, atNs: 0 });
    log(2200, { kind: "peekEnded", uuid: "p1", atNs: 1 });
    h.step(3000);
    expect(rows(h, "active_peeks", 3000n)).toEqual([]);
  });
});

describe("UnifiedLoggingHost: storage relations (forwarded events)", () => {
  it("upserts frontiers, statistics and status with the storage worker's id; drops retract", () => {
    const { h } = host();
    h.ingest([
      { worker: 3, atMs: 100, event: { kind: "ingestionFrontier", sourceId: "u2", upper: 40n } },
      {
        worker: 3,
        atMs: 100,
        event: {
          kind: "ingestionStatistics",
          sourceId: "u2",
          updates: 10,
          bytes: 300,
          messages: 12,
          snapshotCommitted: true,
        },
      },
      {
        worker: 3,
        atMs: 100,
        event: { kind: "sourceStatus", sourceId: "u2", status: "running", error: null },
      },
      { worker: 1, atMs: 100, event: { kind: "ingestionFrontier", sourceId: "u2", upper: 41n } },
    ]);
    h.step(1000);
    expect(rows(h, "ingestion_frontiers", 1000n)).toEqual([
      ["u2", 1n, 41n],
      ["u2", 3n, 40n],
    ]);
    expect(rows(h, "ingestion_statistics", 1000n)).toEqual([["u2", 3n, 10n, 300n, 12n, true]]);
    expect(rows(h, "source_status", 1000n)).toEqual([["u2", 3n, "running", null]]);
    h.ingest([
      { worker: 3, atMs: 1100, event: { kind: "sourceDropped", sourceId: "u2" } },
      { worker: 1, atMs: 1100, event: { kind: "ingestionFrontier", sourceId: "u2", upper: null } },
    ]);
    h.step(2000);
    for (const name of ["ingestion_frontiers", "ingestion_statistics", "source_status"]) {
      expect(rows(h, name, 2000n)).toEqual([]);
    }
    expect(h.stats().events).toEqual({ compute: 0, storage: 6 });
  });

  it("a late event (its log time already complete) lands at the next open log time", () => {
    const { h } = host();
    h.step(5000); // upper 5001: times <= 5000 are complete
    h.ingest([
      { worker: 0, atMs: 1200, event: { kind: "ingestionFrontier", sourceId: "u2", upper: 1n } },
    ]);
    h.step(5500);
    h.step(6000);
    expect(rows(h, "ingestion_frontiers", 5000n)).toEqual([]);
    expect(rows(h, "ingestion_frontiers", 6000n)).toEqual([["u2", 0n, 1n]]);
  });
});

describe("UnifiedLoggingHost: bounds", () => {
  it("a workload that steps late holds one row change per key, not every event", () => {
    const { h, log } = host();
    log(100, created);
    for (let i = 0; i < 200_000; i++) {
      log(200, { kind: "exportFrontier", exportId: "u5", time: BigInt(i) });
    }
    expect(h.queued).toBeLessThan(65_536);
    h.step(1000);
    expect(rows(h, "compute_frontiers", 1000n)).toEqual([["u5", 0n, 199_999n]]);
    expect(h.stats().events.compute).toBe(200_001);
  });
});
