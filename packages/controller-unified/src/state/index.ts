/**
 * `@mzts/controller-unified/state` — phase 5 (`cluster-unification-state`), reserved.
 *
 * ## Contract (to be filled by phase 5)
 * One controller state per cluster: a single command history (compute + storage from
 * `@mzts/protocol`), one set of collections with their frontiers and read holds, replacing the
 * two `-client` instances of a cluster. Nothing lives here yet: an empty subpath keeps the
 * boundary stable for environmentd's composition root.
 */
export {};
