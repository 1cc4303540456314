/**
 * The unified driver (`unified-cluster-controller.ts`) over in-memory fakes: replica
 * incarnations through the connector seam (two-port split, one-port passthrough, failure of one
 * stream fails both, rehydration), the since-handle I/O of the tick, peeks (answer, timeout,
 * abort, target replica lost, close) and the typed errors at its edge.
 */
import type { ClusterCommand, ClusterResponse } from "@mzts/protocol";
import pino from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { InvalidStateRequest, PeekCanceled, PeekFailed, PeekTimeout } from "./errors.js";
import { createFakeConnector } from "./testdata/fake-connector.js";
import { fakeSinceHandles } from "./testdata/fake-since-handles.js";
import { CLUSTER, LOGGING } from "./testdata/legacy-cluster.js";
import { indexedView, ingestion } from "./testdata/objects.js";
import { flush } from "./testdata/scenario.js";
import { type UnifiedCluster, unifiedCluster } from "./testdata/unified-cluster.js";
import { UnifiedClusterController } from "./unified-cluster-controller.js";

const twoPort = {
  layout: "two-port",
  computeUrl: "http://127.0.0.1:1",
  storageUrl: "http://127.0.0.1:2",
} as const;

let open: UnifiedCluster[] = [];
function cluster(tickIntervalMs = 0, heartbeatMs = 60_000): UnifiedCluster {
  const u = unifiedCluster(2n, tickIntervalMs, heartbeatMs);
  open.push(u);
  return u;
}
afterEach(async () => {
  for (const u of open) await u.controller.close();
  open = [];
});

/** A cluster with replica u1 connected, source u10 (u11) and index u20 over u11 at 0. */
async function withObjects(): Promise<UnifiedCluster> {
  const u = cluster();
  const c = u.controller;
  c.addReplica("u1", twoPort);
  await flush();
  await c.openShards([{ id: "u11", shardId: "shard-u11" }]);
  c.createIngestion("u10", ingestion("u11"));
  c.createDataflow(indexedView("u20", 0n, ["u11"]));
  return u;
}

const kinds = (cs: readonly { kind: string }[]) => cs.map((c) => c.kind);

describe("UnifiedClusterController: replicas", () => {
  it("two ports: one compute and one storage connection, each replayed its slice, sent its workload", async () => {
    const u = await withObjects();
    const compute = u.computeFake.current("u1");
    const storage = u.storageFake.current("u1");
    expect(kinds(compute?.replay ?? [])).toEqual([
      "hello",
      "createInstance",
      "initializationComplete",
    ]);
    expect(kinds(storage?.replay ?? [])).toEqual([
      "hello",
      "initializationComplete",
      "allowWrites",
    ]);
    expect(kinds(compute?.sent ?? [])).toEqual(["createDataflow", "schedule"]);
    expect(kinds(storage?.sent ?? [])).toEqual(["runIngestion"]);
    expect(u.controller.replicas()).toMatchObject([
      { replicaId: "u1", epoch: 1, state: "connected" },
    ]);
  });

  it("a failure of one stream fails the incarnation: both reconnect at the next epoch and replay", async () => {
    const u = await withObjects();
    u.storageFake.fail("u1", "storage stream broke");
    expect(u.computeFake.current("u1")?.epoch).toBe(2);
    expect(u.computeFake.incarnations[0]?.state).toBe("closed");
    await flush();
    expect(u.controller.replicas()).toMatchObject([
      {
        replicaId: "u1",
        epoch: 2,
        state: "connected",
        failures: 1,
        lastError: "storage stream broke",
      },
    ]);
    expect(kinds(u.computeFake.current("u1")?.replay ?? [])).toContain("createDataflow");
    expect(kinds(u.storageFake.current("u1")?.replay ?? [])).toContain("runIngestion");
    // The old incarnation's late responses change nothing.
    u.computeFake.incarnations[0]?.opts.onResponses(1, [
      { kind: "frontiers", id: "u20", frontiers: { write: 7n } },
    ]);
    expect(u.controller.frontiers("u20").write).toBe(0n);
  });

  it("one port: one cluster connection gets the ClusterCommands unsplit", async () => {
    const fake = createFakeConnector<ClusterCommand, ClusterResponse>();
    const c = new UnifiedClusterController({
      clusterId: CLUSTER,
      generation: 1n,
      logging: LOGGING,
      connectors: { cluster: fake.connector },
      sinceHandles: fakeSinceHandles(),
      logger: pino({ level: "silent" }),
      tickIntervalMs: 0,
    });
    try {
      expect(() => c.addReplica("u1", twoPort)).toThrow(
        /without connectors for the two-port layout/,
      );
      c.addReplica("u2", { layout: "one-port", clusterUrl: "http://127.0.0.1:3" });
      await flush();
      expect(fake.current("u2")?.replay?.map((x) => `${x.kind}:${x.command.kind}`)).toEqual([
        "storage:hello",
        "storage:initializationComplete",
        "storage:allowWrites",
        "compute:hello",
        "compute:createInstance",
        "compute:initializationComplete",
      ]);
      await c.openShards([{ id: "u11", shardId: "shard-u11" }]);
      c.createIngestion("u10", ingestion("u11"));
      fake.respond("u2", [
        { kind: "storage", response: { kind: "frontierUpper", id: "u11", upper: 4n } },
      ]);
      expect(c.frontiers("u11").write).toBe(4n);
      expect(fake.current("u2")?.sent.map((x) => x.kind)).toEqual(["storage"]);
      expect(() =>
        c.updateReplicaLocation("u2", { layout: "two-port", computeUrl: "x", storageUrl: "y" }),
      ).toThrow(InvalidStateRequest);
    } finally {
      await c.close();
    }
  });

  it("dropReplica closes its connections and forgets its health record", async () => {
    const u = await withObjects();
    await u.controller.dropReplica("u1");
    expect(u.computeFake.current("u1")?.state).toBe("closed");
    expect(u.storageFake.current("u1")?.state).toBe("closed");
    expect(u.controller.replicas()).toEqual([]);
  });
});

describe("UnifiedClusterController: objects and since handles", () => {
  it("createIngestion and a persist sink need their shards opened first", async () => {
    const u = cluster();
    expect(() => u.controller.createIngestion("u10", ingestion("u11"))).toThrow(
      /shard-u11 has no since handle; call openShards/,
    );
    expect(u.controller.hasCollection("u11")).toBe(false);
  });

  it("openShards returns the durable sinces the ingestion starts at", async () => {
    const u = cluster();
    u.io.sinces.set("shard-u11", 5n);
    expect(await u.controller.openShards([{ id: "u11", shardId: "shard-u11" }])).toEqual(
      new Map([["u11", 5n]]),
    );
    u.controller.createIngestion("u10", ingestion("u11"));
    expect(u.controller.frontiers("u11").since).toBe(5n);
  });

  it("the tick downgrades since handles through the injected I/O and retries a failure", async () => {
    const u = await withObjects();
    u.storageFake.respond("u1", [{ kind: "frontierUpper", id: "u11", upper: 10n }]);
    u.computeFake.respond("u1", [
      { kind: "frontiers", id: "u20", frontiers: { write: 10n, input: 10n } },
    ]);
    expect(u.controller.frontiers("u11").since).toBe(8n);
    u.io.failing = true;
    await u.controller.maintain();
    expect(u.io.calls, JSON.stringify(u.io.calls)).toContain("downgrade shard-u11 [8]");
    expect(u.controller.state.durableSince("u11")).toBe(0n);
    u.io.failing = false;
    await u.controller.maintain();
    expect(u.io.sinces.get("shard-u11")).toBe(8n);
    expect(u.controller.state.durableSince("u11")).toBe(8n);
    u.controller.drop("u20");
    u.controller.drop("u10");
    u.storageFake.respond("u1", [{ kind: "droppedId", id: "u11" }]);
    await u.controller.maintain();
    expect(u.io.sinces.get("shard-u11")).toBe("expired");
  });

  it("the timer ticks while open and stops at close", async () => {
    const u = cluster(5, 0);
    await u.controller.openShards([{ id: "u11", shardId: "shard-u11" }]);
    u.controller.createIngestion("u10", ingestion("u11"));
    u.controller.allowCompaction("u11", 3n);
    await new Promise((r) => setTimeout(r, 40));
    expect(u.io.calls).toContain("downgrade shard-u11 [0]"); // a heartbeat: meet(since 3, upper 0) is the durable since
    await u.controller.close();
    const n = u.io.calls.length;
    await new Promise((r) => setTimeout(r, 30));
    expect(u.io.calls.length).toBe(n);
    expect(() => u.controller.addReplica("u1", twoPort)).toThrow(/is closed/);
  });

  it("waitForUpper resolves on the report and onWriteFrontier hears it", async () => {
    const u = await withObjects();
    const heard: string[] = [];
    u.controller.onWriteFrontier((id) => heard.push(id));
    const waiting = u.controller.waitForUpper("u11", 3n);
    u.storageFake.respond("u1", [{ kind: "frontierUpper", id: "u11", upper: 3n }]);
    await waiting;
    expect(heard).toEqual(["u11"]);
    await expect(u.controller.waitForUpper("u11", 9n, { timeoutMs: 10 })).rejects.toThrow(
      /did not reach \[9\] within 10 ms/,
    );
  });

  it("a read hold on an index holds it; releasing it sends the compaction to the replicas", async () => {
    const u = await withObjects();
    u.computeFake.respond("u1", [
      { kind: "frontiers", id: "u20", frontiers: { write: 10n, input: 10n } },
    ]);
    // Since 8 (write 10 − window 2); two holds at 8 keep it there while the write moves on.
    const hold = u.controller.acquireReadHold("u20", 8n);
    const held = u.controller.acquireReadHold("u20", 8n);
    u.computeFake.respond("u1", [
      { kind: "frontiers", id: "u20", frontiers: { write: 20n, input: 20n } },
    ]);
    hold.release();
    expect(u.controller.frontiers("u20").since).toBe(8n); // the second hold
    const sent = () => u.computeFake.current("u1")?.sent.at(-1);
    held.release();
    expect(u.controller.frontiers("u20").since).toBe(18n);
    expect(sent()).toEqual({ kind: "allowCompaction", id: "u20", frontier: 18n });
  });

  it("storage statuses and statistics are kept per object, stamped with the replica", async () => {
    const u = await withObjects();
    u.storageFake.respond("u1", [
      {
        kind: "statusUpdate",
        update: {
          id: "u10",
          status: "running",
          timestampMs: 5n,
          hints: [],
          namespacedErrors: new Map(),
        },
      },
    ]);
    expect(u.controller.objectStatus("u10").status).toMatchObject({
      status: "running",
      replicaId: "u1",
    });
    expect(u.controller.objectStatus("u11").status).toBeUndefined();
    expect(() => u.controller.objectStatus("u99")).toThrow(/u99 is not a live collection/);
  });

  it("a malformed plan is refused before the state takes the dataflow", async () => {
    const u = await withObjects();
    const bad = indexedView("u30", 0n, ["u11"]);
    const broken = { ...bad, sourceImports: [] };
    expect(() => u.controller.createDataflow(broken)).toThrow();
    expect(u.controller.hasCollection("u30")).toBe(false);
  });
});

describe("UnifiedClusterController: peeks", () => {
  const sentPeek = (u: UnifiedCluster) => {
    const p = u.computeFake
      .current("u1")
      ?.sent.filter((x) => x.kind === "peek")
      .at(-1);
    if (p?.kind !== "peek") throw new Error("no peek sent");
    return p.peek;
  };

  it("an answer resolves with its rows and replica; the hold goes, cancelPeek is sent", async () => {
    const u = await withObjects();
    const answer = u.controller.peek({ target: "u20", timestamp: 1n });
    const peek = sentPeek(u);
    expect(peek).toMatchObject({ arity: 1, timestamp: 1n, target: { kind: "index", id: "u20" } });
    expect(u.controller.status().pendingPeeks).toBe(1);
    u.computeFake.respond("u1", [
      { kind: "peekResponse", uuid: peek.uuid, response: { kind: "rows", rows: [[[7n], 2]] } },
    ]);
    expect(await answer).toEqual({ rows: [[[7n], 2]], replicaId: "u1" });
    expect(u.controller.status().pendingPeeks).toBe(0);
    expect(u.computeFake.current("u1")?.sent.at(-1)).toEqual({
      kind: "cancelPeek",
      uuid: peek.uuid,
    });
  });

  it("timeout, abort, an error answer and a lost target replica reject with the compute errors", async () => {
    const u = await withObjects();
    await expect(
      u.controller.peek({ target: "u20", timestamp: 1n, timeoutMs: 10 }),
    ).rejects.toBeInstanceOf(PeekTimeout);
    expect(u.controller.status().pendingPeeks).toBe(0);
    const abort = new AbortController();
    const aborted = u.controller.peek({ target: "u20", timestamp: 1n, signal: abort.signal });
    abort.abort();
    await expect(aborted).rejects.toBeInstanceOf(PeekCanceled);
    const failing = u.controller.peek({ target: "u20", timestamp: 1n });
    u.computeFake.respond("u1", [
      {
        kind: "peekResponse",
        uuid: sentPeek(u).uuid,
        response: { kind: "error", message: "division by zero" },
      },
    ]);
    await expect(failing).rejects.toThrow(/division by zero/);
    const targeted = u.controller.peek({ target: "u20", timestamp: 1n, targetReplica: "u1" });
    u.computeFake.fail("u1", "gone");
    await expect(targeted).rejects.toBeInstanceOf(PeekFailed);
    expect(u.controller.status().pendingPeeks).toBe(0);
  });

  it("typed errors at the edge; close rejects what is pending", async () => {
    const u = await withObjects();
    await expect(u.controller.peek({ target: "u99", timestamp: 1n })).rejects.toThrow(
      /u99 is not a live collection/,
    );
    await expect(u.controller.peek({ target: "u11", timestamp: 1n })).rejects.toThrow(
      /not an index/,
    );
    await expect(
      u.controller.peek({ target: "u20", timestamp: 1n, targetReplica: "u7" }),
    ).rejects.toThrow(/u7 is not a replica/);
    const pending = u.controller.peek({ target: "u20", timestamp: 1n });
    await u.controller.close();
    await expect(pending).rejects.toThrow(/the cluster controller closed/);
    expect(u.computeFake.current("u1")?.state).toBe("closed");
    await expect(u.controller.peek({ target: "u20", timestamp: 1n })).rejects.toThrow(/is closed/);
  });
});
