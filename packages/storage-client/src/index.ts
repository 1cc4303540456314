/**
 * @mzts/storage-client — the storage controller side (legacy path): the reducing command
 * history replayed to replicas, and the placement of ingestions and sinks on replicas.
 */

export {
  ingestionCollectionIds,
  StorageCommandHistory,
  type StorageCommandHistoryOptions,
} from "./command-history.js";
export {
  CollectionConflict,
  CompactionRegression,
  ControllerError,
  InvalidReplicaId,
  PlacementConflict,
  ReplicaAlreadyExists,
  ReplicaMissing,
} from "./errors.js";
export {
  createStorageControllerMetrics,
  type HistoryCommandCounts,
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
