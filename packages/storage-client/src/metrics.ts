/**
 * Prometheus metrics of the storage controller (materialize.md §4.3; names kept from Materialize),
 * labelled like the compute controller's: `instance_id` (the cluster), and `replica_id` where per
 * replica, so one environment's clusters can be told apart (e.g. an evaluation's baseline and
 * candidate clusters, `e2e/src/evaluate`).
 *
 * - `mz_storage_controller_history_command_count{instance_id, command_type}` (gauge): commands in
 *   one instance's command history, per kind. A history *sets* every kind's value at the end of a
 *   reduction (never resets the gauge first), so a scrape never sees a transiently empty history
 *   (materialize.md §2.5), and increments the pushed kind between reductions. Every kind's series
 *   exists (0) from the moment an instance's counts are bound (`historyCountsFor`);
 *   `forgetInstance` removes them.
 * - `mz_storage_commands_total{instance_id, replica_id, command_type}` (counter): commands sent to
 *   replicas over the wire (a replay to a (re)connecting replica counts every replayed command).
 * - `mz_storage_responses_total{instance_id, replica_id, response_type}` (counter): responses
 *   received from replicas.
 * - `mz_storage_controller_connected_replica_count{instance_id}` (gauge): replica tasks connected.
 * - `mz_storage_controller_replica_connects_total{instance_id, replica_id}` (counter): successful
 *   replica connections (first connections and rehydrations).
 * - `mz_storage_controller_replica_connect_wait_time_seconds_total{instance_id, replica_id}`
 *   (counter): time replica tasks spent connecting, including backoff.
 *
 * The metric names and labels are the same on the legacy and unified paths (style §18).
 */
import { STORAGE_COMMAND_KINDS, type StorageHistoryMetrics } from "@mzts/protocol";
import { Counter, Gauge, type Registry } from "prom-client";

type ReplicaLabels = "instance_id" | "replica_id";

/** The storage controller's metrics, registered in one registry. */
export interface StorageControllerMetrics {
  /** `mz_storage_controller_history_command_count{instance_id, command_type}`. */
  readonly historyCommandCount: Gauge<"instance_id" | "command_type">;
  /**
   * The history gauge's series of one instance, as the `StorageHistoryMetrics` its
   * `StorageCommandHistory` writes to. Calling it again for the same instance returns the same
   * sink.
   */
  historyCountsFor(instanceId: string): StorageHistoryMetrics;
  /** Removes a dropped instance's series (history and connected gauge). */
  forgetInstance(instanceId: string): void;
  /** `mz_storage_commands_total{instance_id, replica_id, command_type}`. */
  readonly commandsTotal: Counter<ReplicaLabels | "command_type">;
  /** `mz_storage_responses_total{instance_id, replica_id, response_type}`. */
  readonly responsesTotal: Counter<ReplicaLabels | "response_type">;
  /** `mz_storage_controller_connected_replica_count{instance_id}`. */
  readonly connectedReplicaCount: Gauge<"instance_id">;
  /** `mz_storage_controller_replica_connects_total{instance_id, replica_id}`. */
  readonly replicaConnectsTotal: Counter<ReplicaLabels>;
  /** `mz_storage_controller_replica_connect_wait_time_seconds_total{instance_id, replica_id}`. */
  readonly replicaConnectWaitSeconds: Counter<ReplicaLabels>;
}

/** Registers the storage controller metrics in `registry`. */
export function createStorageControllerMetrics(registry: Registry): StorageControllerMetrics {
  const registers = [registry];
  const historyCommandCount = new Gauge({
    name: "mz_storage_controller_history_command_count",
    help: "The number of commands in the storage controller's command history, by type.",
    labelNames: ["instance_id", "command_type"] as const,
    registers,
  });
  const connectedReplicaCount = new Gauge({
    name: "mz_storage_controller_connected_replica_count",
    help: "The number of storage replicas the controller is connected to.",
    labelNames: ["instance_id"] as const,
    registers,
  });
  const byInstance = new Map<string, StorageHistoryMetrics>();
  return {
    historyCommandCount,
    historyCountsFor(instanceId) {
      const existing = byInstance.get(instanceId);
      if (existing !== undefined) return existing;
      for (const kind of STORAGE_COMMAND_KINDS) {
        historyCommandCount.set({ instance_id: instanceId, command_type: kind }, 0);
      }
      const created: StorageHistoryMetrics = {
        set: (kind, count) =>
          historyCommandCount.set({ instance_id: instanceId, command_type: kind }, count),
        inc: (kind) => historyCommandCount.inc({ instance_id: instanceId, command_type: kind }),
      };
      byInstance.set(instanceId, created);
      return created;
    },
    forgetInstance(instanceId) {
      byInstance.delete(instanceId);
      for (const kind of STORAGE_COMMAND_KINDS) {
        historyCommandCount.remove({ instance_id: instanceId, command_type: kind });
      }
      connectedReplicaCount.remove({ instance_id: instanceId });
    },
    commandsTotal: new Counter({
      name: "mz_storage_commands_total",
      help: "The number of storage commands sent to replicas, by type.",
      labelNames: ["instance_id", "replica_id", "command_type"] as const,
      registers,
    }),
    responsesTotal: new Counter({
      name: "mz_storage_responses_total",
      help: "The number of storage responses received from replicas, by type.",
      labelNames: ["instance_id", "replica_id", "response_type"] as const,
      registers,
    }),
    connectedReplicaCount,
    replicaConnectsTotal: new Counter({
      name: "mz_storage_controller_replica_connects_total",
      help: "The number of successful connections to storage replicas (including rehydrations).",
      labelNames: ["instance_id", "replica_id"] as const,
      registers,
    }),
    replicaConnectWaitSeconds: new Counter({
      name: "mz_storage_controller_replica_connect_wait_time_seconds_total",
      help: "The time storage replica tasks spent connecting, including backoff, in seconds.",
      labelNames: ["instance_id", "replica_id"] as const,
      registers,
    }),
  };
}
