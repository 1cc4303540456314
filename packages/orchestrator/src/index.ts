/**
 * @mzts/orchestrator — runs replicas: the `Orchestrator` seam environmentd talks to, and its local
 * implementation, one supervised clusterd process per replica that a restarted environmentd adopts.
 */

// internal — no semver
/** @internal */
export {
  backoffDelay,
  DEFAULT_RESTART_BACKOFF,
  nextAttempt,
  type RestartBackoff,
} from "./backoff.js";
export {
  InvalidReplicaSpec,
  OrchestratorClosed,
  OrchestratorError,
  ReplicaDropped,
  ReplicaStartFailed,
  StaleGeneration,
  UnknownReplica,
} from "./errors.js";
export {
  type Orchestrator,
  REPLICA_STATES,
  type ReconcileResult,
  type ReplicaEvent,
  type ReplicaEventListener,
  type ReplicaLocation,
  type ReplicaSpec,
  type ReplicaState,
  type ReplicaStatus,
} from "./orchestrator.js";
export {
  createProcessOrchestrator,
  type ProcessOrchestrator,
  type ProcessOrchestratorOptions,
} from "./process-orchestrator.js";
export { isClusterdFor } from "./process-probe.js";
export { type ReplicaLayout, replicaLayout } from "./replica-layout.js";
/** @internal */
export { loadRecords, type ReplicaRecord, recordsPath } from "./replica-records.js";
