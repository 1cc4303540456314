/**
 * Tests only: one cluster on the **legacy** path, driven without a network — the real legacy
 * classes, composed the way environmentd composes them today:
 * - compute-client's `createComputeController` with one instance (compute's collections, read
 *   holds, peeks, replicas and `ComputeCommandHistory`), through the replica seam (`connector`)
 *   with an in-memory fake (`fake-connector.ts`);
 * - storage-client's `createStorageController` with one instance (storage collections, placement,
 *   `StorageCommandHistory`), through the same seam;
 * - storage-client's `PersistReadHolds` (the environment's since handles and holds) over an
 *   in-memory persist whose shard uppers are the uppers the replicas reported;
 * - environmentd's `ImportHolds` glue (`environment/import-holds.ts`, a dozen lines restated
 *   here because environmentd is not importable): a dataflow holds its source imports at its
 *   as-of, each tick moves the holds to the dataflow's compute since, then `PersistReadHolds`
 *   ticks; dropping the dataflow releases them.
 *
 * The `-client` packages are loaded from their built `dist` by path: this package cannot depend
 * on them (they depend on it), and `turbo.json` orders their build before this package's tests.
 */

import type {
  ComputeCommand,
  ComputeResponse,
  DataflowDescription,
  IngestionDescription,
  StorageCommand,
  StorageResponse,
} from "@mzts/protocol";
import type { Frontier, GlobalId, ReplicaId } from "@mzts/repr";
import pino from "pino";
import {
  type ComputeController,
  createComputeController,
} from "../../../../compute-client/dist/index.js";
import {
  createStorageController,
  PersistReadHolds,
  type ReadHold,
  type StorageController,
} from "../../../../storage-client/dist/index.js";
import { createFakeConnector, type FakeConnector } from "./fake-connector.js";

const logger = pino({ level: "silent" });
export const CLUSTER = "u1";
export const LOGGING = {
  enabled: false,
  intervalMs: 1000,
  logLogging: false,
  indexLogs: new Map(),
};

type PromRegistry = new () => object;
let registryClass: PromRegistry | undefined;
/** prom-client's `Registry`, from compute-client's own dependency (not one of this package). */
async function promRegistry(): Promise<PromRegistry> {
  if (registryClass === undefined) {
    const url = new URL(
      "../../../../compute-client/node_modules/prom-client/index.js",
      import.meta.url,
    );
    registryClass = ((await import(url.href)) as { Registry: PromRegistry }).Registry;
  }
  return registryClass;
}

/** An in-memory persist: what `PersistReadHolds` calls, nothing more. */
function fakePersist(uppers: Map<string, Frontier>): unknown {
  return {
    openShard: async (shardId: string) => ({
      upper: async () => uppers.get(shardId) ?? 0n,
      maintenance: async () => ({}),
      openSinceHandle: async () => {
        const handle = {
          since: 0n as Frontier,
          downgradeSince: async (f: Frontier) => {
            handle.since = f;
          },
          expire: async () => {},
        };
        return handle;
      },
    }),
  };
}

/** A legacy peek in flight. */
interface LegacyPeek {
  readonly uuid: string;
  readonly abort: AbortController;
  outcome: { replicaId: string } | { error: string } | undefined;
}

/** One legacy cluster (see the file comment). */
export class LegacyCluster {
  readonly compute: ComputeController;
  readonly storage: StorageController;
  readonly readHolds: PersistReadHolds;
  readonly computeFake: FakeConnector<ComputeCommand, ComputeResponse>;
  readonly storageFake: FakeConnector<StorageCommand, StorageResponse>;
  /** Shard id → the upper the replicas reported (the fake persist's upper). */
  readonly shardUppers = new Map<string, Frontier>();
  /** Collection id → shard id (subsources). */
  readonly shards = new Map<GlobalId, string>();
  /** environmentd's `ImportHolds`: dataflow → its holds on its source imports. */
  readonly importHolds = new Map<GlobalId, ReadHold[]>();
  /** Test key → the legacy peek. */
  readonly peeks = new Map<string, LegacyPeek>();

  private constructor(
    compute: ComputeController,
    storage: StorageController,
    readHolds: PersistReadHolds,
    computeFake: FakeConnector<ComputeCommand, ComputeResponse>,
    storageFake: FakeConnector<StorageCommand, StorageResponse>,
  ) {
    this.compute = compute;
    this.storage = storage;
    this.readHolds = readHolds;
    this.computeFake = computeFake;
    this.storageFake = storageFake;
  }

  static async create(windowMs: bigint): Promise<LegacyCluster> {
    const Registry = await promRegistry();
    const computeFake = createFakeConnector<ComputeCommand, ComputeResponse>();
    const storageFake = createFakeConnector<StorageCommand, StorageResponse>();
    const compute = createComputeController({
      generation: 1n,
      logger,
      registry: new Registry() as never,
      compactionWindowMs: windowMs,
    });
    compute.createInstance(CLUSTER, LOGGING, { connector: computeFake.connector });
    const storage = createStorageController({
      generation: 1n,
      logger,
      maintenanceIntervalMs: 3_600_000,
    });
    storage.createInstance(CLUSTER, { connector: storageFake.connector });
    const shardUppers = new Map<string, Frontier>();
    const readHolds = new PersistReadHolds({
      persist: fakePersist(shardUppers) as never,
      readerId: "environmentd",
      compactionWindowMs: windowMs,
      tickMs: 0,
      heartbeatMs: 3_600_000,
      maintenanceEveryMs: 3_600_000,
      logger,
      registry: new Registry() as never,
    });
    const cluster = new LegacyCluster(compute, storage, readHolds, computeFake, storageFake);
    Object.assign(cluster, { shardUppers });
    return cluster;
  }

  // --- DDL (as environmentd's `Dataflows.install`/`uninstall` do it) --------------------------

  async createSource(id: GlobalId, description: IngestionDescription): Promise<void> {
    for (const e of description.sourceExports) {
      this.shards.set(e.id, e.shardId);
      await this.readHolds.register(e.id, e.shardId);
    }
    this.storage.createIngestion(CLUSTER, id, description);
  }

  createDataflow(id: GlobalId, desc: DataflowDescription): void {
    const holds = desc.sourceImports.map((i) => this.readHolds.acquire(i.id, desc.asOf));
    try {
      this.compute.createDataflow(CLUSTER, desc);
    } catch (e) {
      for (const h of holds) h.release();
      throw e;
    }
    this.importHolds.set(id, holds);
  }

  dropSource(id: GlobalId, exports: readonly GlobalId[]): void {
    this.storage.dropIngestion(id);
    for (const e of exports) void this.readHolds.unregister(e);
  }

  dropDataflow(id: GlobalId): void {
    for (const h of this.importHolds.get(id) ?? []) h.release();
    this.importHolds.delete(id);
    this.compute.dropCollection(id);
  }

  /** The client raises a read-policy floor: compute `allowCompaction`, a shard's policy hold. */
  compact(id: GlobalId, f: Frontier, workload: "compute" | "storage"): void {
    if (workload === "compute") this.compute.allowCompaction(id, f);
    else this.readHolds.advancePolicy(id, f);
  }

  // --- peeks ------------------------------------------------------------------------------------

  /** Starts a peek; returns the uuid the legacy controller gave it (seen on the replicas' wire). */
  peek(key: string, target: GlobalId, timestamp: bigint): string {
    const abort = new AbortController();
    const before = new Set(this.#sentPeeks());
    const promise = this.compute.peek(CLUSTER, { target, timestamp, signal: abort.signal });
    const uuid = this.#sentPeeks().find((u) => !before.has(u));
    if (uuid === undefined) throw new Error("the legacy peek reached no replica");
    const p: LegacyPeek = { uuid, abort, outcome: undefined };
    this.peeks.set(key, p);
    promise.then(
      (a) => {
        p.outcome = { replicaId: a.replicaId };
      },
      (e: Error) => {
        p.outcome = { error: e.name };
      },
    );
    return uuid;
  }

  #sentPeeks(): string[] {
    return this.computeFake.incarnations.flatMap((i) =>
      i.sent.flatMap((c) => (c.kind === "peek" ? [c.peek.uuid] : [])),
    );
  }

  // --- replicas -----------------------------------------------------------------------------------

  addReplica(replicaId: ReplicaId): void {
    this.compute.addReplica(CLUSTER, replicaId, { computeUrl: "http://127.0.0.1:1" });
    this.storage.addReplica(CLUSTER, replicaId, { storageUrl: "http://127.0.0.1:1" });
  }

  async dropReplica(replicaId: ReplicaId): Promise<void> {
    await this.compute.dropReplica(CLUSTER, replicaId);
    await this.storage.dropReplica(CLUSTER, replicaId);
  }

  /** Both of the replica's streams fail; each controller starts the next incarnation. */
  reconnect(replicaId: ReplicaId): void {
    this.computeFake.fail(replicaId, "reconnect");
    this.storageFake.fail(replicaId, "reconnect");
  }

  computeRespond(replicaId: ReplicaId, r: ComputeResponse): void {
    this.computeFake.respond(replicaId, [r]);
  }

  storageRespond(replicaId: ReplicaId, r: StorageResponse): void {
    if (r.kind === "frontierUpper") {
      const shard = this.shards.get(r.id);
      if (shard !== undefined) {
        const prev = this.shardUppers.get(shard) ?? 0n;
        if (prev !== null && (r.upper === null || r.upper > prev))
          this.shardUppers.set(shard, r.upper);
      }
    }
    this.storageFake.respond(replicaId, [r]);
  }

  // --- upkeep ---------------------------------------------------------------------------------

  /** environmentd's upkeep tick: import holds follow their dataflow's since, then persist's. */
  async tick(): Promise<void> {
    for (const [id, holds] of this.importHolds) {
      let since: Frontier;
      try {
        since = this.compute.frontiers(id).since;
      } catch {
        continue;
      }
      if (since === null) continue;
      for (const h of holds) h.downgrade(since);
    }
    await this.readHolds.tick();
  }

  async close(): Promise<void> {
    for (const p of this.peeks.values()) p.abort.abort();
    await this.readHolds.close();
    await this.compute.close();
    await this.storage.close();
  }
}
