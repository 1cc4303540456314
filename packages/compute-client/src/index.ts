/**
 * @mzts/compute-client — the compute controller side (legacy path): the controller with its
 * instances, replica tasks, read holds, peeks and subscribes; the reducing command history
 * replayed to every new or rehydrated replica; metrics and the package's errors.
 */

export {
  type ComputeController,
  type ComputeControllerOptions,
  createComputeController,
} from "./controller.js";
export {
  CollectionExists,
  CollectionMissing,
  ControllerClosed,
  ControllerError,
  InstanceExists,
  InstanceMissing,
  MetricsConflict,
  PeekCanceled,
  PeekFailed,
  PeekTimeout,
  ReplicaExists,
  ReplicaMissing,
  SinceViolation,
} from "./errors.js";
export {
  type CollectionFrontiers,
  type ReplicaStatus,
  TARGET_REPLICA_GONE,
} from "./instance.js";
export { backoffDelayMs, connectLegacyReplica } from "./legacy/replica-task.js";
export {
  attachHistoryMetrics,
  type ControllerMetrics,
  controllerMetrics,
  HISTORY_COMMAND_COUNT,
  HISTORY_DATAFLOW_COUNT,
  PEEK_DURATION_BUCKETS,
  type PeekResult,
} from "./metrics.js";
export type { PeekRequest, PeekRows } from "./peek.js";
export { impliedHold, ReadHolds } from "./read-holds.js";
export type {
  ReplicaConnection,
  ReplicaConnectionOptions,
  ReplicaConnectionState,
  ReplicaConnectionTuning,
  ReplicaConnector,
  ReplicaLocation,
} from "./replica-connection.js";
export { type SubscribeBatch, SubscribeFailed } from "./subscribe.js";
