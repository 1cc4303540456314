/**
 * clusterd's Prometheus metrics. Names are the same on the unified and legacy paths (style §18),
 * so an evaluation compares like with like; the active path is only announced by
 * `mz_cluster_unification_phase_enabled{phase}` and an info log.
 */
import { Counter, Gauge, Registry } from "prom-client";

export interface ClusterdMetrics {
  readonly registry: Registry;
  readonly phaseEnabled: Gauge<"phase">;
  readonly commands: Counter<"workload" | "command_type">;
  readonly responses: Counter<"workload" | "response_type">;
  readonly connections: Counter<"workload">;
  readonly streamErrors: Counter<"workload" | "code">;
  readonly lastCommandReceived: Gauge<"server_name">;
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
  };
}
