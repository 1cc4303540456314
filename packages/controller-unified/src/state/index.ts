/**
 * `@mzts/controller-unified/state` — phase 5 (`cluster-unification-state`): one controller state
 * per cluster. Design note: `docs/design/20261207_phase5_state.md`.
 *
 * ## Contract
 * - **`ClusterController`** (`cluster-controller.ts`) is the one interface environmentd drives per
 *   cluster, either way: legacy = an adapter over the cluster's compute and storage instances
 *   (and the environment's persist read holds); unified = a driver over one `ClusterState`. The
 *   composition root picks one per cluster from its `PhaseSet` (`takesEffect("state")`) when the
 *   cluster's controller is built; nothing above the interface changes.
 * - **`ClusterState`** (`cluster-state.ts`) is synchronous and does no I/O. It holds:
 *   - one **collection table** for compute and storage objects (`collection-table.ts`): kind,
 *     per-replica write frontiers, the global write frontier, since, read holds, dependencies and
 *     dependants;
 *   - one **read-hold mechanism** (`read-holds.ts`): named holds (policy, replica, peek,
 *     dependant, external) whose meet is the since — the compute `allowCompaction` and the
 *     persist since handle (`since-handles.ts`) both follow it, so a view's hold on a source is
 *     one hold in one table;
 *   - one **history** of `ClusterCommand`s with one reduction (`cluster-history.ts`), applying
 *     the protocol's per-workload rules (`reduction-rules.ts`) to each workload's slice;
 *   - the per-workload **replica rules** (`replica-rules.ts`): what incarnation starts, replays,
 *     failures, removals and drops do to a row, and when a dropped row is forgotten;
 *   - one **health record** per replica (`replica-health.ts`);
 *   - one **maintenance tick** (`maintenance.ts`), a pure step of the time: since-handle
 *     downgrades, heartbeats and expiries, stale replicas.
 * - Invariants: a since never moves back and never passes a hold; a write frontier never moves
 *   back; responses of another epoch change nothing; a dropped row is forgotten only once every
 *   replica acknowledged it (compute: an empty write frontier; storage: `droppedId`); the reduced
 *   history of each workload equals what that workload's legacy history would replay for the
 *   same commands (`state-equivalence.property.test.ts`).
 */
export type {
  ClusterController,
  ClusterControllerStatus,
  ClusterLogIndex,
  ClusterPeekAnswer,
  ClusterPeekRequest,
  ClusterReplicaLocation,
  ClusterSubscribeBatch,
} from "./cluster-controller.js";
export {
  ClusterCommandHistory,
  type ClusterReductionRules,
  PROTOCOL_RULES,
} from "./cluster-history.js";
export { ClusterState } from "./cluster-state.js";
export type {
  CollectionFrontiers,
  CollectionKind,
  Workload,
} from "./collection-table.js";
// --- internal — no semver ---------------------------------------------------------------------
/** @internal */
export { CollectionTable } from "./collection-table.js";
export {
  bindHistoryMetrics,
  type ClusterStateMetrics,
  type ControllerMetrics,
  clusterStateMetrics,
  controllerMetrics,
  HISTORY_COMMAND_COUNT,
  HISTORY_DATAFLOW_COUNT,
  type MetricsConflictOf,
  PEEK_DURATION_BUCKETS,
  type PeekResult,
  type StorageControllerMetrics,
  storageControllerMetrics,
} from "./controller-metrics.js";
export { validateDataflowPlans } from "./dataflow-imports.js";
export {
  DEADLINE_RESOLUTION_MS,
  type Deadline,
  DeadlineQueue,
  type DeadlineQueueOptions,
} from "./deadline-queue.js";
export {
  ClusterStateError,
  CollectionExists,
  CollectionMissing,
  DependantsExist,
  DuplicatePeek,
  InvalidLoggingConfig,
  InvalidStateRequest,
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
export {
  IngestionPlacement,
  ingestionPreference,
  NO_REPLICA_HINT,
  objectIdOf,
  type PlacedObject,
  type PlacementErrors,
  type PlacementMove,
  placedObjectOf,
  REPLICA_DROPPED_HINT,
  type ReplicaPreference,
  SINK_PREFERENCE,
} from "./ingestion-placement.js";
export { LOGGING_DISABLED, type LogIndex, logIndexesOf } from "./log-indexes.js";
export {
  DEFAULT_MAINTENANCE,
  type MaintenanceReport,
  type MaintenanceTuning,
  maintenanceStep,
} from "./maintenance.js";
export { PEEK_STAGES, type PeekStage, PeekStageIndex, PeekTrace } from "./peek-trace.js";
export {
  PoisonQuarantine,
  QUARANTINE_STRIKES,
  type Quarantined,
  SUSPECT_WINDOW_MS,
} from "./poison-quarantine.js";
export { Holder, policyHold, type ReadHold } from "./read-holds.js";
export { computeReduction, type ReductionRule, storageReduction } from "./reduction-rules.js";
export type { ReplicaConnectionHealth, ReplicaHealthRecord } from "./replica-health.js";
/** @internal */
export { ReplicaHealthTable } from "./replica-health.js";
export type { ClusterConnectors } from "./replica-incarnation.js";
/** @internal */
export { computeRules, REPLICA_RULES, type ReplicaRules, storageRules } from "./replica-rules.js";
export {
  type PersistClientLike,
  type PersistSinceHandleLike,
  persistSinceHandleIo,
  type SinceHandleIo,
} from "./since-handle-io.js";
export type { SinceDowngrade, SinceExpiry } from "./since-handles.js";
/** @internal */
export { SinceHandles } from "./since-handles.js";
export type {
  ClusterStateEvent,
  ClusterStateOptions,
  CreateDataflowOptions,
  OutgoingCommand,
} from "./state-io.js";
export { SubscribeSet, type SubscribeSetOptions } from "./subscribe-set.js";
export {
  type SubscribeBatch,
  type SubscribeFailure,
  SubscribeStream,
} from "./subscribe-stream.js";
export { commandTarget, type TargetOf } from "./targeted-commands.js";
export {
  UnifiedClusterController,
  type UnifiedClusterControllerOptions,
} from "./unified-cluster-controller.js";
