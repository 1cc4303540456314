/**
 * Prometheus metrics of the storage controller (materialize.md §4.3; names kept from Materialize),
 * labelled `instance_id` (the cluster) and `replica_id` where per replica: defined once in
 * `@mzts/controller-unified/state` (`controller-metrics.ts`, shared with the unified cluster
 * controller so dashboards do not change with the `state` flag; the series are listed there).
 * One set per registry, shared by every controller that asks for it.
 */
export {
  type StorageControllerMetrics,
  storageControllerMetrics as createStorageControllerMetrics,
} from "@mzts/controller-unified/state";
