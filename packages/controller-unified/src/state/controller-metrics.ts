/**
 * The controllers' Prometheus series, defined once for every path (style §18: names and labels
 * are the same legacy and unified): compute-client's and storage-client's controllers and the
 * unified cluster controller (`driver-metrics.ts`) take them from here, created once per registry
 * and shared, so one environment registry holds one set however its clusters are driven.
 *
 * ## Compute: the command history (materialize.md §2.5, §8)
 *
 * - `mz_compute_controller_history_command_count{command_type, …labels}`: commands in the
 *   history, per kind (every kind has a series, 0 when absent).
 * - `mz_compute_controller_history_dataflow_count{…labels}`: `createDataflow` commands in the
 *   history.
 *
 * The gauges of one registry are created once and shared by every history attached to it; each
 * history writes its own series, told apart by the extra labels it was attached with (e.g.
 * `{instance_id: "u1"}`). Values are only ever *set* to the new count, never reset first, so a
 * scrape sees either the old or the new value and never a transiently empty history.
 *
 * The controller's own metrics (`ControllerMetrics`, materialize.md §4.2), labelled
 * `instance_id` (and `replica_id` where per replica):
 * - `mz_compute_commands_total{command_type}`: commands sent to replicas (per replica);
 * - `mz_compute_responses_total{response_type}`: responses received from replicas (per replica);
 * - `mz_compute_controller_replica_connects_total`: successful connections (per replica);
 * - `mz_compute_controller_replica_connect_wait_time_seconds_total`: time from an incarnation's
 *   start to its connection, backoff included (per replica);
 * - `mz_compute_controller_connected_replica_count`: replicas connected now;
 * - `mz_compute_controller_replica_count`, `…_peek_count`, `…_subscribe_count`,
 *   `…_collection_count`: state sizes;
 * - `mz_compute_peeks_total{result=rows|error|canceled}` and
 *   `mz_compute_peek_duration_seconds{result}` (buckets 0.5 ms … 32 s, powers of two).
 *
 * ## Storage (materialize.md §4.3; `storageControllerMetrics`)
 * `mz_storage_controller_history_command_count{instance_id, command_type}`,
 * `mz_storage_commands_total` / `mz_storage_responses_total{instance_id, replica_id, …_type}`,
 * `mz_storage_controller_connected_replica_count{instance_id}`,
 * `mz_storage_controller_replica_connects_total` and
 * `…_replica_connect_wait_time_seconds_total{instance_id, replica_id}`.
 *
 * ## Cluster state (phase 5; `clusterStateMetrics`)
 * `mz_cluster_state_collections{instance_id}` (compute and storage rows of the one table) and
 * `mz_cluster_state_history_commands{instance_id}` (commands of the one history).
 */
import {
  COMPUTE_COMMAND_KINDS,
  type ComputeCommandKind,
  type ComputeHistoryMetrics,
  STORAGE_COMMAND_KINDS,
  type StorageHistoryMetrics,
} from "@mzts/protocol";
import { Counter, Gauge, type Registry } from "prom-client";
import { PeekOutcomeMetrics } from "./peek-outcome-metrics.js";

export { PEEK_DURATION_BUCKETS, type PeekResult } from "./peek-outcome-metrics.js";

/** Builds the caller's `MetricsConflict` (a name registered by other code, other labels). */
export type MetricsConflictOf = (metricName: string, reason: string) => Error;

/** Metric name of the per-kind history gauge. */
export const HISTORY_COMMAND_COUNT = "mz_compute_controller_history_command_count";
/** Metric name of the history dataflow gauge. */
export const HISTORY_DATAFLOW_COUNT = "mz_compute_controller_history_dataflow_count";

/** The two shared gauges of one registry and the extra label names they were created with. */
interface HistoryGauges {
  readonly commandCount: Gauge<string>;
  readonly dataflowCount: Gauge<string>;
  /** Sorted extra label names (without `command_type`). */
  readonly labelNames: readonly string[];
  /**
   * The sinks with command counts not yet written into `commandCount`: a history push sets its
   * kind's count (~1,000 a second at 1,000 idle indexes, issue 16), and writing a labelled gauge
   * costs ~2 µs of label hashing, so the counts are written when the gauge is read (its
   * `collect`, which prom-client runs before every read).
   */
  readonly unwritten: Set<() => void>;
}

/** Gauges created by this module, per registry (a registry refuses a name twice). */
const gaugesByRegistry = new WeakMap<Registry, HistoryGauges>();

/**
 * The history gauges of `registry` with extra label names `labelNames`, created on first use.
 * @throws MetricsConflict when the names are registered by other code, or with other labels.
 */
function historyGauges(
  registry: Registry,
  labelNames: readonly string[],
  conflict: MetricsConflictOf,
): HistoryGauges {
  const sorted = [...labelNames].sort();
  if (sorted.includes("command_type")) {
    throw conflict(HISTORY_COMMAND_COUNT, "command_type is set by the history itself");
  }
  const existing = gaugesByRegistry.get(registry);
  if (existing !== undefined) {
    if (existing.labelNames.join(",") !== sorted.join(",")) {
      throw conflict(
        HISTORY_COMMAND_COUNT,
        `it has extra labels [${existing.labelNames.join(", ")}], not [${sorted.join(", ")}]`,
      );
    }
    return existing;
  }
  for (const name of [HISTORY_COMMAND_COUNT, HISTORY_DATAFLOW_COUNT]) {
    if (registry.getSingleMetric(name) !== undefined) {
      throw conflict(name, "it was registered by other code");
    }
  }
  const unwritten = new Set<() => void>();
  const gauges: HistoryGauges = {
    commandCount: new Gauge({
      name: HISTORY_COMMAND_COUNT,
      help: "The number of commands in the compute controller's command history, by type.",
      labelNames: ["command_type", ...sorted],
      registers: [registry],
      collect() {
        for (const write of unwritten) write();
        unwritten.clear();
      },
    }),
    dataflowCount: new Gauge({
      name: HISTORY_DATAFLOW_COUNT,
      help: "The number of dataflows in the compute controller's command history.",
      labelNames: sorted,
      registers: [registry],
    }),
    labelNames: sorted,
    unwritten,
  };
  gaugesByRegistry.set(registry, gauges);
  return gauges;
}

/**
 * A sink writing one history's series, labelled with `labels`, into `registry`. Every kind's
 * series is created at 0 (unless the caller sets it right away), so dashboards see `hello = 0`
 * rather than a missing series.
 * @throws MetricsConflict when the gauges exist with other label names or were made elsewhere.
 */
export function bindHistoryMetrics(
  registry: Registry,
  labels: Readonly<Record<string, string>>,
  conflict: MetricsConflictOf,
): ComputeHistoryMetrics {
  const gauges = historyGauges(registry, Object.keys(labels), conflict);
  const base = { ...labels };
  // Counts set since the gauge was last read (see `HistoryGauges.unwritten`).
  const counts = new Map<ComputeCommandKind, number>();
  const write = () => {
    for (const [kind, count] of counts)
      gauges.commandCount.set({ ...base, command_type: kind }, count);
    counts.clear();
  };
  return {
    setCommandCount: (kind, count) => {
      counts.set(kind, count);
      gauges.unwritten.add(write);
    },
    setDataflowCount: (count) => gauges.dataflowCount.set(base, count),
    remove: () => {
      // Nothing unwritten may bring the series back.
      counts.clear();
      gauges.unwritten.delete(write);
      for (const kind of COMPUTE_COMMAND_KINDS) {
        gauges.commandCount.remove({ ...base, command_type: kind });
      }
      gauges.dataflowCount.remove(base);
    },
  };
}

/** The compute controller's metrics in one registry (created once per registry, shared). */
export interface ControllerMetrics {
  readonly commandsTotal: Counter<"instance_id" | "replica_id" | "command_type">;
  readonly responsesTotal: Counter<"instance_id" | "replica_id" | "response_type">;
  readonly replicaConnectsTotal: Counter<"instance_id" | "replica_id">;
  /** Seconds incarnations spent from their start until connected (backoff included). */
  readonly replicaConnectWaitSeconds: Counter<"instance_id" | "replica_id">;
  readonly connectedReplicaCount: Gauge<"instance_id">;
  readonly replicaCount: Gauge<"instance_id">;
  readonly peekCount: Gauge<"instance_id">;
  readonly subscribeCount: Gauge<"instance_id">;
  readonly collectionCount: Gauge<"instance_id">;
  /**
   * `mz_compute_peeks_total` and `mz_compute_peek_duration_seconds`, in plain numbers until
   * scraped (`peek-outcome-metrics.ts`).
   */
  readonly peeks: PeekOutcomeMetrics;
  /**
   * Adds a source run whenever `peekCount`, `commandsTotal` or `responsesTotal` is read (a
   * scrape), before the values are: compute-client's instances and the unified driver set their
   * `peekCount` series and add the commands (and the driver its dropped peek answers) counted
   * since (issue 16: a peek set five labelled gauges at its start and settle, and counted a
   * labelled command per replica at each send). A source must be idempotent (it may run twice
   * a scrape). Returns the removal, which runs the source a last time (the series keep their
   * last values, as eagerly set ones would).
   */
  addScrapeSource(source: () => void): () => void;
}

const controllerMetricsByRegistry = new WeakMap<Registry, ControllerMetrics>();

/**
 * The controller metrics of `registry`, created on first use.
 * @throws MetricsConflict when one of the names was registered by other code.
 */
export function controllerMetrics(
  registry: Registry,
  conflict: MetricsConflictOf,
): ControllerMetrics {
  const existing = controllerMetricsByRegistry.get(registry);
  if (existing !== undefined) return existing;
  const names = [
    "mz_compute_commands_total",
    "mz_compute_responses_total",
    "mz_compute_controller_replica_connects_total",
    "mz_compute_controller_replica_connect_wait_time_seconds_total",
    "mz_compute_controller_connected_replica_count",
    "mz_compute_controller_replica_count",
    "mz_compute_controller_peek_count",
    "mz_compute_controller_subscribe_count",
    "mz_compute_controller_collection_count",
    "mz_compute_peeks_total",
    "mz_compute_peek_duration_seconds",
  ];
  for (const name of names) {
    if (registry.getSingleMetric(name) !== undefined) {
      throw conflict(name, "it was registered by other code");
    }
  }
  const registers = [registry];
  const gauge = (name: string, help: string) =>
    new Gauge({ name, help, labelNames: ["instance_id"] as const, registers });
  const scrapeSources = new Set<() => void>();
  const collect = () => {
    for (const source of scrapeSources) source();
  };
  const metrics: ControllerMetrics = {
    commandsTotal: new Counter({
      name: "mz_compute_commands_total",
      help: "The number of compute commands sent to replicas, by type.",
      labelNames: ["instance_id", "replica_id", "command_type"] as const,
      registers,
      collect,
    }),
    responsesTotal: new Counter({
      name: "mz_compute_responses_total",
      help: "The number of compute responses received from replicas, by type.",
      labelNames: ["instance_id", "replica_id", "response_type"] as const,
      registers,
      collect,
    }),
    replicaConnectsTotal: new Counter({
      name: "mz_compute_controller_replica_connects_total",
      help: "The number of successful connections to a replica.",
      labelNames: ["instance_id", "replica_id"] as const,
      registers,
    }),
    replicaConnectWaitSeconds: new Counter({
      name: "mz_compute_controller_replica_connect_wait_time_seconds_total",
      help: "The time spent waiting for replica (re-)connections, backoff included.",
      labelNames: ["instance_id", "replica_id"] as const,
      registers,
    }),
    connectedReplicaCount: gauge(
      "mz_compute_controller_connected_replica_count",
      "The number of replicas the controller is connected to.",
    ),
    replicaCount: gauge("mz_compute_controller_replica_count", "The number of replicas."),
    peekCount: new Gauge({
      name: "mz_compute_controller_peek_count",
      help: "The number of pending peeks.",
      labelNames: ["instance_id"] as const,
      registers,
      collect,
    }),
    subscribeCount: gauge(
      "mz_compute_controller_subscribe_count",
      "The number of active subscribes.",
    ),
    collectionCount: gauge(
      "mz_compute_controller_collection_count",
      "The number of collections the controller tracks.",
    ),
    peeks: new PeekOutcomeMetrics(registry),
    addScrapeSource(source) {
      scrapeSources.add(source);
      return () => {
        source();
        scrapeSources.delete(source);
      };
    },
  };
  controllerMetricsByRegistry.set(registry, metrics);
  return metrics;
}

type ReplicaLabels = "instance_id" | "replica_id";

/** The storage controller's metrics, registered in one registry. */
export interface StorageControllerMetrics {
  /** `mz_storage_controller_history_command_count{instance_id, command_type}`. */
  readonly historyCommandCount: Gauge<"instance_id" | "command_type">;
  /**
   * The history gauge's series of one instance, as the `StorageHistoryMetrics` its history
   * writes to. Calling it again for the same instance returns the same sink.
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

const storageMetricsByRegistry = new WeakMap<Registry, StorageControllerMetrics>();

/** The storage controller metrics of `registry`, created on first use (then shared). */
export function storageControllerMetrics(registry: Registry): StorageControllerMetrics {
  const existing = storageMetricsByRegistry.get(registry);
  if (existing !== undefined) return existing;
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
  const metrics: StorageControllerMetrics = {
    historyCommandCount,
    historyCountsFor(instanceId) {
      const found = byInstance.get(instanceId);
      if (found !== undefined) return found;
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
  storageMetricsByRegistry.set(registry, metrics);
  return metrics;
}

/** The cluster state's own gauges (phase 5), per cluster (`instance_id`). */
export interface ClusterStateMetrics {
  /** `mz_cluster_state_collections{instance_id}`: rows of the one collection table. */
  readonly collections: Gauge<"instance_id">;
  /** `mz_cluster_state_history_commands{instance_id}`: commands of the one history. */
  readonly historyCommands: Gauge<"instance_id">;
}

const clusterStateMetricsByRegistry = new WeakMap<Registry, ClusterStateMetrics>();

/** The cluster state gauges of `registry`, created on first use (then shared). */
export function clusterStateMetrics(registry: Registry): ClusterStateMetrics {
  const existing = clusterStateMetricsByRegistry.get(registry);
  if (existing !== undefined) return existing;
  const registers = [registry];
  const metrics: ClusterStateMetrics = {
    collections: new Gauge({
      name: "mz_cluster_state_collections",
      help: "The collections (compute and storage) of a cluster's one controller state.",
      labelNames: ["instance_id"] as const,
      registers,
    }),
    historyCommands: new Gauge({
      name: "mz_cluster_state_history_commands",
      help: "The commands (compute and storage) of a cluster's one command history.",
      labelNames: ["instance_id"] as const,
      registers,
    }),
  };
  clusterStateMetricsByRegistry.set(registry, metrics);
  return metrics;
}
