/**
 * @mzts/storage-client — the storage controller side (legacy path): the controller itself
 * (instances, replicas, ingestions, collections), the placement of ingestions and sinks on
 * replicas, the persist read holds, the legacy storage replica task and the storage protocol for
 * the unified one (`replica-protocol.ts`). The command history it
 * replays is `@mzts/protocol`'s `StorageCommandHistory`; the replica seam is
 * `@mzts/controller-unified/replicas`' `ReplicaConnection`, and each instance takes its
 * `connector` in `createInstance` (no default).
 */

// PHASE(state): legacy — delete when cluster-unification-state is retired. Every export below
// but the replica task is the legacy storage instance state (controller, collections, placement,
// persist read holds) that phase 5 replaces with one `ClusterState` per cluster
// (`controller-unified/src/state/`).
export {
  type CollectionEvent,
  NO_REPLICA_HINT,
  REPLICA_DROPPED_HINT,
  StorageCollections,
  type StorageCollectionsOptions,
} from "./collections.js";
export {
  createStorageController,
  type ReplicaLocationConfig,
  type StorageController,
  type StorageControllerEvent,
  type StorageControllerOptions,
  type StorageInstanceOptions,
  type StorageReplicaConnection,
  type StorageReplicaConnector,
  type StorageReplicaInfo,
} from "./controller.js";
export {
  CollectionExists,
  CollectionMissing,
  CompactionRegression,
  ControllerClosed,
  ControllerError,
  InstanceExists,
  InstanceMissing,
  InvalidReplicaId,
  PlacementConflict,
  ReadHoldBelowSince,
  ReplicaExists,
  ReplicaMissing,
  UpperWaitTimedOut,
} from "./errors.js";
// PHASE(replicas): legacy — delete when cluster-unification-replicas is retired
export { connectLegacyStorageReplica } from "./legacy/replica-task.js";
export {
  createStorageControllerMetrics,
  type StorageControllerMetrics,
} from "./metrics.js";
export {
  PersistReadHolds,
  type PersistReadHoldsOptions,
  type ReadHold,
} from "./persist-read-holds.js";
export {
  IngestionPlacement,
  ingestionPreference,
  objectIdOf,
  type PlacedObject,
  type PlacementMove,
  placedObjectOf,
  type ReplicaPreference,
  SINK_PREFERENCE,
} from "./placement.js";
// The unified path of the same seam (phase 3): the storage protocol for controller-unified's task.
export { connectUnifiedStorageReplica, storageReplicaProtocol } from "./replica-protocol.js";
