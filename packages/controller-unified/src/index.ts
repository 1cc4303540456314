/**
 * @mzts/controller-unified — the unified controller side of cluster unification (phases 3–5).
 * The root entry re-exports what is real today (`./replicas`: the seam and the unified replica
 * task) and the package's errors;
 * each phase's content lives behind its subpath: `./replicas` (phase 3), `./client` (phase 4),
 * `./state` (phase 5). It depends on `@mzts/protocol` and never on a `-client` package.
 */
export {
  InvalidBackoff,
  InvalidLoggingConfig,
  LogImportUntargeted,
  LogPeekUntargeted,
  MetricsConflict,
  PeekCanceled,
  PeekFailed,
  PeekTimeout,
  type ReplicaLayout,
  ReplicaLayoutMismatch,
  ReplicaStreamEnded,
  SubscribeFailed,
  UnifiedControllerError,
} from "./errors.js";
export {
  type Backoff,
  backoffDelayMs,
  type ControlService,
  checkBackoff,
  createRehydrationPolicy,
  createReplicaTaskConnector,
  DEFAULT_BACKOFF,
  DEFAULT_REHYDRATION,
  type RehydrationClock,
  type RehydrationPolicy,
  type RehydrationTuning,
  type ReplicaConnection,
  type ReplicaConnectionOptions,
  type ReplicaConnectionState,
  type ReplicaConnectionTuning,
  type ReplicaConnector,
  type ReplicaProtocol,
  ReplicaRehydration,
  ReplicaTask,
  type ReplicaTaskConnectorOptions,
  sleep,
  UNIFIED_TUNING,
} from "./replicas/index.js";
