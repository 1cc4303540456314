import { describe, expect, it } from "vitest";
import { ClusterState } from "./cluster-state.js";
import {
  CollectionExists,
  CollectionMissing,
  DependantsExist,
  DuplicatePeek,
  InvalidStateRequest,
  ReplicaMissing,
  SinceViolation,
} from "./errors.js";
import { Holder } from "./read-holds.js";
import type { OutgoingCommand } from "./state-io.js";
import { indexedView, ingestion, peekOf } from "./testdata/objects.js";

const LOGGING = { enabled: false, intervalMs: 1000, logLogging: false, indexLogs: new Map() };
const make = (opts: { readOnly?: boolean } = {}) =>
  new ClusterState({
    clusterId: "u1",
    generation: 1n,
    logging: LOGGING,
    compactionWindowMs: 2n,
    ...opts,
  });
const kinds = (out: readonly OutgoingCommand[]) =>
  out.map((o) => `${o.command.kind}.${o.command.command.kind}`);
const report = (s: ClusterState, r: string, id: string, write: bigint | null, input?: bigint) =>
  s.absorb(r, s.health().find((h) => h.replicaId === r)?.epoch ?? 0, {
    kind: "compute",
    response: {
      kind: "frontiers",
      id,
      frontiers: { write, ...(input === undefined ? {} : { input }) },
    },
  });
const upper = (s: ClusterState, r: string, id: string, u: bigint | null) =>
  s.absorb(r, s.health().find((h) => h.replicaId === r)?.epoch ?? 0, {
    kind: "storage",
    response: { kind: "frontierUpper", id, upper: u },
  });

/** A cluster with a source u10 (subsource u11) and an index u20 on it at 0. */
function withIndex(): ClusterState {
  const s = make();
  s.createIngestion("u10", ingestion("u11"));
  s.createDataflow(indexedView("u20", 0n, ["u11"]));
  s.takeOutbox();
  return s;
}

describe("ClusterState", () => {
  it("starts its one history with both workloads' preamble (read-only: no storage allowWrites)", () => {
    expect(
      kinds(
        make()
          .history()
          .map((command) => ({ command })),
      ),
    ).toEqual([
      "storage.hello",
      "storage.initializationComplete",
      "storage.allowWrites",
      "compute.hello",
      "compute.createInstance",
      "compute.initializationComplete",
    ]);
    expect(
      make({ readOnly: true })
        .history()
        .some((c) => c.command.kind === "allowWrites"),
    ).toBe(false);
  });

  it("a dataflow holds its import at its as-of, then at its own since (one hold in one table)", () => {
    const s = withIndex();
    expect(s.holds("u11").get(Holder.dependant("u20"))).toBe(0n);
    upper(s, "u1", "u11", 10n); // no replica yet: ignored
    s.addReplica("u1");
    upper(s, "u1", "u11", 10n);
    expect(s.frontiers("u11")).toMatchObject({ write: 10n, since: 0n }); // held by u20 at 0
    report(s, "u1", "u20", 10n, 10n); // the replica built it: its replica hold goes
    expect(s.frontiers("u20").since).toBe(8n);
    expect(s.holds("u11").get(Holder.dependant("u20"))).toBe(8n);
    expect(s.frontiers("u11").since).toBe(8n);
    expect(kinds(s.takeOutbox())).toEqual(["compute.allowCompaction"]);
  });

  it("a view over an index holds the index (compute-client takes no hold on index imports)", () => {
    const s = withIndex();
    s.createDataflow(indexedView("u30", 0n, [], ["u20"]));
    s.allowCompaction("u20", 6n);
    expect(s.frontiers("u20").since).toBe(0n); // u30 still reads it at 0
    s.allowCompaction("u30", 4n);
    expect(s.frontiers("u20").since).toBe(4n);
    expect(() => s.drop("u20")).toThrow(DependantsExist);
    s.drop("u30");
    expect(s.frontiers("u20").since).toBe(6n);
  });

  it("a peek holds its time; settling sends cancelPeek before the hold is released", () => {
    const s = withIndex();
    s.addReplica("u1");
    report(s, "u1", "u20", 0n, 1n);
    s.beginPeek(peekOf("p1", "u20", 0n));
    expect(() => s.beginPeek(peekOf("p1", "u20", 0n))).toThrow(DuplicatePeek);
    s.allowCompaction("u20", 5n);
    expect(s.frontiers("u20").since).toBe(0n);
    s.takeOutbox();
    s.absorb("u1", 1, {
      kind: "compute",
      response: { kind: "peekResponse", uuid: "p1", response: { kind: "rows", rows: [] } },
    });
    expect(kinds(s.takeOutbox())).toEqual(["compute.cancelPeek", "compute.allowCompaction"]);
    expect(s.takeEvents()).toContainEqual({
      kind: "peekSettled",
      uuid: "p1",
      replicaId: "u1",
      response: { kind: "rows", rows: [] },
    });
    expect(() => s.beginPeek(peekOf("p2", "u20", 4n))).toThrow(SinceViolation);
    expect(s.history().some((c) => c.command.kind === "peek")).toBe(false);
  });

  it("a targeted peek goes to its replica only, live and in replays, and fails with it", () => {
    const s = withIndex();
    s.addReplica("u1");
    s.addReplica("u2");
    expect(() => s.beginPeek(peekOf("p", "u20", 0n, "u9"))).toThrow(ReplicaMissing);
    s.beginPeek(peekOf("p", "u20", 0n, "u2"));
    expect(s.takeOutbox().at(-1)).toMatchObject({ replicaId: "u2" });
    expect(s.replay("u1").some((c) => c.command.kind === "peek")).toBe(false);
    expect(s.replay("u2").some((c) => c.command.kind === "peek")).toBe(true);
    // Another replica's answer does not count.
    s.absorb("u1", 1, {
      kind: "compute",
      response: { kind: "peekResponse", uuid: "p", response: { kind: "canceled" } },
    });
    expect(s.peekCount).toBe(1);
    s.failed("u2", 1, "gone");
    expect(s.peekCount).toBe(0);
    expect(s.takeEvents().filter((e) => e.kind === "peekSettled")).toEqual([
      { kind: "peekSettled", uuid: "p", replicaId: undefined, response: undefined },
    ]);
  });

  it("a compute drop is sent once no peek holds it and forgotten when every replica acknowledged", () => {
    const s = withIndex();
    s.addReplica("u1");
    s.addReplica("u2");
    s.beginPeek(peekOf("p", "u20", 0n));
    s.drop("u20");
    expect(() => s.drop("u20")).toThrow(CollectionMissing);
    // Until its drop is sent, a replay still rebuilds u20 at its since: its import stays held
    // there (environmentd released it at once: a replay then read a compacted source).
    expect(s.holds("u11").get(Holder.dependant("u20"))).toBe(0n);
    s.allowCompaction("u11", 9n);
    expect(s.frontiers("u11").since).toBe(0n);
    s.takeOutbox();
    s.finishPeek("p");
    expect(s.holds("u11").has(Holder.dependant("u20"))).toBe(false);
    expect(s.frontiers("u11").since).toBe(9n);
    expect(s.takeOutbox().map((o) => o.command.command)).toContainEqual({
      kind: "allowCompaction",
      id: "u20",
      frontier: null,
    });
    report(s, "u1", "u20", null);
    expect(s.has("u20")).toBe(true);
    report(s, "u2", "u20", null);
    expect(s.has("u20")).toBe(false);
    expect(s.takeEvents()).toContainEqual({ kind: "forgotten", id: "u20" });
  });

  it("a storage drop waits for a droppedId from every replica that reported on its connection", () => {
    const s = make();
    s.addReplica("u1");
    s.addReplica("u2");
    s.createIngestion("u10", ingestion("u11", "u12"));
    upper(s, "u1", "u11", 3n);
    s.drop("u10");
    expect(s.isLive("u11")).toBe(false);
    expect(s.has("u12")).toBe(false); // nobody reported on it: nothing owed
    expect(s.has("u11")).toBe(true);
    s.absorb("u1", 1, { kind: "storage", response: { kind: "droppedId", id: "u11" } });
    expect(s.has("u11")).toBe(false);
    expect(s.history().some((c) => c.command.kind === "runIngestion")).toBe(false);
  });

  it("responses of an older incarnation change nothing", () => {
    const s = withIndex();
    s.addReplica("u1");
    s.failed("u1", 1, "boom");
    expect(s.spawn("u1")).toBe(2);
    s.absorb("u1", 1, {
      kind: "compute",
      response: { kind: "frontiers", id: "u20", frontiers: { write: 9n } },
    });
    expect(s.frontiers("u20").write).toBe(0n);
    expect(s.health()[0]).toMatchObject({ epoch: 2, failures: 1, lastError: "boom" });
  });

  it("an external read hold pins the since until it moves or is released", () => {
    const s = withIndex();
    const hold = s.acquireReadHold("u11", 0n);
    s.drop("u20");
    s.allowCompaction("u11", 7n);
    expect(s.frontiers("u11").since).toBe(0n);
    hold.downgrade(3n);
    expect(s.frontiers("u11").since).toBe(3n);
    hold.release();
    hold.release();
    expect(s.frontiers("u11").since).toBe(7n);
    expect(() => s.acquireReadHold("u11", 6n)).toThrow(SinceViolation);
  });

  it("a foreign import needs a hold, which follows the dataflow's since and goes with it", () => {
    const other = make();
    other.createIngestion("u50", ingestion("u51"));
    const s = make();
    expect(() => s.createDataflow(indexedView("u60", 0n, ["u51"]))).toThrow(InvalidStateRequest);
    const hold = other.acquireReadHold("u51", 0n);
    s.createDataflow(indexedView("u60", 0n, ["u51"]), { foreignHolds: [hold] });
    s.allowCompaction("u60", 5n);
    expect(hold.frontier).toBe(5n);
    expect(other.frontiers("u51").since).toBe(0n); // its own policy hold is still at 0
    s.drop("u60");
    expect(other.holds("u51").size).toBe(1);
  });

  it("refuses bad input with typed errors", () => {
    const s = withIndex();
    expect(() => s.createIngestion("u30", ingestion("u11"))).toThrow(CollectionExists);
    expect(() => s.createDataflow(indexedView("u20", 0n, ["u11"]))).toThrow(CollectionExists);
    expect(() => s.createDataflow({ ...indexedView("u21", 0n, ["u11"]), asOf: null })).toThrow(
      /as-of is empty/,
    );
    expect(() =>
      s.createDataflow({
        ...indexedView("u21", 0n, ["u11"]),
        sinkExports: [{ id: "u22", fromId: "u21", connection: { kind: "subscribe" } }],
      }),
    ).toThrow(/subscribe sinks/);
    expect(() => s.beginPeek(peekOf("p", "u11", 0n))).toThrow(
      /sourceExport, which answers no peeks/,
    );
    expect(() => s.dropReplica("u7")).toThrow(ReplicaMissing);
    expect(() => s.addReplica("x")).toThrow(/ReplicaId|u<n>|invalid/i);
    expect(() => s.allowWrites("u20")).toThrow(CollectionMissing);
  });

  it("the tick downgrades since handles to meet(since, upper) and expires dropped ones", () => {
    const s = make();
    s.addReplica("u1");
    s.createIngestion("u10", ingestion("u11"));
    upper(s, "u1", "u11", 10n);
    const first = s.tick(1000);
    expect(first.downgrades).toEqual([
      { id: "u11", shardId: "shard-u11", since: 8n, heartbeat: false },
    ]);
    s.sinceSettled("u11", 8n, 1000);
    expect(s.durableSince("u11")).toBe(8n);
    s.drop("u10");
    expect(s.tick(2000).expiries).toEqual([{ id: "u11", shardId: "shard-u11" }]);
  });

  it("a materialized view is one row: compute-written, shard-backed, writable once allowed", () => {
    const s = withIndex();
    s.createDataflow(indexedView("u40", 5n, ["u11"], [], "shard-u40"), { shardSince: () => 0n });
    expect(s.frontiers("u40").since).toBe(5n); // its readable floor, whatever the handle says
    expect(s.durableSince("u40")).toBe(0n);
    expect(s.describe("u40")).toMatchObject({
      kind: "materializedView",
      workload: "compute",
      shardId: "shard-u40",
    });
    s.allowWrites("u40");
    expect(
      s
        .history()
        .some(
          (c) => c.command.kind === "allowWrites" && "id" in c.command && c.command.id === "u40",
        ),
    ).toBe(true);
    // The handle's since moves up to meet(since, upper) = the as-of once the sink wrote there.
    expect(s.tick(0).downgrades).toEqual([]);
    s.addReplica("u1");
    report(s, "u1", "u40", 6n);
    expect(s.tick(0).downgrades).toEqual([
      { id: "u40", shardId: "shard-u40", since: 5n, heartbeat: false },
    ]);
  });
});

describe("ClusterState: a peek answer dropped undecoded (issue 16)", () => {
  it("refreshes the replica's last-heard time and clears stale, like an absorbed response", () => {
    const s = withIndex();
    const epoch = s.addReplica("u1");
    s.connected("u1", epoch, 100);
    expect(s.health()[0]?.lastHeardMs).toBe(100);
    s.tick(10_000_000); // silent since 100: stale
    expect(s.health()[0]?.stale).toBe(true);
    s.peekAnswerDropped("u1", epoch, 5_000);
    expect(s.health()[0]?.lastHeardMs).toBe(5_000);
    expect(s.health()[0]?.stale).toBe(false);
    // An older incarnation's, or a failed one's, is no sign of life of the current one.
    s.peekAnswerDropped("u1", epoch - 1, 6_000);
    expect(s.health()[0]?.lastHeardMs).toBe(5_000);
    s.failed("u1", epoch, "gone");
    s.peekAnswerDropped("u1", epoch, 7_000);
    expect(s.health()[0]?.lastHeardMs).toBe(5_000);
  });
});
