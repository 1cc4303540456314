/**
 * Which replica task each replica's connections run, read from environmentd's metrics
 * (`mz_controller_replica_task`, environmentd `environment/stages/replica-task-metric.ts`): the
 * evidence that a `replicas` migration splits a cluster per replica task (`stage-run.ts`, e2e
 * `migration-stages.e2e.test.ts`). A replica is written `<replica id> <workload> <task>`, one per
 * connected series (`×n` when more than one connection of it is up).
 */
import { parseMetrics, type Sample } from "../harness/environment.js";

/**
 * The connected replica tasks of instance (cluster) `instanceId`, sorted, from scraped samples or
 * the metrics text.
 */
export function connectedReplicaTasks(
  metrics: readonly Sample[] | string,
  instanceId: string,
): string[] {
  return (typeof metrics === "string" ? parseMetrics(metrics) : metrics)
    .filter(
      (s) =>
        s.name === "mz_controller_replica_task" &&
        s.labels.instance_id === instanceId &&
        s.value > 0,
    )
    .map(
      ({ labels: l, value }) =>
        `${l.replica_id} ${l.workload} ${l.task}${value > 1 ? ` ×${value}` : ""}`,
    )
    .sort();
}

/** What `connectedReplicaTasks` shows when each replica's compute and storage run its `task`. */
export function expectedReplicaTasks(
  replicas: ReadonlyArray<{ readonly id: string; readonly task: string }>,
): string[] {
  return replicas
    .flatMap(({ id, task }) => [`${id} compute ${task}`, `${id} storage ${task}`])
    .sort();
}
