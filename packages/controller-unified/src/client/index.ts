/**
 * `@mzts/controller-unified/client` — phase 4 (`cluster-unification-client`): one
 * `ClusterService` stream, one gRPC client and one TCP connection per replica carrying both
 * protocols' commands (`@mzts/protocol` `cluster-command.ts`), behind the same `ReplicaConnector`
 * seam as `./replicas`, so an instance cannot tell one stream from two.
 *
 * ## Contract
 * - `createClusterStreams()` (one per cluster) hands out the `compute` and `storage` connectors of
 *   the one-port layout; their connections attach to the replica's shared stream as
 *   sub-protocols (`replica-stream.ts`: the attach protocol). Its `cluster` connector is the
 *   unified cluster controller's (phase 5): both sub-protocols under one epoch
 *   (`cluster-connection.ts`).
 * - A replica that does not serve `ClusterService` (the two-port layout) fails the stream with
 *   `ReplicaLayoutMismatch` (the root entry exports it), shown in the replica's status.
 * - It never imports a `-client` package.
 */
export { ClusterConnection } from "./cluster-connection.js";
export {
  type ClusterStreams,
  type ClusterStreamsOptions,
  createClusterStreams,
} from "./cluster-streams.js";
export { ReplicaStream } from "./replica-stream.js";
export { SubConnection } from "./sub-connection.js";
export {
  computeSubProtocol,
  type SubProtocol,
  type SubProtocolKind,
  storageSubProtocol,
} from "./sub-protocol.js";
