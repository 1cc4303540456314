/**
 * @mzts/controller-unified — the unified controller side of cluster unification (phases 3–5).
 * The root entry re-exports what is real today (the `./replicas` seam) and the package's errors;
 * each phase's content lives behind its subpath: `./replicas` (phase 3), `./client` (phase 4),
 * `./state` (phase 5). It depends on `@mzts/protocol` and never on a `-client` package.
 */
export { InvalidBackoff, UnifiedControllerError } from "./errors.js";
export {
  type Backoff,
  backoffDelayMs,
  checkBackoff,
  DEFAULT_BACKOFF,
  type ReplicaConnection,
  type ReplicaConnectionOptions,
  type ReplicaConnectionState,
  type ReplicaConnectionTuning,
  type ReplicaConnector,
  sleep,
} from "./replicas/index.js";
