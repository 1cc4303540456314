/**
 * `peekPersisted` against a real persist with the environment's read holds: the freshest time
 * by default, an earlier time as of then, a later one awaited until written, one below the since
 * refused; only the cluster's (or the named replica's) rows; key rows.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createPersist, type PersistClient, type Shard } from "@mzts/persist";
import { PersistReadHolds } from "@mzts/storage-client";
import pino from "pino";
import { Registry } from "prom-client";
import { afterEach, expect, it } from "vitest";
import type { Cluster, ClusterReplica } from "../catalog/catalog.js";
import { FrontierSignal } from "../environment/frontier-signal.js";
import { PeekBelowSince } from "../errors.js";
import { peekPersisted } from "./persisted-peek.js";
import { PERSISTED_RELATIONS } from "./persisted-relations.js";
import {
  type PersistedIntrospection,
  ReplicaIntrospectionCollections,
} from "./replica-collections.js";

let dir: string | undefined;
let persist: PersistClient | undefined;
let holds: PersistReadHolds | undefined;
afterEach(async () => {
  await holds?.close();
  await persist?.close();
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  holds = persist = dir = undefined;
});

const cluster = (id: string, name: string): Cluster => ({
  kind: "cluster",
  id,
  name,
  createdGeneration: 1n,
  options: { introspectionIntervalMs: 1000 },
});
const replica = (id: string, name: string, clusterId: string): ClusterReplica => ({
  kind: "replica",
  slot: "legacy",
  id,
  name,
  clusterId,
  workers: 1,
  createdGeneration: 1n,
});

it("reads the persisted rows at a time, for the cluster's replicas, like any peek", async () => {
  const log = pino({ level: "silent" });
  dir = await mkdtemp(join(tmpdir(), "persisted-peek-"));
  persist = await createPersist({ dataDir: dir, logger: log, registry: new Registry() });
  holds = new PersistReadHolds({
    persist,
    readerId: "environmentd",
    compactionWindowMs: 1_000_000n,
    tickMs: 0,
    logger: log,
    registry: new Registry(),
  });
  const shards = new Map<PersistedIntrospection, Shard>();
  for (const r of PERSISTED_RELATIONS) {
    shards.set(r.relation, await persist.openShard(r.shardId, { create: true }));
    await holds.register(r.collectionId, r.shardId);
  }
  const signal = new FrontierSignal();
  let ms = 3000;
  const collections = new ReplicaIntrospectionCollections({
    shards,
    now: () => ms,
    onWrite: () => signal.notify(),
  });
  await collections.load();
  const rel = PERSISTED_RELATIONS.find((r) => r.relation === "hydration_times")!;
  const ctx = {
    clusters: [cluster("u1", "c1"), cluster("u2", "c2")],
    replicas: [replica("u3", "r1", "u1"), replica("u4", "r2", "u1"), replica("u5", "r1", "u2")],
    collections,
    readHolds: holds,
    signal,
    timeoutMs: 5000,
  };
  const peek = (req: Record<string, unknown>) =>
    peekPersisted({ object: rel.objectName, cluster: "c1", ...req }, rel, ctx);

  await collections.append("hydration_times", "u3", [[["u7", 0n, 5n], 1000n, 1]], 1001n);
  await collections.append("hydration_times", "u4", [[["u7", 0n, null], 2000n, 1]], 2001n);
  await collections.append("hydration_times", "u5", [[["u8", 0n, 1n], 2000n, 1]], 2001n);
  await collections.retract("u3"); // at 3000
  // Freshest: r1 (u3) is gone; c2's replica is not c1's.
  expect(await peek({})).toEqual({
    rows: [[["u4", "u7", 0n, null], 1]],
    timestamp: 3000n,
    replica: "environmentd",
    replicaId: "s0",
  });
  // As of 2500: both of c1's replicas; the named one only; one key row.
  expect((await peek({ timestamp: 2500n })).rows).toEqual([
    [["u3", "u7", 0n, 5n], 1],
    [["u4", "u7", 0n, null], 1],
  ]);
  expect(await peek({ timestamp: 2500n, replica: "r1" })).toMatchObject({
    rows: [[["u3", "u7", 0n, 5n], 1]],
    replica: "r1",
    replicaId: "u3",
  });
  expect((await peek({ timestamp: 2500n, literalConstraints: [["u4", "u7", 0n]] })).rows).toEqual([
    [["u4", "u7", 0n, null], 1],
  ]);
  // A later time: answered once written.
  const later = peek({ timestamp: 5000n });
  ms = 5000;
  await collections.append(
    "hydration_times",
    "u4",
    [
      [["u7", 0n, null], 5000n, -1],
      [["u7", 0n, 7n], 5000n, 1],
    ],
    5001n,
  );
  expect((await later).rows).toEqual([[["u4", "u7", 0n, 7n], 1]]);
  // Below the since: refused, naming it.
  holds.advancePolicy(rel.collectionId, 2000n);
  await expect(peek({ timestamp: 1500n })).rejects.toThrow(PeekBelowSince);
  signal.close(new Error("closed"));
});
