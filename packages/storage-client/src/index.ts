/**
 * @mzts/storage-client — the storage controller side (legacy path): the controller itself
 * (instances, replicas, ingestions, collections), the reducing command history replayed to
 * replicas, and the placement of ingestions and sinks on replicas.
 */

export {
  type CollectionEvent,
  NO_REPLICA_HINT,
  REPLICA_DROPPED_HINT,
  StorageCollections,
  type StorageCollectionsOptions,
} from "./collections.js";
export {
  createStorageController,
  type InstanceOptions,
  type ReplicaLocationConfig,
  type StorageController,
  type StorageControllerEvent,
  type StorageControllerOptions,
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
export {
  backoffDelayMs,
  DEFAULT_RECONNECT_BACKOFF,
  type ReconnectBackoff,
  RehydrationTask,
  type RehydrationTaskOptions,
  type RehydrationTaskState,
} from "./legacy/rehydration-task.js";
export {
  createStorageControllerMetrics,
  type StorageControllerMetrics,
} from "./metrics.js";
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
export {
  PersistReadHolds,
  type PersistReadHoldsOptions,
  type ReadHold,
} from "./persist-read-holds.js";
