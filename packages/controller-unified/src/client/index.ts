/**
 * `@mzts/controller-unified/client` — phase 4 (`cluster-unification-client`), reserved.
 *
 * ## Contract (to be filled by phase 4)
 * One `ClusterService` stream and one gRPC client per replica carrying both protocols' commands
 * (`@mzts/protocol` `cluster-command.ts`), behind the same `ReplicaConnector` seam as
 * `./replicas`, so an instance cannot tell one stream from two. Nothing lives here yet: an empty
 * subpath keeps the boundary stable for environmentd's composition root.
 */
export {};
