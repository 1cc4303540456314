/**
 * @mzts/compute-client — the compute controller side (legacy path): the controller with its
 * instances (collections and read holds, pending peeks, subscribes, replica lifecycle), the
 * legacy compute replica task, the compute protocol for the unified one (`replica-protocol.ts`),
 * metrics and the package's errors. The command history it replays
 * is `@mzts/protocol`'s `ComputeCommandHistory`; the replica seam is
 * `@mzts/controller-unified/replicas`' `ReplicaConnection`, and each instance takes its
 * `connector` in `createInstance` (no default).
 */

// PHASE(state): legacy — delete when cluster-unification-state is retired. Every export below
// but the replica task is the legacy compute instance state (controller, instances, collections
// and holds, peeks, subscribes) that phase 5 replaces with one `ClusterState` per cluster
// (`controller-unified/src/state/`).
export type { CollectionFrontiers, ReplicaCollectionFrontier } from "./collections.js";
export {
  type ComputeController,
  type ComputeControllerOptions,
  type ComputeInstanceOptions,
  createComputeController,
} from "./controller.js";
export {
  CollectionExists,
  CollectionMissing,
  ControllerClosed,
  ControllerError,
  InstanceExists,
  InstanceMissing,
  InvalidLoggingConfig,
  LogImportUntargeted,
  LogPeekUntargeted,
  MetricsConflict,
  PeekCanceled,
  PeekFailed,
  PeekTimeout,
  ReplicaExists,
  ReplicaMissing,
  SinceViolation,
  SubscribeFailed,
} from "./errors.js";
// PHASE(replicas): legacy — delete when cluster-unification-replicas is retired
export { connectLegacyComputeReplica } from "./legacy/replica-task.js";
export type { LogIndex } from "./log-indexes.js";
export {
  attachHistoryMetrics,
  type ControllerMetrics,
  controllerMetrics,
  HISTORY_COMMAND_COUNT,
  HISTORY_DATAFLOW_COUNT,
  PEEK_DURATION_BUCKETS,
  type PeekResult,
} from "./metrics.js";
export {
  buildPeek,
  type PeekAnswer,
  type PeekOutcome,
  type PeekRequest,
  type PeekRows,
} from "./peek.js";
export {
  COMPARISON_TIMEOUT_MS,
  type ComparisonMetrics,
  type ComparisonRecord,
  type ComparisonResult,
  comparisonMetrics,
  diffOutcomes,
  diffRows,
  type PathSlot,
  type PathSplit,
} from "./peek-comparison.js";
export { TARGET_REPLICA_GONE } from "./pending-peeks.js";
export {
  PoisonQuarantine,
  QUARANTINE_STRIKES,
  type Quarantined,
  SUSPECT_WINDOW_MS,
} from "./quarantine.js";
export { impliedHold, ReadHolds } from "./read-holds.js";
// The unified path of the same seam (phase 3): the compute protocol for controller-unified's task.
export { computeReplicaProtocol, connectUnifiedComputeReplica } from "./replica-protocol.js";
export type {
  ComputeReplicaConnection,
  ComputeReplicaConnector,
  ReplicaLocation,
  ReplicaStatus,
} from "./replicas.js";
export type { SubscribeBatch } from "./subscribe.js";
