/**
 * Prometheus metrics of the phase flags, per cluster and phase.
 *
 * - `mz_cluster_unification_phase_enabled{cluster,phase}`: 1 when the phase is in force.
 * - `mz_cluster_unification_phase_blocked{cluster,phase}`: 1 when its flag is on but a
 *   prerequisite is not in force.
 * - `mz_cluster_unification_phase_no_effect{cluster,phase}`: 1 when it is in force (or
 *   migrating) but not built.
 * - `mz_cluster_unification_phase_stage{cluster,phase}`: the flag's migration stage as its index
 *   in `STAGES` (0 off, 1 dualwrite, 2 shadow, 3 live, 4 rampdown, 5 complete).
 * - `mz_cluster_unification_flags_errors_total{error}`: rejected flag data and failed
 *   evaluations, by error class (`MalformedFlagsFile`, `WrongFlagType`, …).
 *
 * The gauges carry a series for every phase of every tracked cluster (0 or 1), so a
 * dashboard sees a cluster's whole state; `remove(cluster)` drops them when it is forgotten.
 * Metrics already registered under these names in the registry (a second `createPhaseFlags` on
 * the same registry) are reused, not registered twice.
 */
import { Counter, Gauge, type Registry } from "prom-client";
import { PHASES } from "./keys.js";
import type { PhaseSet } from "./phase-set.js";
import { STAGES } from "./stages.js";

export const PHASE_ENABLED_METRIC = "mz_cluster_unification_phase_enabled";
export const PHASE_BLOCKED_METRIC = "mz_cluster_unification_phase_blocked";
export const PHASE_NO_EFFECT_METRIC = "mz_cluster_unification_phase_no_effect";
export const PHASE_STAGE_METRIC = "mz_cluster_unification_phase_stage";
export const FLAGS_ERRORS_METRIC = "mz_cluster_unification_flags_errors_total";

type Labels = "cluster" | "phase";

/** The metrics of one `PhaseFlags`. */
export class PhaseMetrics {
  readonly #enabled: Gauge<Labels>;
  readonly #blocked: Gauge<Labels>;
  readonly #noEffect: Gauge<Labels>;
  readonly #stage: Gauge<Labels>;
  readonly #errors: Counter<"error">;

  constructor(registry: Registry) {
    const gauge = (name: string, help: string): Gauge<Labels> =>
      (registry.getSingleMetric(name) as Gauge<Labels> | undefined) ??
      new Gauge({ name, help, labelNames: ["cluster", "phase"], registers: [registry] });
    this.#enabled = gauge(PHASE_ENABLED_METRIC, "1 when the cluster-unification phase is in force");
    this.#blocked = gauge(
      PHASE_BLOCKED_METRIC,
      "1 when the phase's flag is on but a prerequisite phase is not in force",
    );
    this.#noEffect = gauge(
      PHASE_NO_EFFECT_METRIC,
      "1 when the phase is in force but its code is not built yet (the flag has no effect)",
    );
    this.#stage = gauge(
      PHASE_STAGE_METRIC,
      "The phase flag's migration stage: 0 off, 1 dualwrite, 2 shadow, 3 live, 4 rampdown, 5 complete",
    );
    this.#errors =
      (registry.getSingleMetric(FLAGS_ERRORS_METRIC) as Counter<"error"> | undefined) ??
      new Counter({
        name: FLAGS_ERRORS_METRIC,
        help: "Rejected flag data and failed flag evaluations, by error class",
        labelNames: ["error"],
        registers: [registry],
      });
  }

  /** Publishes a cluster's PhaseSet. */
  set(phases: PhaseSet): void {
    for (const phase of PHASES) {
      const labels = { cluster: phases.clusterId, phase };
      this.#enabled.set(labels, phases.inForce[phase] ? 1 : 0);
      this.#blocked.set(labels, phases.blocked[phase] === undefined ? 0 : 1);
      this.#noEffect.set(labels, phases.noEffect.includes(phase) ? 1 : 0);
      this.#stage.set(labels, STAGES.indexOf(phases.stages[phase]));
    }
  }

  /** Drops a cluster's series. */
  remove(clusterId: string): void {
    for (const phase of PHASES) {
      const labels = { cluster: clusterId, phase };
      this.#enabled.remove(labels);
      this.#blocked.remove(labels);
      this.#noEffect.remove(labels);
      this.#stage.remove(labels);
    }
  }

  /** Counts one error. */
  error(name: string): void {
    this.#errors.inc({ error: name });
  }
}
