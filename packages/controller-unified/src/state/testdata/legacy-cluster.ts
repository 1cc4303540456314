/**
 * Tests only: one cluster on the **legacy** path, driven without a network — the real legacy
 * classes, composed the way environmentd composes them today:
 * - compute-client's `createComputeController` with one instance (compute's collections, read
 *   holds, peeks, replicas and `ComputeCommandHistory`), through the replica seam (`connector`)
 *   with an in-memory fake (`fake-connector.ts`);
 * - storage-client's `createStorageController` with one instance (storage collections, placement,
 *   `StorageCommandHistory`), through the same seam;
 * - storage-client's `PersistReadHolds` (the environment's since handles and holds) over an
 *   in-memory persist whose shard uppers are the uppers the replicas reported (the fakes, the
 *   persist and the parts' options are `legacy-fakes.ts`, shared with environmentd's tests);
 * - environmentd's `ImportHolds` glue (`environment/import-holds.ts`, a dozen lines restated
 *   here because environmentd is not importable): a dataflow holds its source imports at its
 *   as-of, each tick moves the holds to the dataflow's compute since, then `PersistReadHolds`
 *   ticks; dropping the dataflow releases them.
 *
 * The `-client` packages are loaded from their built `dist` by path: this package cannot depend
 * on them (they depend on it), and `turbo.json` orders their build before this package's tests.
 */

import type { DataflowDescription, IngestionDescription } from "@mzts/protocol";
import type { Frontier, GlobalId, ReplicaId } from "@mzts/repr";
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
import { CLUSTER, LegacyClusterFakes, LOGGING } from "./legacy-fakes.js";

export { CLUSTER, LOGGING } from "./legacy-fakes.js";

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

/** A legacy peek in flight. */
interface LegacyPeek {
  readonly uuid: string;
  readonly abort: AbortController;
  outcome: { replicaId: string } | { error: string } | undefined;
}

/** One legacy cluster (see the file comment); its fakes are `LegacyClusterFakes`'. */
export class LegacyCluster extends LegacyClusterFakes {
  readonly compute: ComputeController;
  readonly storage: StorageController;
  readonly readHolds: PersistReadHolds;
  /** environmentd's `ImportHolds`: dataflow → its holds on its source imports. */
  readonly importHolds = new Map<GlobalId, ReadHold[]>();
  /** Test key → the legacy peek. */
  readonly peeks = new Map<string, LegacyPeek>();

  private constructor(windowMs: bigint, Registry: PromRegistry) {
    super();
    const o = this.legacyPartsOptions(windowMs, () => new Registry());
    this.compute = createComputeController(o.compute);
    this.compute.createInstance(CLUSTER, LOGGING, o.computeInstance);
    this.storage = createStorageController(o.storage);
    this.storage.createInstance(CLUSTER, o.storageInstance);
    this.readHolds = new PersistReadHolds(o.readHolds);
  }

  static async create(windowMs: bigint): Promise<LegacyCluster> {
    return new LegacyCluster(windowMs, await promRegistry());
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
