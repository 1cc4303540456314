/**
 * Which replica task each replica's connection runs, as a Prometheus series (issue 15: the
 * per-replica task of a `replicas` migration, observed from outside):
 *
 * | Metric                      | Type  | Labels                                        |
 * | --------------------------- | ----- | --------------------------------------------- |
 * | `mz_controller_replica_task` | gauge | `instance_id`, `replica_id`, `workload`, `task` |
 *
 * `workload`: `compute` or `storage` (the two-port layout's per-workload connections); `task`:
 * `legacy` (compute-client's / storage-client's replica task) or `unified` (controller-unified's
 * `ReplicaTask`). The value is the number of that replica's connections through that task that
 * are connected now: 1 while the replica is connected, 0 once it failed or was closed. A
 * one-port replica (phase `client`) rides the cluster's shared stream, not these connectors,
 * and has no series here.
 *
 * ## Invariants
 * - A series moves only on the connection's own events (`onConnected`; `onFailed` or `close`
 *   after it), so it says what ran, not what was chosen.
 * - A connection counts at most once, and is uncounted at most once, whatever the order of its
 *   failure and its close.
 * - The wrapped connector keeps the task's `rehydration` policy.
 * - Registering twice on one registry reuses the gauge.
 */
import type { ReplicaConnection, ReplicaConnector } from "@mzts/controller-unified";
import type { PhasePath } from "@mzts/flags";
import { Gauge, type Registry } from "prom-client";

/** The gauge's name. */
export const REPLICA_TASK_METRIC = "mz_controller_replica_task";

/** A per-workload connection of a two-port replica. */
export type ReplicaWorkload = "compute" | "storage";

type Labels = "instance_id" | "replica_id" | "workload" | "task";

/** The `mz_controller_replica_task` gauge of one registry (see the file comment). */
export class ReplicaTaskMetric {
  readonly #gauge: Gauge<Labels>;

  constructor(registry: Registry) {
    this.#gauge =
      (registry.getSingleMetric(REPLICA_TASK_METRIC) as Gauge<Labels> | undefined) ??
      new Gauge({
        name: REPLICA_TASK_METRIC,
        help: "Connected connections of a replica through each replica task (legacy or unified), per workload.",
        labelNames: ["instance_id", "replica_id", "workload", "task"] as const,
        registers: [registry],
      });
  }

  /** `connector`, counting each of its connections in the gauge while it is connected. */
  observe<C, R>(
    workload: ReplicaWorkload,
    task: PhasePath,
    connector: ReplicaConnector<C, R>,
  ): ReplicaConnector<C, R> {
    const gauge = this.#gauge;
    const connect: ReplicaConnector<C, R> = (o) => {
      const labels = { instance_id: o.instanceId, replica_id: o.replicaId, workload, task };
      let counted = false;
      const uncount = () => {
        if (!counted) return;
        counted = false;
        gauge.dec(labels);
      };
      const inner: ReplicaConnection<C, R> = connector({
        ...o,
        onConnected: (epoch) => {
          if (!counted) {
            counted = true;
            gauge.inc(labels);
          }
          o.onConnected(epoch);
        },
        onFailed: (epoch, error) => {
          uncount();
          o.onFailed(epoch, error);
        },
      });
      return {
        get epoch() {
          return inner.epoch;
        },
        get state() {
          return inner.state;
        },
        send: (commands) => inner.send(commands),
        // Forwarded, or a restarted replica waits out the rest of its task's backoff (up to 1 s)
        // instead of being tried the moment the orchestrator sees it serving.
        retryNow: () => inner.retryNow?.(),
        close: async () => {
          try {
            await inner.close();
          } finally {
            uncount();
          }
        },
      };
    };
    const rehydration = connector.rehydration;
    return rehydration === undefined ? connect : Object.assign(connect, { rehydration });
  }
}
