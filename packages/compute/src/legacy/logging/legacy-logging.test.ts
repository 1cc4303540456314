// PHASE(logging): legacy — delete when cluster-unification-logging is retired
import type { Arrangement } from "@mzts/dataflow";
import { NO_LOGGER } from "@mzts/mz-cluster/logging";
import { describe, expect, it, vi } from "vitest";
import {
  conformanceConfig,
  loggingHostConformance,
  logIndexId,
} from "../../logging/conformance.js";
import { LegacyComputeLogging } from "./legacy-logging.js";

for (const typed of [false, true]) {
  describe(`LegacyComputeLogging conforms to the LoggingHost semantics${typed ? " (typed calls)" : ""}`, () => {
    for (const c of loggingHostConformance(
      ({ worker, now }) => new LegacyComputeLogging({ worker, now }),
      { typed },
    )) {
      it(c.name, () => c.run());
    }
  });
}

/** Counts the updates written to an arrangement (by key, or through a row's entry). */
function spyWrites(a: Arrangement): () => number {
  const spies = [vi.spyOn(a, "insert"), vi.spyOn(a, "insertEntry"), vi.spyOn(a, "updateEntry")];
  return () => spies.reduce((n, s) => n + s.mock.calls.length, 0);
}

describe("LegacyComputeLogging (legacy specifics)", () => {
  it("skips storage relations and counts them and storage events", () => {
    const host = new LegacyComputeLogging({ worker: 0, now: () => 1_000 });
    host.configure(conformanceConfig(1000, [["bogus", "log-bogus"]]));
    expect(host.index(logIndexId("ingestion_frontiers"))).toBeUndefined();
    expect(host.index(logIndexId("dataflows"))).toBeDefined();
    host.logger.log({ kind: "ingestionFrontier", sourceId: "s1", upper: 3n });
    host.logger.log({ kind: "sourceDropped", sourceId: "s1" });
    expect(host.ignored()).toEqual({ storageEvents: 2, storageRelations: 3, unknownRelations: 1 });
    expect(host.step(2_000)).toBe(true);
    expect(host.step(2_000)).toBe(false);
  });

  it("installs nothing when indexLogs names no compute relation", () => {
    const host = new LegacyComputeLogging({ worker: 0 });
    host.configure({
      enabled: true,
      intervalMs: 1000,
      logLogging: false,
      indexLogs: new Map([["ingestion_frontiers", "x"]]),
    });
    expect(host.logger).toBe(NO_LOGGER);
    expect(host.step(5_000)).toBe(false);
  });

  it("a different configuration replaces the indexes (new interval, rows start afresh)", () => {
    let ms = 10_500;
    const host = new LegacyComputeLogging({ worker: 1, now: () => ms });
    host.configure(conformanceConfig(1000));
    host.logger.log({
      kind: "dataflowCreated",
      dataflowId: 0,
      name: "a",
      exports: [],
      operators: [],
      imports: [],
    });
    host.step(11_000);
    const first = host.index(logIndexId("dataflows"))!;
    expect(first.arrangement.asOf(11_000n)).toHaveLength(1);
    host.configure(conformanceConfig(500));
    const second = host.index(logIndexId("dataflows"))!;
    expect(second).not.toBe(first);
    ms = 11_600;
    host.step(11_700);
    expect(second.arrangement.upper).toBe(11_501n);
    expect(second.arrangement.asOf(11_500n)).toEqual([]);
    expect(() => first.arrangement.asOf(11_000n)).toThrow();
  });

  it("coalesces changes within one log time: a peek started and answered writes nothing", () => {
    let ms = 10_000;
    const host = new LegacyComputeLogging({ worker: 0, now: () => ms });
    host.configure(conformanceConfig(1000));
    host.step(ms);
    const active = host.index(logIndexId("active_peeks"))!;
    const frontiers = host.index(logIndexId("compute_frontiers"))!;
    const inserts = spyWrites(active.arrangement);
    const frontierInserts = spyWrites(frontiers.arrangement);
    ms = 10_100;
    host.logger.log({ kind: "peekStarted", uuid: "p", objectId: "u1", time: 1n, atNs: 0 });
    host.logger.log({ kind: "peekEnded", uuid: "p", atNs: 10 });
    for (let t = 1n; t <= 5n; t++) {
      host.logger.log({ kind: "exportFrontier", exportId: "u1", time: t });
    }
    host.step(11_000);
    expect(inserts()).toBe(0);
    expect(frontierInserts()).toBe(1);
    expect(frontiers.arrangement.asOf(11_000n)).toEqual([[["u1", 0n, 5n], 1]]);
  });

  it("a row changed and changed back within one log time writes nothing; later changes retract the row the index holds", () => {
    let ms = 10_000;
    const host = new LegacyComputeLogging({ worker: 0, now: () => ms });
    host.configure(conformanceConfig(1000));
    const frontiers = host.index(logIndexId("compute_frontiers"))!;
    const frontier = (time: bigint) =>
      host.logger.log({ kind: "exportFrontier", exportId: "u1", time });
    ms = 10_100;
    frontier(1n);
    host.step(11_000);
    const inserts = spyWrites(frontiers.arrangement);
    ms = 11_100;
    frontier(2n);
    frontier(1n);
    host.step(12_000);
    expect(inserts()).toBe(0);
    ms = 12_100;
    frontier(3n);
    host.step(13_000);
    ms = 13_100;
    frontier(4n);
    host.step(14_000);
    expect(inserts()).toBe(4);
    expect(frontiers.arrangement.asOf(11_000n)).toEqual([[["u1", 0n, 1n], 1]]);
    expect(frontiers.arrangement.asOf(12_000n)).toEqual([[["u1", 0n, 1n], 1]]);
    expect(frontiers.arrangement.asOf(13_000n)).toEqual([[["u1", 0n, 3n], 1]]);
    expect(frontiers.arrangement.asOf(14_000n)).toEqual([[["u1", 0n, 4n], 1]]);
    expect(frontiers.arrangement.current()).toEqual([[["u1", 0n, 4n], 1]]);
    // Each retraction found the entry of the row it retracts (no entry of a negative count).
    expect(frontiers.arrangement.size).toBe(3);
    expect(frontiers.arrangement.count).toBe(1);
  });

  it("applies a full queue at once when the workload steps late", () => {
    const host = new LegacyComputeLogging({ worker: 0, now: () => 10_500 });
    host.configure(conformanceConfig(1000));
    const active = host.index(logIndexId("active_peeks"))!;
    for (let i = 0; i < 65_536; i++) {
      host.logger.log({ kind: "peekStarted", uuid: `p${i}`, objectId: "u1", time: 1n, atNs: 0 });
    }
    expect(active.size).toBe(65_536);
    host.step(11_000);
    expect(active.arrangement.asOf(11_000n)).toHaveLength(65_536);
  });

  it("keeps memory bounded: history behind the since is compacted away", () => {
    let ms = 10_000;
    const host = new LegacyComputeLogging({ worker: 0, now: () => ms });
    host.configure(conformanceConfig(1000));
    const frontiers = host.index(logIndexId("compute_frontiers"))!;
    for (let i = 0; i < 600; i++) {
      ms += 1000;
      host.logger.log({ kind: "exportFrontier", exportId: "u1", time: BigInt(i) });
      host.step(ms);
    }
    // 60 s of retention at 1 s: about 60 times held (each row inserted and later retracted:
    // two updates per time), however long it runs — not the 1200 updates logged.
    expect(frontiers.arrangement.timeCount).toBeLessThanOrEqual(62);
    expect(frontiers.arrangement.updateCount).toBeLessThanOrEqual(2 * 62);
    expect(frontiers.arrangement.asOf(BigInt(ms))).toEqual([[["u1", 0n, 599n], 1]]);
  });
});

describe("bucketOf", () => {
  it("equals durationBucket", async () => {
    const { durationBucket } = await import("@mzts/protocol");
    const { bucketOf } = await import("@mzts/mz-cluster/logging");
    const cases = [
      0,
      0.4,
      1,
      1.5,
      2,
      3,
      4,
      5,
      7,
      8,
      9,
      1023,
      1024,
      1025,
      2 ** 30 - 1,
      2 ** 30,
      2 ** 30 + 1,
      5e9,
      -3,
    ];
    for (let i = 0; i < 2000; i++)
      cases.push(Math.floor(Math.random() * 2 ** 32) / (i % 3 === 0 ? 1000 : 1));
    for (const ns of cases) expect(bucketOf(ns), `${ns}`).toBe(durationBucket(ns));
  });
});
