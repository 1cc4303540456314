/**
 * The orchestrator's Prometheus metrics, on an injectable prom-client registry.
 *
 * `mz_orchestrator_replicas{state}` is computed at scrape time from the orchestrator's table, so it
 * can never drift from `list()`.
 */
import { Counter, Gauge, type Registry } from "prom-client";
import { REPLICA_STATES, type ReplicaState } from "./orchestrator.js";

export interface OrchestratorMetrics {
  /** Processes spawned (first starts and restarts). */
  readonly starts: Counter;
  /** Restarts after a process died. */
  readonly restarts: Counter;
  /** Start attempts that did not get ready, by exit code (`none` for a timeout or a signal). */
  readonly startFailures: Counter<"exit_code">;
  /** Processes of a previous orchestrator taken over. */
  readonly adoptions: Counter;
  /** Processes stopped because their replica was dropped, unwanted or mismatching. */
  readonly terminations: Counter<"reason">;
}

export function createMetrics(
  registry: Registry,
  states: () => Iterable<ReplicaState>,
): OrchestratorMetrics {
  const registers = [registry];
  new Gauge({
    name: "mz_orchestrator_replicas",
    help: "Replicas known to the orchestrator, by state",
    labelNames: ["state"],
    registers,
    collect() {
      const counts = new Map<ReplicaState, number>(REPLICA_STATES.map((s) => [s, 0]));
      for (const s of states()) counts.set(s, (counts.get(s) ?? 0) + 1);
      for (const [state, n] of counts) this.set({ state }, n);
    },
  });
  return {
    starts: new Counter({
      name: "mz_orchestrator_replica_starts_total",
      help: "clusterd processes spawned (first starts and restarts)",
      registers,
    }),
    restarts: new Counter({
      name: "mz_orchestrator_replica_restarts_total",
      help: "clusterd processes restarted after they died",
      registers,
    }),
    startFailures: new Counter({
      name: "mz_orchestrator_replica_start_failures_total",
      help: "clusterd start attempts that did not get ready, by exit code",
      labelNames: ["exit_code"],
      registers,
    }),
    adoptions: new Counter({
      name: "mz_orchestrator_replica_adoptions_total",
      help: "live clusterd processes of a previous orchestrator adopted",
      registers,
    }),
    terminations: new Counter({
      name: "mz_orchestrator_replica_terminations_total",
      help: "clusterd processes stopped by the orchestrator, by reason",
      labelNames: ["reason"],
      registers,
    }),
  };
}
