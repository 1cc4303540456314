/**
 * `@mzts/controller-unified/replicas` — phase 3 (`cluster-unification-replicas`), the controller
 * side: how a controller instance talks to one replica incarnation, for compute and storage alike.
 *
 * ## Contract
 * - The `ReplicaConnection<C, R>` seam, its options and tuning, the `ReplicaConnector<C, R>`
 *   factory type both `-client` controllers take per instance, the one reconnect backoff and the
 *   abortable sleep between attempts (`RetryKick`: cut short when the replica is seen starting).
 * - The unified replica task (`ReplicaTask`, `createReplicaTaskConnector`): one loop for every
 *   workload, generic over a `ReplicaProtocol` the workload provides (compute-client's and
 *   storage-client's `replica-protocol.ts`), with the one rehydration policy its connector carries
 *   (`createRehydrationPolicy`). The legacy implementations live in
 *   `compute-client/src/legacy/replica-task.ts` and `storage-client/src/legacy/replica-task.ts`.
 * - It never imports a `-client` package.
 */
export { sleep } from "./abortable-sleep.js";
export { type Backoff, backoffDelayMs, checkBackoff, DEFAULT_BACKOFF } from "./backoff.js";
export { codeOfHttpStatus, type GrpcBidiLimits, grpcBidi } from "./grpc-bidi.js";
export {
  isRefusedStream,
  refusedAsUnavailable,
  refusedStreamIsUnavailable,
} from "./refused-stream.js";
export {
  createRehydrationPolicy,
  DEFAULT_REHYDRATION,
  type RehydrationClock,
  type RehydrationPolicy,
  type RehydrationTuning,
  ReplicaRehydration,
} from "./rehydration.js";
export type {
  ReplicaConnection,
  ReplicaConnectionOptions,
  ReplicaConnectionState,
  ReplicaConnectionTuning,
  ReplicaConnector,
} from "./replica-connection.js";
export type { ControlService, ReplicaProtocol } from "./replica-protocol.js";
export {
  createReplicaTaskConnector,
  ReplicaTask,
  type ReplicaTaskConnectorOptions,
  UNIFIED_TUNING,
} from "./replica-task.js";
export { RetryKick } from "./retry-kick.js";
export { SEND_BATCH_MAX, SendCoalescer } from "./send-coalescer.js";
