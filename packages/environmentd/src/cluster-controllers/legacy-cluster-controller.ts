/**
 * The **legacy** `ClusterController` (phase 5 `state` off): one cluster's compute instance
 * (compute-client), its storage instance (storage-client) and the environment's
 * `PersistReadHolds` behind the one interface environmentd drives per cluster, so nothing above
 * the controller changes when a cluster's `state` phase flips (design note
 * `docs/design/20261207_phase5_state.md`).
 *
 * ## Mapping
 * - Replicas: both controllers' `addReplica`/`dropReplica`; health from compute's replica
 *   statuses (both controllers run the same replicas).
 * - Objects: an ingestion → storage; a dataflow → compute, its source imports held through
 *   `PersistReadHolds` (what environmentd's `ImportHolds` did) — and its `foreignHolds` (imports
 *   of other clusters) — at its as-of, then at its compute since (`advanceImportHolds`), until
 *   compute FORGETS the dataflow: a dropped dataflow a peek still holds stays in compute's
 *   history, and a replica rehydrating meanwhile rebuilds it at that since (the legacy defect
 *   "environmentd releases a dropped dataflow's import holds while a peek still holds it").
 * - Subscribes: compute's (`subscribe`); `frontiers`/`drop` of a transient subscribe id go to
 *   compute as they are (the subscribe's since; its cancel).
 * - `frontiers(id)`: compute's for a compute collection; for a storage one, the write frontier from
 *   storage and the since from `PersistReadHolds` (legacy keeps the two apart).
 * - `acquireReadHold`: only shard-backed collections (`PersistReadHolds`); compute-client has no
 *   external hold on its collections — one of the gaps the unified state closes.
 * - `status()`: collections and peeks are counted here (compute-client exposes them only as
 *   gauges).
 * - Errors: the `-client` classes are rethrown as `@mzts/controller-unified/state`'s
 *   (`client-errors.ts`); a peek's own errors keep compute-client's classes (same names as
 *   `./state`'s, as the interface says).
 */
import type { ComputeController } from "@mzts/compute-client";
import type {
  ClusterController,
  ClusterControllerStatus,
  ClusterPeekAnswer,
  ClusterPeekRequest,
  ClusterReplicaLocation,
  ClusterSubscribeBatch,
  CollectionFrontiers,
  ReadHold,
  ReplicaHealthRecord,
} from "@mzts/controller-unified/state";
import {
  CollectionExists,
  CollectionMissing,
  InvalidStateRequest,
} from "@mzts/controller-unified/state";
import type { DataflowDescription, IngestionDescription } from "@mzts/protocol";
import { Frontier, type GlobalId, type ReplicaId } from "@mzts/repr";
import type {
  ReadHold as PersistHold,
  PersistReadHolds,
  StorageController,
} from "@mzts/storage-client";
import { mapClientError, mapped } from "./client-errors.js";

/** What the adapter composes (shared per environment but for the cluster id). */
export interface LegacyParts {
  readonly clusterId: string;
  readonly compute: ComputeController;
  readonly storage: StorageController;
  readonly readHolds: PersistReadHolds;
}

// PHASE(state): legacy — delete when cluster-unification-state is retired
/** The legacy path behind `ClusterController` (see the file comment). */
export class LegacyClusterController implements ClusterController {
  readonly clusterId: string;
  readonly path = "legacy" as const;
  readonly #p: LegacyParts;
  /** Dataflow → its holds on its imports (kept until compute forgets the dataflow). */
  readonly #importHolds = new Map<GlobalId, ReadHold[]>();
  /** Ingestion → its subsources (their since handles go with it). */
  readonly #ingestions = new Map<GlobalId, readonly GlobalId[]>();
  /** Compute collections created here and not yet dropped. */
  readonly #compute = new Set<GlobalId>();
  #pendingPeeks = 0;

  constructor(parts: LegacyParts) {
    this.clusterId = parts.clusterId;
    this.#p = parts;
  }

  #call<T>(op: string, f: () => T): T {
    return mapped(this.clusterId, op, f);
  }

  // --- replicas -------------------------------------------------------------------------------

  addReplica(replicaId: ReplicaId, location: ClusterReplicaLocation): void {
    const { computeUrl, storageUrl } = this.#twoPort(location, "addReplica");
    this.#call("addReplica", () => {
      this.#p.compute.addReplica(this.clusterId, replicaId, { computeUrl });
      this.#p.storage.addReplica(this.clusterId, replicaId, { storageUrl });
    });
  }

  updateReplicaLocation(replicaId: ReplicaId, location: ClusterReplicaLocation): void {
    const { computeUrl, storageUrl } = this.#twoPort(location, "updateReplicaLocation");
    this.#call("updateReplicaLocation", () => {
      this.#p.compute.updateReplicaLocation(this.clusterId, replicaId, { computeUrl });
      this.#p.storage.updateReplicaLocation(this.clusterId, replicaId, { storageUrl });
    });
  }

  async dropReplica(replicaId: ReplicaId): Promise<void> {
    // Both controllers let go of it even when one of them does not know it.
    const [c, s] = await Promise.allSettled([
      this.#p.compute.dropReplica(this.clusterId, replicaId),
      this.#p.storage.dropReplica(this.clusterId, replicaId),
    ]);
    const failed = c.status === "rejected" ? c : s.status === "rejected" ? s : undefined;
    if (failed !== undefined) throw mapClientError(this.clusterId, "dropReplica", failed.reason);
  }

  replicas(): readonly ReplicaHealthRecord[] {
    return this.#p.compute.replicas(this.clusterId).map((r) => ({
      replicaId: r.replicaId,
      epoch: r.epoch,
      state: r.state === "connected" ? "connected" : r.state === "failed" ? "failed" : "starting",
      failures: r.failures,
      lastError: r.lastError,
      refusal: r.refusal,
      connectedAtMs: undefined,
      lastHeardMs: undefined,
      stale: false,
    }));
  }

  #twoPort(location: ClusterReplicaLocation, op: string) {
    if (location.layout !== "two-port") {
      throw new InvalidStateRequest(
        op,
        "the legacy controllers need a two-port replica (computeUrl, storageUrl)",
      );
    }
    return location;
  }

  // --- objects --------------------------------------------------------------------------------

  async openShards(shards: readonly { readonly id: GlobalId; readonly shardId: string }[]) {
    const out = new Map<GlobalId, Frontier>();
    for (const s of shards) out.set(s.id, await this.#p.readHolds.register(s.id, s.shardId));
    return out;
  }

  createIngestion(id: GlobalId, description: IngestionDescription): void {
    // storage-client takes an identical re-creation as a no-op; the interface does not.
    if (this.#ingestions.has(id)) throw new CollectionExists(this.clusterId, id);
    this.#call("createIngestion", () =>
      this.#p.storage.createIngestion(this.clusterId, id, description),
    );
    this.#ingestions.set(
      id,
      description.sourceExports.map((e) => e.id),
    );
  }

  createDataflow(
    desc: DataflowDescription,
    options: { readonly foreignHolds?: readonly ReadHold[] } = {},
  ): void {
    const key = desc.indexExports[0]?.id ?? desc.sinkExports[0]?.id;
    if (key === undefined)
      throw new InvalidStateRequest("createDataflow", "a dataflow must export something");
    const held = new Set((options.foreignHolds ?? []).map((h) => h.collectionId));
    const holds: PersistHold[] = [];
    try {
      for (const i of desc.sourceImports) {
        if (!held.has(i.id)) holds.push(this.#p.readHolds.acquire(i.id, desc.asOf));
      }
      this.#p.compute.createDataflow(this.clusterId, desc);
    } catch (e) {
      for (const h of holds) h.release();
      throw mapClientError(this.clusterId, "createDataflow", e);
    }
    this.#importHolds.set(key, [...holds, ...(options.foreignHolds ?? [])]);
    for (const e of [...desc.indexExports, ...desc.sinkExports]) this.#compute.add(e.id);
  }

  allowWrites(id: GlobalId): void {
    this.#call("allowWrites", () => this.#p.compute.allowWrites(this.clusterId, id));
  }

  allowCompaction(id: GlobalId, frontier: Frontier): void {
    if (frontier === null) {
      this.drop(id);
      return;
    }
    if (this.#compute.has(id))
      this.#call("allowCompaction", () => this.#p.compute.allowCompaction(id, frontier));
    else if (this.#p.readHolds.has(id)) this.#p.readHolds.advancePolicy(id, frontier);
    else throw new CollectionMissing(this.clusterId, id, "allowCompaction");
  }

  drop(id: GlobalId): void {
    const exports = this.#ingestions.get(id);
    if (exports !== undefined) {
      this.#call("drop", () => this.#p.storage.dropIngestion(id));
      for (const e of exports) void this.#p.readHolds.unregister(e);
      this.#ingestions.delete(id);
      return;
    }
    // Not created here: a transient subscribe's id (its cancel), or CollectionMissing.
    this.#compute.delete(id);
    this.#call("drop", () => this.#p.compute.dropCollection(id));
    // The import holds stay until compute forgets the dataflow (`advanceImportHolds`).
    this.#releaseIfForgotten(id);
  }

  // --- reads ----------------------------------------------------------------------------------

  acquireReadHold(id: GlobalId, at: Frontier): ReadHold {
    if (!this.#p.readHolds.has(id)) {
      throw new InvalidStateRequest(
        "acquireReadHold",
        `${id} has no shard: the legacy path holds only shard-backed collections`,
      );
    }
    return this.#call("acquireReadHold", () => this.#p.readHolds.acquire(id, at));
  }

  async peek(req: ClusterPeekRequest): Promise<ClusterPeekAnswer> {
    this.#pendingPeeks++;
    try {
      return await this.#p.compute.peek(this.clusterId, req);
    } catch (e) {
      throw mapClientError(this.clusterId, "peek", e);
    } finally {
      this.#pendingPeeks--;
    }
  }

  subscribe(
    desc: DataflowDescription,
    options: { readonly targetReplica?: ReplicaId } = {},
  ): AsyncIterable<ClusterSubscribeBatch> {
    return this.#call("subscribe", () => this.#p.compute.subscribe(this.clusterId, desc, options));
  }

  // --- observation ----------------------------------------------------------------------------

  hasCollection(id: GlobalId): boolean {
    return this.#compute.has(id) || this.#p.storage.hasCollection(id);
  }

  frontiers(id: GlobalId): CollectionFrontiers {
    // Compute's (a dataflow, or a transient subscribe), unless storage's.
    if (this.#compute.has(id) || !this.#p.storage.hasCollection(id))
      return this.#call("frontiers", () => this.#p.compute.frontiers(id));
    const since = this.#p.readHolds.has(id) ? this.#p.readHolds.since(id) : Frontier.MIN;
    const write = this.#p.storage.frontier(id);
    return { since, write, reported: write !== Frontier.MIN };
  }

  waitForUpper(
    id: GlobalId,
    target: Frontier,
    options: { readonly timeoutMs?: number } = {},
  ): Promise<void> {
    if (!this.#compute.has(id)) {
      return this.#p.storage
        .waitForUpper(id, target, options)
        .catch((e: unknown) => Promise.reject(mapClientError(this.clusterId, "waitForUpper", e)));
    }
    return new Promise((resolve, reject) => {
      const done = () => Frontier.lessEqual(target, this.#p.compute.frontiers(id).write);
      if (done()) return resolve();
      const timer = setTimeout(() => {
        off();
        reject(
          new InvalidStateRequest(
            "waitForUpper",
            `${id} did not reach ${Frontier.format(target)} in time`,
          ),
        );
      }, options.timeoutMs ?? 30_000);
      const off = this.#p.compute.onWriteFrontier((changed) => {
        if (changed !== id || !done()) return;
        clearTimeout(timer);
        off();
        resolve();
      });
    });
  }

  onWriteFrontier(listener: (id: GlobalId) => void): () => void {
    const offCompute = this.#p.compute.onWriteFrontier((id) => {
      if (this.#compute.has(id)) listener(id);
    });
    const offStorage = this.#p.storage.onEvent((e) => {
      if (e.kind === "writeFrontier" && e.instanceId === this.clusterId) listener(e.id);
    });
    return () => {
      offCompute();
      offStorage();
    };
  }

  /** Compute exports' write frontiers as `replicaId` last reported them (reported ones only). */
  replicaFrontiers(replicaId: ReplicaId): ReadonlyMap<GlobalId, Frontier> {
    const out = new Map<GlobalId, Frontier>();
    for (const [id, f] of this.replicaCollectionFrontiers(replicaId)) {
      if (f.replica !== undefined) out.set(id, f.replica);
    }
    return out;
  }

  /** compute-client's per-replica record of every live export (replica, global, as-of). */
  replicaCollectionFrontiers(replicaId: ReplicaId) {
    return this.#call("replicaFrontiers", () =>
      this.#p.compute.replicaFrontiers(this.clusterId, replicaId),
    );
  }

  /** The cluster's log indexes (compute-client's `logIndexes`). */
  logIndexes() {
    return this.#call("logIndexes", () => this.#p.compute.logIndexes(this.clusterId));
  }

  failures(): ReadonlyMap<GlobalId, string> {
    return this.#p.compute.failures(this.clusterId);
  }

  objectStatus(id: GlobalId) {
    return { status: this.#p.storage.status(id), statistics: this.#p.storage.statistics(id) };
  }

  status(): ClusterControllerStatus {
    let storage = 0;
    for (const exports of this.#ingestions.values()) storage += 1 + exports.length;
    return {
      clusterId: this.clusterId,
      path: this.path,
      collections: this.#compute.size + storage,
      historyCommands:
        this.#p.compute.historySize(this.clusterId) + this.#p.storage.historySize(this.clusterId),
      pendingPeeks: this.#pendingPeeks,
      replicas: this.replicas(),
    };
  }

  /**
   * Import holds follow their dataflow's compute since; a dropped dataflow's are released once
   * compute forgot it (file comment). environmentd's upkeep loop calls it every tick.
   */
  advanceImportHolds(): void {
    // One compute lookup per dataflow a tick (issue 16: 1,000 of them a second when idle); a
    // hold already at the since is left alone by `downgrade`.
    for (const [id, holds] of this.#importHolds) {
      const since = this.#computeSince(id);
      if (since === null) this.#release(id, holds);
      else for (const h of holds) h.downgrade(since);
    }
  }

  /** `id`'s compute since; empty when compute forgot it (CollectionMissing) or is closed. */
  #computeSince(id: GlobalId): Frontier {
    try {
      return this.#p.compute.frontiers(id).since;
    } catch {
      return null;
    }
  }

  /** Releases `id`'s import holds and forgets them. */
  #release(id: GlobalId, holds: readonly ReadHold[]): void {
    for (const h of holds) h.release();
    this.#importHolds.delete(id);
  }

  /** Releases `id`'s import holds if compute no longer knows it; returns whether it did. */
  #releaseIfForgotten(id: GlobalId): boolean {
    const holds = this.#importHolds.get(id);
    if (holds === undefined || this.#computeSince(id) !== null) return false;
    this.#release(id, holds);
    return true;
  }

  /** The upkeep body on its own (tests, the bench): `advanceImportHolds`, then the handles tick. */
  async upkeep(): Promise<void> {
    this.advanceImportHolds();
    await this.#p.readHolds.tick();
  }

  async close(): Promise<void> {
    for (const holds of this.#importHolds.values()) for (const h of holds) h.release();
    this.#importHolds.clear();
  }
}
