/**
 * `ClusterController`: the one interface environmentd drives per cluster (design.md §9 phase 5),
 * either way — so nothing above the controller changes when a cluster's `state` phase flips.
 *
 * | path      | implementation (next slice)                                                    |
 * | --------- | ------------------------------------------------------------------------------ |
 * | `legacy`  | an adapter over the cluster's compute instance (compute-client), its storage   |
 * |           | instance (storage-client) and the environment's `PersistReadHolds` / holds     |
 * | `unified` | a driver over one `ClusterState` (this folder): it sends `takeOutbox()` on the |
 * |           | replicas' connections, feeds their responses to `absorb`, runs `tick(now)` and |
 * |           | does the since-handle I/O it asks for                                          |
 *
 * The interface is the union of what environmentd calls today on `ComputeController`,
 * `StorageController` and `PersistReadHolds` for one cluster, with the cluster id taken out.
 * Types that the `-client` packages own (peek answers, subscribe batches, storage statuses) are
 * restated structurally here, since this package never imports a `-client` package; the legacy
 * adapter passes its values through unchanged.
 *
 * ## Contract
 * - Every method that names an object throws `CollectionMissing` for an id that is not a live
 *   collection of this cluster, and the same typed errors on both paths (the adapter maps the
 *   `-client` classes to this package's `./state` errors).
 * - `openShards` is the only asynchronous DDL step (persist I/O); `createIngestion` and
 *   `createDataflow` are synchronous afterwards and take the durable sinces it returned.
 * - A read hold from `acquireReadHold` is one hold among the collection's own (policy, replica,
 *   peek and dependant holds); its since — and its shard's since handle — never pass it.
 *   `createDataflow` imports of another cluster come with such holds (`foreignHolds`).
 * - `frontiers(id).since` is the one since of the collection (compute: what replicas may compact
 *   to; storage: what the shard's since handle may be downgraded to).
 * - `status()` is O(replicas + 1) and allocation-light: the 10k-dataflow bench measures it.
 * - A subscribe has no `dropSubscribe`: its iterable ends it when the consumer breaks out (or
 *   calls `return()`); `drop(id)` with the subscribe's sink id also ends it (the stream fails
 *   with the compute controller's `SubscribeFailed`, `CollectionMissing` once it is gone).
 */
import type {
  DataflowDescription,
  IngestionDescription,
  LogRelation,
  MapFilterProject,
  RowSetFinishing,
  SourceStatistics,
  StatusUpdate,
} from "@mzts/protocol";
import type { Frontier, GlobalId, ReplicaId, Row, Timestamp, Update } from "@mzts/repr";
import type { CollectionFrontiers } from "./collection-table.js";
import type { PeekTrace } from "./peek-trace.js";
import type { ReadHold } from "./read-holds.js";
import type { ReplicaHealthRecord } from "./replica-health.js";

/** Where a replica serves: two ports (legacy layout) or one (phase 4 `client`). */
export type ClusterReplicaLocation =
  | { readonly layout: "two-port"; readonly computeUrl: string; readonly storageUrl: string }
  | { readonly layout: "one-port"; readonly clusterUrl: string };

/** A peek (compute-client's `PeekRequest`, structurally). */
export interface ClusterPeekRequest {
  readonly target: GlobalId;
  readonly timestamp: Timestamp;
  readonly mapFilterProject?: MapFilterProject;
  readonly finishing?: RowSetFinishing;
  readonly literalConstraints?: readonly Row[];
  readonly targetReplica?: ReplicaId;
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal;
  /** Stage times of an API peek (`peek-trace.ts`): the controller marks issued/written/answered. */
  readonly trace?: PeekTrace;
}

/** A peek's answer (compute-client's `PeekAnswer`, structurally). */
export interface ClusterPeekAnswer {
  readonly rows: ReadonlyArray<readonly [row: Row, count: number]>;
  readonly replicaId: ReplicaId;
}

/** One merged subscribe batch (compute-client's `SubscribeBatch`, structurally). */
export interface ClusterSubscribeBatch {
  readonly lower: Frontier;
  readonly upper: Frontier;
  readonly updates: readonly Update[];
}

/** A log index of the cluster (compute-client's `LogIndex`, structurally). */
export interface ClusterLogIndex {
  readonly id: GlobalId;
  readonly relation: LogRelation;
  /** The relation's column count (a peek's arity). */
  readonly arity: number;
}

/** What `status()` reports (cheap: the scale bench reads it per cluster). */
export interface ClusterControllerStatus {
  readonly clusterId: string;
  readonly path: "legacy" | "unified";
  /** Collections held (live and dropped-not-forgotten), both workloads. */
  readonly collections: number;
  /** Commands held in the history (both workloads; legacy: the sum of the two histories). */
  readonly historyCommands: number;
  readonly pendingPeeks: number;
  readonly replicas: readonly ReplicaHealthRecord[];
}

/** The controller of one cluster (see the file comment). */
export interface ClusterController {
  readonly clusterId: string;
  readonly path: "legacy" | "unified";

  // --- replicas -------------------------------------------------------------------------------
  /** @throws ReplicaExists, InvalidId */
  addReplica(replicaId: ReplicaId, location: ClusterReplicaLocation): void;
  /**
   * The replica's process (re)started at `location` (moved or not): the next connection attempt
   * uses it and goes now, not after the rest of a backoff pause. @throws ReplicaMissing
   */
  updateReplicaLocation(replicaId: ReplicaId, location: ClusterReplicaLocation): void;
  /** @throws ReplicaMissing */
  dropReplica(replicaId: ReplicaId): Promise<void>;
  /** One health record per replica. */
  replicas(): readonly ReplicaHealthRecord[];
  /**
   * The compute exports' write frontiers as `replicaId`'s current incarnation last reported them
   * (absent: not reported by it yet). The live flip's hydration check. @throws ReplicaMissing
   */
  replicaFrontiers(replicaId: ReplicaId): ReadonlyMap<GlobalId, Frontier>;

  // --- objects --------------------------------------------------------------------------------
  /**
   * Opens (or re-attaches) the controller's since handles on these shards; returns each
   * collection's durable since. Call before creating the object that owns them.
   */
  openShards(
    shards: readonly { readonly id: GlobalId; readonly shardId: string }[],
  ): Promise<ReadonlyMap<GlobalId, Frontier>>;
  /** @throws CollectionExists */
  createIngestion(id: GlobalId, description: IngestionDescription): void;
  /** @throws CollectionExists, CollectionMissing, SinceViolation, InvalidStateRequest */
  createDataflow(
    desc: DataflowDescription,
    options?: { readonly foreignHolds?: readonly ReadHold[] },
  ): void;
  /** Lets a materialized view's sink write. @throws CollectionMissing */
  allowWrites(id: GlobalId): void;
  /** Raises the read-policy floor; the empty frontier drops. @throws CollectionMissing */
  allowCompaction(id: GlobalId, frontier: Frontier): void;
  /**
   * Drops a collection (an ingestion's own id: the whole ingestion; a subscribe's sink id: the
   * subscribe, its stream fails). @throws CollectionMissing, DependantsExist
   */
  drop(id: GlobalId): void;

  // --- reads ----------------------------------------------------------------------------------
  /** @throws CollectionMissing, SinceViolation */
  acquireReadHold(id: GlobalId, at: Frontier): ReadHold;
  /**
   * Rejects with the compute controller's peek errors on both paths. A log index is peeked with
   * a `targetReplica` only (that replica's rows).
   */
  peek(req: ClusterPeekRequest): Promise<ClusterPeekAnswer>;
  /**
   * A subscribe dataflow (exactly one subscribe sink): its batches merged across replicas, every
   * update once, frontiers never regress. With `targetReplica` only that replica builds it (it may
   * import log indexes) and the stream fails when that replica goes away. Breaking out of the
   * iteration drops it on the replicas. Edge errors are thrown synchronously.
   */
  subscribe(
    desc: DataflowDescription,
    options?: { readonly targetReplica?: ReplicaId },
  ): AsyncIterable<ClusterSubscribeBatch>;

  // --- observation ----------------------------------------------------------------------------
  /** The cluster's log indexes (its logging config; empty when logging is off). */
  logIndexes(): ReadonlyMap<GlobalId, ClusterLogIndex>;
  hasCollection(id: GlobalId): boolean;
  /** @throws CollectionMissing */
  frontiers(id: GlobalId): CollectionFrontiers;
  /** Resolves once the write frontier is at or beyond `target`. Rejects: CollectionMissing, timeout. */
  waitForUpper(
    id: GlobalId,
    target: Frontier,
    options?: { readonly timeoutMs?: number },
  ): Promise<void>;
  /** Called whenever a collection's write frontier advances; returns the unsubscribe function. */
  onWriteFrontier(listener: (id: GlobalId) => void): () => void;
  /** Objects quarantined (compute) or failed, with the reason. */
  failures(): ReadonlyMap<GlobalId, string>;
  /** A storage object's latest status and statistics. @throws CollectionMissing */
  objectStatus(id: GlobalId): {
    readonly status: StatusUpdate | undefined;
    readonly statistics: ReadonlyMap<ReplicaId, SourceStatistics>;
  };
  status(): ClusterControllerStatus;

  /** Stops every replica connection and the maintenance timer (the replica processes keep running). */
  close(): Promise<void>;
}
