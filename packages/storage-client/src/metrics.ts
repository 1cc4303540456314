/**
 * Prometheus metrics of the storage controller (materialize.md §4.3; names kept from Materialize).
 *
 * - `mz_storage_controller_history_command_count{command_type}` (gauge): commands in the command
 *   histories, per kind, summed over the controller's instances. A history *sets* every kind's
 *   value at the end of a reduction (never resets the gauge first), so a scrape never sees a
 *   transiently empty history (materialize.md §2.5), and increments the pushed kind between
 *   reductions. `historyCountsFor(instanceId)` keeps one instance's counts and writes the sum.
 * - `mz_storage_commands_total{command_type}` (counter): commands sent to replicas over the wire
 *   (a replay to a (re)connecting replica counts every replayed command).
 * - `mz_storage_responses_total{response_type}` (counter): responses received from replicas.
 * - `mz_storage_controller_connected_replica_count` (gauge): replica tasks currently connected.
 * - `mz_storage_controller_replica_connects_total` (counter): successful replica connections
 *   (first connections and rehydrations).
 * - `mz_storage_controller_replica_connect_wait_time_seconds_total` (counter): time replica tasks
 *   spent connecting, including backoff.
 *
 * The metric names and labels are the same on the legacy and unified paths (style §18).
 */
import {
  STORAGE_COMMAND_KINDS,
  type StorageCommandKind,
  type StorageHistoryMetrics,
} from "@mzts/protocol";
import { Counter, Gauge, type Registry } from "prom-client";

/** The storage controller's metrics, registered in one registry. */
export interface StorageControllerMetrics {
  /** `mz_storage_controller_history_command_count{command_type}`. */
  readonly historyCommandCount: Gauge<"command_type">;
  /** The history gauge as a `StorageHistoryMetrics` for a single `StorageCommandHistory`. */
  readonly historyCounts: StorageHistoryMetrics;
  /**
   * The counts of one instance's history: the gauge shows the sum over every instance that has
   * counts. Calling it again for the same instance returns the same counts.
   */
  historyCountsFor(instanceId: string): StorageHistoryMetrics;
  /** Removes a dropped instance's counts from the gauge. */
  forgetInstance(instanceId: string): void;
  /** `mz_storage_commands_total{command_type}`. */
  readonly commandsTotal: Counter<"command_type">;
  /** `mz_storage_responses_total{response_type}`. */
  readonly responsesTotal: Counter<"response_type">;
  /** `mz_storage_controller_connected_replica_count`. */
  readonly connectedReplicaCount: Gauge;
  /** `mz_storage_controller_replica_connects_total`. */
  readonly replicaConnectsTotal: Counter;
  /** `mz_storage_controller_replica_connect_wait_time_seconds_total`. */
  readonly replicaConnectWaitSeconds: Counter;
}

/**
 * Registers the storage controller metrics in `registry`. Every history kind's series exists
 * from the start (value 0), so dashboards and tests see `hello = 0` rather than a missing series.
 */
export function createStorageControllerMetrics(registry: Registry): StorageControllerMetrics {
  const historyCommandCount = new Gauge({
    name: "mz_storage_controller_history_command_count",
    help: "The number of commands in the storage controller's command history, by type.",
    labelNames: ["command_type"] as const,
    registers: [registry],
  });
  for (const kind of STORAGE_COMMAND_KINDS) historyCommandCount.set({ command_type: kind }, 0);
  /** Instance id → its history's counts per kind; entries live as long as the controller. */
  const perInstance = new Map<string, Map<StorageCommandKind, number>>();
  const publish = (kind: StorageCommandKind) => {
    let sum = 0;
    for (const counts of perInstance.values()) sum += counts.get(kind) ?? 0;
    historyCommandCount.set({ command_type: kind }, sum);
  };
  const byInstance = new Map<string, StorageHistoryMetrics>();
  return {
    historyCommandCount,
    historyCounts: {
      set: (commandType, count) => historyCommandCount.set({ command_type: commandType }, count),
      inc: (commandType) => historyCommandCount.inc({ command_type: commandType }),
    },
    historyCountsFor(instanceId) {
      const existing = byInstance.get(instanceId);
      if (existing !== undefined) return existing;
      const counts = new Map<StorageCommandKind, number>();
      perInstance.set(instanceId, counts);
      const created: StorageHistoryMetrics = {
        set(kind, count) {
          counts.set(kind, count);
          publish(kind);
        },
        inc(kind) {
          counts.set(kind, (counts.get(kind) ?? 0) + 1);
          publish(kind);
        },
      };
      byInstance.set(instanceId, created);
      return created;
    },
    forgetInstance(instanceId) {
      const counts = perInstance.get(instanceId);
      perInstance.delete(instanceId);
      byInstance.delete(instanceId);
      for (const kind of counts?.keys() ?? []) publish(kind);
    },
    commandsTotal: new Counter({
      name: "mz_storage_commands_total",
      help: "The number of storage commands sent to replicas, by type.",
      labelNames: ["command_type"] as const,
      registers: [registry],
    }),
    responsesTotal: new Counter({
      name: "mz_storage_responses_total",
      help: "The number of storage responses received from replicas, by type.",
      labelNames: ["response_type"] as const,
      registers: [registry],
    }),
    connectedReplicaCount: new Gauge({
      name: "mz_storage_controller_connected_replica_count",
      help: "The number of storage replicas the controller is connected to.",
      registers: [registry],
    }),
    replicaConnectsTotal: new Counter({
      name: "mz_storage_controller_replica_connects_total",
      help: "The number of successful connections to storage replicas (including rehydrations).",
      registers: [registry],
    }),
    replicaConnectWaitSeconds: new Counter({
      name: "mz_storage_controller_replica_connect_wait_time_seconds_total",
      help: "The time storage replica tasks spent connecting, including backoff, in seconds.",
      registers: [registry],
    }),
  };
}
