/**
 * `@mzts/controller-unified/replicas` — phase 3 (`cluster-unification-replicas`), the controller
 * side: how a controller instance talks to one replica incarnation, for compute and storage alike.
 *
 * ## Contract
 * - Today: the `ReplicaConnection<C, R>` seam, its options and tuning, the `ReplicaConnector<C, R>`
 *   factory type both `-client` controllers take per instance, the one reconnect backoff and the
 *   abortable sleep between attempts. The legacy implementations live in
 *   `compute-client/src/legacy/replica-task.ts` and `storage-client/src/legacy/replica-task.ts`.
 * - Phase 3 adds here the unified replica task (one loop for both protocols: backoff, replay of
 *   the protocol's command history from `@mzts/protocol`, rehydration) implementing this seam.
 *   It never imports a `-client` package.
 */
export { sleep } from "./abortable-sleep.js";
export { type Backoff, backoffDelayMs, checkBackoff, DEFAULT_BACKOFF } from "./backoff.js";
export type {
  ReplicaConnection,
  ReplicaConnectionOptions,
  ReplicaConnectionState,
  ReplicaConnectionTuning,
  ReplicaConnector,
} from "./replica-connection.js";
