/**
 * clusterd's Prometheus metrics. Names are the same on the unified and legacy paths (style §18),
 * so an evaluation compares like with like; the active path is only announced by
 * `mz_cluster_unification_phase_enabled{phase}` and an info log.
 */
import type { ClusterRuntime, RuntimeLogging } from "@mzts/mz-cluster";
import { Counter, Gauge, Registry } from "prom-client";

export interface ClusterdMetrics {
  readonly registry: Registry;
  readonly phaseEnabled: Gauge<"phase">;
  readonly commands: Counter<"workload" | "command_type">;
  readonly responses: Counter<"workload" | "response_type">;
  readonly connections: Counter<"workload">;
  readonly streamErrors: Counter<"workload" | "code">;
  readonly lastCommandReceived: Gauge<"server_name">;
  /** Open HTTP/2 (TCP) connections on a controller port, by port ("compute", "storage", "cluster"). */
  readonly transportConnections: Gauge<"server_name">;
  /** Open controller streams (RPCs) on a controller port, by port. */
  readonly controllerStreams: Gauge<"server_name">;
}

export function createMetrics(): ClusterdMetrics {
  const registry = new Registry();
  return {
    registry,
    phaseEnabled: new Gauge({
      name: "mz_cluster_unification_phase_enabled",
      help: "1 when the cluster-unification phase is in force on this replica (read at start)",
      labelNames: ["phase"],
      registers: [registry],
    }),
    commands: new Counter({
      name: "mz_cluster_commands_total",
      help: "Controller commands received, by workload and command type",
      labelNames: ["workload", "command_type"],
      registers: [registry],
    }),
    responses: new Counter({
      name: "mz_cluster_responses_total",
      help: "Merged responses sent to controllers, by workload and response type",
      labelNames: ["workload", "response_type"],
      registers: [registry],
    }),
    connections: new Counter({
      name: "mz_cluster_controller_connections_total",
      help: "Controller connections accepted (hello passed the checks)",
      labelNames: ["workload"],
      registers: [registry],
    }),
    streamErrors: new Counter({
      name: "mz_cluster_stream_errors_total",
      help: "Controller streams ended with an error, by Connect code (fenced, superseded, protocol violations)",
      labelNames: ["workload", "code"],
      registers: [registry],
    }),
    lastCommandReceived: new Gauge({
      name: "mz_grpc_server_last_command_received",
      help: "Unix time (s) of the last command received from a controller",
      labelNames: ["server_name"],
      registers: [registry],
    }),
    transportConnections: new Gauge({
      name: "mz_cluster_controller_transport_connections",
      help: "Open HTTP/2 (TCP) connections on a controller port: compute and storage (two ports) or cluster (one)",
      labelNames: ["server_name"],
      registers: [registry],
    }),
    controllerStreams: new Gauge({
      name: "mz_cluster_controller_streams",
      help: "Open controller streams on a controller port: compute and storage (two ports) or cluster (one, carrying both)",
      labelNames: ["server_name"],
      registers: [registry],
    }),
  };
}

/** The introspection workloads counted by `mz_cluster_introspection_events_total`. */
const LOG_WORKLOADS = ["compute", "storage"] as const;

/**
 * Introspection (phase 2) metrics, read at scrape time from the hosting runtime's totals:
 * - `mz_cluster_introspection_events_total{workload}`: events applied to the log indexes, by the
 *   workload that raised them (storage's arrive forwarded);
 * - `mz_cluster_introspection_log_records`: records held by the log indexes (all workers).
 * `logging()` gives the compute runtime's `logging` (undefined: nothing logged through
 * `mz-cluster`, both stay 0).
 */
/**
 * `mz_cluster_worker_heap_used_bytes{workload, worker}`: each worker thread's V8 heap in use, as
 * the runtime last heard it (every 5 s). Worker heaps are isolates of their own, absent from the
 * process's `nodejs_heap_*`; the soak reads this to tell a worker's growth from native memory.
 * Runtimes that do not report (the legacy servers) have no series.
 */
export function registerWorkerHeapMetrics(
  registry: Registry,
  runtimes: {
    readonly compute: Pick<ClusterRuntime<unknown, unknown>, "workerHeapBytes">;
    readonly storage: Pick<ClusterRuntime<unknown, unknown>, "workerHeapBytes">;
  },
): void {
  new Gauge({
    name: "mz_cluster_worker_heap_used_bytes",
    help: "V8 heap in use of each worker thread, by workload (reported every 5 s)",
    labelNames: ["workload", "worker"],
    registers: [registry],
    collect() {
      for (const workload of ["compute", "storage"] as const) {
        const bytes = runtimes[workload].workerHeapBytes?.() ?? [];
        for (const [w, b] of bytes.entries()) this.set({ workload, worker: String(w) }, b);
      }
    },
  });
}

export function registerIntrospectionMetrics(
  registry: Registry,
  logging: () => RuntimeLogging | undefined,
): void {
  const hostStats = () => {
    const l = logging();
    return l?.role === "host" ? l.stats() : undefined;
  };
  const seen = { compute: 0, storage: 0 };
  new Counter({
    name: "mz_cluster_introspection_events_total",
    help: "Introspection events applied to the log indexes, by the workload that raised them",
    labelNames: ["workload"],
    registers: [registry],
    collect() {
      const s = hostStats();
      for (const w of LOG_WORKLOADS) {
        this.inc({ workload: w }, 0);
        const total = s?.events[w] ?? 0;
        if (total > seen[w]) {
          this.inc({ workload: w }, total - seen[w]);
          seen[w] = total;
        }
      }
    },
  });
  new Gauge({
    name: "mz_cluster_introspection_log_records",
    help: "Records held by the introspection log indexes (arrangement entries, all workers)",
    registers: [registry],
    collect() {
      this.set(hostStats()?.records ?? 0);
    },
  });
}
