/**
 * The unified driver's subscribes, log indexes and per-replica frontiers over in-memory fakes:
 * merged batches (every update once, frontiers never regress, the fastest replica drives), a
 * replica's failure and the replay after its reconnect (rebuilt at the subscribe's since, no
 * duplicate), the holds on its imports, replica-targeted subscribes (that replica only, live and
 * in replays; typed failure when it is dropped), the drop when the consumer breaks out or
 * `drop(id)` is called, targeted log peeks and log imports, and `replicaFrontiers`.
 */
import {
  type ComputeCommand,
  type ComputeResponse,
  LOG_RELATIONS,
  type LoggingConfig,
} from "@mzts/protocol";
import type { Update } from "@mzts/repr";
import { afterEach, describe, expect, it } from "vitest";
import {
  CollectionExists,
  CollectionMissing,
  InvalidLoggingConfig,
  InvalidStateRequest,
  LogImportUntargeted,
  LogPeekUntargeted,
  ReplicaMissing,
  SubscribeFailed,
} from "./errors.js";
import { indexedView, ingestion, subscribeOf } from "./testdata/objects.js";
import { flush } from "./testdata/scenario.js";
import { type UnifiedCluster, unifiedCluster } from "./testdata/unified-cluster.js";

const twoPort = {
  layout: "two-port",
  computeUrl: "http://127.0.0.1:1",
  storageUrl: "http://127.0.0.1:2",
} as const;

let open: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  for (const c of open) await c.close();
  open = [];
});

/** Two replicas u1, u2 connected; source u10 (u11) at since 0. */
async function twoReplicas(): Promise<UnifiedCluster> {
  const u = unifiedCluster(2n);
  open.push(u.controller);
  u.controller.addReplica("u1", twoPort);
  u.controller.addReplica("u2", twoPort);
  await flush();
  await u.controller.openShards([{ id: "u11", shardId: "shard-u11" }]);
  u.controller.createIngestion("u10", ingestion("u11"));
  return u;
}

const upd = (v: bigint, t: bigint): Update => [[v], t, 1];
const batch = (id: string, lower: bigint, upper: bigint | null, updates: Update[]) =>
  ({
    kind: "subscribeResponse",
    id,
    response: { kind: "batch", lower, upper, result: { kind: "updates", updates } },
  }) as const satisfies ComputeResponse;

/** What one replica's current incarnation was sent about `id` (live). */
const sentAbout = (u: UnifiedCluster, r: string, id: string) =>
  (u.computeFake.current(r)?.sent ?? []).filter(
    (c) =>
      (c.kind === "createDataflow" && c.dataflow.sinkExports[0]?.id === id) ||
      ((c.kind === "schedule" || c.kind === "allowCompaction") && c.id === id),
  );

const dropOf = (id: string): ComputeCommand => ({ kind: "allowCompaction", id, frontier: null });

describe("UnifiedClusterController: subscribes", () => {
  it("merges the replicas' batches: every update once, contiguous, the fastest replica drives", async () => {
    const u = await twoReplicas();
    const it = u.controller.subscribe(subscribeOf("u30", 0n, ["u11"]))[Symbol.asyncIterator]();
    for (const r of ["u1", "u2"]) {
      expect(sentAbout(u, r, "u30").map((c) => c.kind)).toEqual(["createDataflow", "schedule"]);
    }
    u.computeFake.respond("u1", [batch("u30", 0n, 3n, [upd(1n, 0n), upd(2n, 2n)])]);
    u.computeFake.respond("u2", [batch("u30", 0n, 2n, [upd(1n, 0n)])]); // behind: adds nothing
    u.computeFake.respond("u2", [batch("u30", 2n, 5n, [upd(2n, 2n), upd(3n, 4n)])]);
    u.computeFake.respond("u1", [batch("u30", 3n, 4n, [upd(3n, 4n)])]); // no advance
    u.computeFake.respond("u1", [batch("u30", 3n, null, [upd(3n, 4n), upd(4n, 6n)])]);
    const got = [];
    for (;;) {
      const n = await it.next();
      if (n.done === true) break;
      got.push(n.value);
    }
    expect(got).toEqual([
      { lower: 0n, upper: 3n, updates: [upd(1n, 0n), upd(2n, 2n)] },
      { lower: 3n, upper: 5n, updates: [upd(3n, 4n)] },
      { lower: 5n, upper: null, updates: [upd(4n, 6n)] },
    ]);
    // Completed: the drop went to both replicas, and the id is gone.
    for (const r of ["u1", "u2"]) expect(sentAbout(u, r, "u30").at(-1)).toEqual(dropOf("u30"));
    expect(u.controller.hasCollection("u30")).toBe(false);
  });

  it("a replica failure: the other continues, the replay rebuilds it at its since without duplicates", async () => {
    const u = await twoReplicas();
    const it = u.controller.subscribe(subscribeOf("u30", 0n, ["u11"]))[Symbol.asyncIterator]();
    u.computeFake.respond("u1", [batch("u30", 0n, 4n, [upd(1n, 1n), upd(2n, 3n)])]);
    u.computeFake.respond("u2", [batch("u30", 0n, 1n, [])]); // u2's readers took their snapshot
    expect(await it.next()).toEqual({
      done: false,
      value: { lower: 0n, upper: 4n, updates: [upd(1n, 1n), upd(2n, 3n)] },
    });
    // Since = frontier − 1 once every incarnation told to build it has sent a batch.
    expect(u.controller.frontiers("u30")).toEqual({ since: 3n, write: 4n, reported: true });
    // The subscribe holds its import at its since (not below, not past).
    expect(u.controller.state.holds("u11").get("dependant:u30")).toBe(3n);
    u.computeFake.fail("u1", "crashed");
    await flush();
    const replayed = u.computeFake
      .current("u1")
      ?.replay?.find((c) => c.kind === "createDataflow" && c.dataflow.sinkExports[0]?.id === "u30");
    expect(replayed?.kind === "createDataflow" && replayed.dataflow.asOf).toBe(3n);
    // The rebuilt replica re-sends from its as-of: nothing before the frontier repeats.
    u.computeFake.respond("u1", [batch("u30", 3n, 6n, [upd(2n, 3n), upd(5n, 5n)])]);
    u.computeFake.respond("u2", [batch("u30", 1n, 6n, [upd(1n, 1n), upd(2n, 3n), upd(5n, 5n)])]);
    expect(await it.next()).toEqual({
      done: false,
      value: { lower: 4n, upper: 6n, updates: [upd(5n, 5n)] },
    });
    await it.return?.();
  });

  it("breaking out drops it on the replicas and releases its import holds", async () => {
    const u = await twoReplicas();
    const sub = u.controller.subscribe(subscribeOf("u30", 0n, ["u11"]));
    expect(u.controller.state.holds("u11").has("dependant:u30")).toBe(true);
    u.computeFake.respond("u1", [batch("u30", 0n, 2n, [upd(1n, 0n)])]);
    for await (const b of sub) {
      expect(b.upper).toBe(2n);
      break;
    }
    for (const r of ["u1", "u2"]) expect(sentAbout(u, r, "u30").at(-1)).toEqual(dropOf("u30"));
    expect(u.controller.state.holds("u11").has("dependant:u30")).toBe(false);
    expect(u.controller.hasCollection("u30")).toBe(false);
    expect(() => u.controller.drop("u30")).toThrow(CollectionMissing);
    expect(u.controller.state.sizes().subscribes).toBe(0);
  });

  it("its source may be dropped under it (as on the legacy path): the hold keeps the row until it ends", async () => {
    const u = await twoReplicas();
    const it = u.controller.subscribe(subscribeOf("u30", 0n, ["u11"]))[Symbol.asyncIterator]();
    u.controller.drop("u10");
    for (const r of ["u1", "u2"]) {
      u.storageFake.respond(r, [{ kind: "frontierUpper", id: "u11", upper: 1n }]);
      u.storageFake.respond(r, [{ kind: "droppedId", id: "u11" }]);
    }
    expect(u.controller.hasCollection("u11")).toBe(false);
    expect(u.controller.state.has("u11")).toBe(true); // dropped, held by the subscribe
    u.computeFake.respond("u1", [batch("u30", 0n, 2n, [upd(1n, 0n)])]);
    expect((await it.next()).value).toEqual({ lower: 0n, upper: 2n, updates: [upd(1n, 0n)] });
    await it.return?.();
    expect(u.controller.state.has("u11")).toBe(false); // forgotten once the subscribe let go
  });

  it("drop(id) ends the stream with SubscribeFailed and sends the drop", async () => {
    const u = await twoReplicas();
    const it = u.controller.subscribe(subscribeOf("u30", 0n, ["u11"]))[Symbol.asyncIterator]();
    u.controller.drop("u30");
    await expect(it.next()).rejects.toBeInstanceOf(SubscribeFailed);
    expect(sentAbout(u, "u1", "u30").at(-1)).toEqual(dropOf("u30"));
    expect(() => u.controller.drop("u30")).toThrow(CollectionMissing);
  });

  it("targeted: that replica only (live and in replays); dropping it fails the stream", async () => {
    const u = await twoReplicas();
    const it = u.controller
      .subscribe(subscribeOf("u30", 0n, ["u11"]), { targetReplica: "u2" })
      [Symbol.asyncIterator]();
    expect(sentAbout(u, "u1", "u30")).toEqual([]);
    expect(sentAbout(u, "u2", "u30").map((c) => c.kind)).toEqual(["createDataflow", "schedule"]);
    u.computeFake.respond("u1", [batch("u30", 0n, 9n, [upd(9n, 0n)])]); // not its target: ignored
    u.computeFake.respond("u2", [batch("u30", 0n, 2n, [upd(1n, 1n)])]);
    expect((await it.next()).value).toEqual({ lower: 0n, upper: 2n, updates: [upd(1n, 1n)] });
    u.computeFake.fail("u1", "crashed");
    await flush();
    const mentions = (r: string) =>
      (u.computeFake.current(r)?.replay ?? []).filter(
        (c) => c.kind === "createDataflow" && c.dataflow.sinkExports[0]?.id === "u30",
      ).length;
    expect(mentions("u1")).toBe(0);
    u.computeFake.fail("u2", "crashed");
    await flush();
    expect(mentions("u2")).toBe(1); // the target rebuilds it after its own reconnect
    await u.controller.dropReplica("u2");
    await expect(it.next()).rejects.toThrow(/its target replica u2 was dropped/);
    expect(u.controller.hasCollection("u30")).toBe(false);
  });

  it("typed errors at the edge, thrown by subscribe itself", async () => {
    const u = await twoReplicas();
    expect(() => u.controller.subscribe(indexedView("u40", 0n, ["u11"]))).toThrow(
      InvalidStateRequest,
    );
    expect(() =>
      u.controller.subscribe(subscribeOf("u30", 0n, ["u11"]), { targetReplica: "u9" }),
    ).toThrow(ReplicaMissing);
    expect(() => u.controller.subscribe(subscribeOf("u30", 0n, [], ["u99"]))).toThrow(
      CollectionMissing,
    );
    u.controller.allowCompaction("u11", 5n);
    expect(() => u.controller.subscribe(subscribeOf("u30", 1n, ["u11"]))).toThrow(
      /cannot be read at 1/,
    );
    u.controller.subscribe(subscribeOf("u30", 5n, ["u11"]));
    expect(() => u.controller.subscribe(subscribeOf("u30", 5n, ["u11"]))).toThrow(CollectionExists);
  });

  it("close fails the open streams", async () => {
    const u = await twoReplicas();
    const it = u.controller.subscribe(subscribeOf("u30", 0n, ["u11"]))[Symbol.asyncIterator]();
    await u.controller.close();
    await expect(it.next()).rejects.toThrow(/the cluster controller closed/);
  });
});

const relation = (i: number) => {
  const r = LOG_RELATIONS[i];
  if (r === undefined) throw new Error("no such relation");
  return r;
};
const LOGGING_ON: LoggingConfig = {
  enabled: true,
  intervalMs: 1000,
  logLogging: false,
  indexLogs: new Map([
    [relation(0).name, "s1"],
    [relation(1).name, "s2"],
  ]),
};

function withLogging(logging: LoggingConfig) {
  const u = unifiedCluster(2n, 0, 60_000, { logging });
  open.push(u.controller);
  return { controller: u.controller, compute: u.computeFake };
}

describe("UnifiedClusterController: log indexes", () => {
  it("the logging config goes in CreateInstance; logIndexes() lists its indexes", async () => {
    const { controller, compute } = withLogging(LOGGING_ON);
    controller.addReplica("u1", twoPort);
    await flush();
    const created = compute.current("u1")?.replay?.find((c) => c.kind === "createInstance");
    expect(created).toEqual({ kind: "createInstance", config: { logging: LOGGING_ON } });
    expect([...controller.logIndexes().values()]).toEqual([
      { id: "s1", relation: relation(0), arity: relation(0).columns.length },
      { id: "s2", relation: relation(1), arity: relation(1).columns.length },
    ]);
    expect(withLogging({ ...LOGGING_ON, enabled: false }).controller.logIndexes().size).toBe(0);
    expect(
      () => withLogging({ ...LOGGING_ON, indexLogs: new Map([["no_such_log", "s1"]]) }).controller,
    ).toThrow(InvalidLoggingConfig);
  });

  it("a log index is peeked on its target replica only, with the relation's arity", async () => {
    const { controller, compute } = withLogging(LOGGING_ON);
    controller.addReplica("u1", twoPort);
    controller.addReplica("u2", twoPort);
    await flush();
    await expect(controller.peek({ target: "s1", timestamp: 0n })).rejects.toBeInstanceOf(
      LogPeekUntargeted,
    );
    const answer = controller.peek({ target: "s1", timestamp: 0n, targetReplica: "u2" });
    expect(compute.current("u1")?.sent.filter((c) => c.kind === "peek")).toEqual([]);
    const sent = compute.current("u2")?.sent.find((c) => c.kind === "peek");
    if (sent?.kind !== "peek") throw new Error("no peek sent to u2");
    expect(sent.peek).toMatchObject({ arity: relation(0).columns.length, targetReplica: "u2" });
    compute.respond("u1", [
      { kind: "peekResponse", uuid: sent.peek.uuid, response: { kind: "rows", rows: [] } },
    ]);
    compute.respond("u2", [
      { kind: "peekResponse", uuid: sent.peek.uuid, response: { kind: "rows", rows: [[[1n], 1]] } },
    ]);
    expect(await answer).toEqual({ rows: [[[1n], 1]], replicaId: "u2" });
  });

  it("only a targeted subscribe may import a log index; no dataflow exports one", async () => {
    const { controller, compute } = withLogging(LOGGING_ON);
    controller.addReplica("u1", twoPort);
    await flush();
    const arity = relation(0).columns.length;
    const logSub = (id: string) => {
      const d = subscribeOf(id, 0n, [], ["s1"]);
      return {
        ...d,
        indexImports: [{ id: "s1", key: [0], arity }],
        objectsToBuild: [{ id, plan: { kind: "get" as const, id: "s1", arity } }],
      };
    };
    expect(() => controller.subscribe(logSub("u30"))).toThrow(LogImportUntargeted);
    expect(() => controller.createDataflow(indexedView("u31", 0n, [], ["s1"]))).toThrow(
      LogImportUntargeted,
    );
    await controller.openShards([{ id: "u11", shardId: "shard-u11" }]);
    controller.createIngestion("u10", ingestion("u11"));
    expect(() => controller.createDataflow(indexedView("s2", 0n, ["u11"]))).toThrow(
      CollectionExists,
    );
    controller.subscribe(logSub("u30"), { targetReplica: "u1" });
    expect(compute.current("u1")?.sent.map((c) => c.kind)).toEqual(["createDataflow", "schedule"]);
    expect(controller.frontiers("u30")).toEqual({ since: 0n, write: 0n, reported: true });
  });
});

describe("UnifiedClusterController: replicaFrontiers", () => {
  it("what each replica's current incarnation reported, per live compute export", async () => {
    const u = await twoReplicas();
    u.controller.createDataflow(indexedView("u20", 0n, ["u11"]));
    u.controller.createDataflow(indexedView("u21", 0n, ["u11"]));
    u.computeFake.respond("u1", [{ kind: "frontiers", id: "u20", frontiers: { write: 5n } }]);
    u.computeFake.respond("u2", [{ kind: "frontiers", id: "u21", frontiers: { write: 7n } }]);
    u.storageFake.respond("u1", [{ kind: "frontierUpper", id: "u11", upper: 9n }]);
    expect(u.controller.replicaFrontiers("u1")).toEqual(new Map([["u20", 5n]]));
    expect(u.controller.replicaFrontiers("u2")).toEqual(new Map([["u21", 7n]]));
    u.computeFake.fail("u1", "crashed");
    await flush();
    expect(u.controller.replicaFrontiers("u1")).toEqual(new Map()); // a new incarnation
    expect(() => u.controller.replicaFrontiers("u9")).toThrow(ReplicaMissing);
  });
});
