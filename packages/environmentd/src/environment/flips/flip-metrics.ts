/**
 * Prometheus metrics of live flips: flips started, completed and failed per kind, and the
 * duration of each step of a flip.
 *
 * | Metric                                      | Type      | Labels          |
 * | ------------------------------------------- | --------- | --------------- |
 * | `mz_environment_flips_started_total`        | counter   | `kind`          |
 * | `mz_environment_flips_completed_total`      | counter   | `kind`          |
 * | `mz_environment_flips_failed_total`         | counter   | `kind`          |
 * | `mz_environment_flip_step_duration_seconds` | histogram | `step`, `result`|
 *
 * `kind`: `roll` (a server-side phase changed: replicas replaced), `reseat` (a controller-side
 * phase changed), `rebuild` (whether `state` takes effect changed: the cluster's controller
 * rebuilt on the other path), `both` (replicas rolled and the controller reseated or rebuilt),
 * `record` (neither: only the recorded PhaseSet moved). `step`: `start-successor`, `hydrate`,
 * `retire`, `reseat`, `rebuild`, `reconcile`, `withdraw` (removing a successor that failed).
 * `result`: `ok` or `error`. Registering twice on one registry reuses the metrics.
 */
import { Counter, Histogram, type Registry } from "prom-client";

export type FlipKind = "roll" | "reseat" | "rebuild" | "both" | "record";
export type FlipStepName =
  | "start-successor"
  | "hydrate"
  | "retire"
  | "reseat"
  | "rebuild"
  | "reconcile"
  | "withdraw";

export interface FlipMetrics {
  started(kind: FlipKind): void;
  completed(kind: FlipKind): void;
  failed(kind: FlipKind): void;
  /** Records how long a step took. */
  step(step: FlipStepName, seconds: number, ok: boolean): void;
}

function reuse<T>(registry: Registry, name: string, make: () => T): T {
  return (registry.getSingleMetric(name) as T | undefined) ?? make();
}

/** The flip metrics on `registry`. */
export function flipMetrics(registry: Registry): FlipMetrics {
  const counter = (name: string, help: string) =>
    reuse(
      registry,
      name,
      () => new Counter({ name, help, labelNames: ["kind"], registers: [registry] }),
    );
  const started = counter("mz_environment_flips_started_total", "Live flips started, by kind.");
  const completed = counter(
    "mz_environment_flips_completed_total",
    "Live flips that brought a cluster to its target phases, by kind.",
  );
  const failed = counter(
    "mz_environment_flips_failed_total",
    "Live flips that stopped on a failed step (the old replicas keep serving), by kind.",
  );
  const steps = reuse(
    registry,
    "mz_environment_flip_step_duration_seconds",
    () =>
      new Histogram({
        name: "mz_environment_flip_step_duration_seconds",
        help: "Duration of each step of a live flip (start a successor, hydrate, retire, reseat, rebuild).",
        labelNames: ["step", "result"],
        buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8, 16, 32, 64, 128],
        registers: [registry],
      }),
  );
  return {
    started: (kind) => started.inc({ kind }),
    completed: (kind) => completed.inc({ kind }),
    failed: (kind) => failed.inc({ kind }),
    step: (step, seconds, ok) => steps.observe({ step, result: ok ? "ok" : "error" }, seconds),
  };
}
