/**
 * What status shows of one migrating cluster's peek comparisons (design "Status and report"):
 * counts by result, the last inconsistency, and per path the first-answer latency quantiles over
 * the most recent answers and the error answers. The Prometheus series of the same observations
 * are compute-client's (`mz_cluster_unification_comparisons_total`, `…_path_latency_seconds`,
 * `…_path_errors_total`); this is their per-cluster summary for `Status` and `mzctl`.
 *
 * ## Invariants
 * - Bounded: at most `LATENCY_WINDOW` latencies per path are kept (a ring).
 * - The last inconsistency's text is capped at `MAX_DIFFERENCE` characters (rows are truncated).
 */
import type { ComparisonRecord, ComparisonResult, PathSlot } from "@mzts/compute-client";
import type { PathLatency } from "@mzts/protocol";

/** How many recent latencies per path give the quantiles. */
export const LATENCY_WINDOW = 1024;
/** The longest last-inconsistency text kept. */
export const MAX_DIFFERENCE = 500;

class PathTally {
  readonly #ring: number[] = [];
  #next = 0;
  answers = 0;
  errors = 0;

  observe(ms: number, error: boolean): void {
    this.answers += 1;
    if (error) this.errors += 1;
    if (this.#ring.length < LATENCY_WINDOW) this.#ring.push(ms);
    else this.#ring[this.#next] = ms;
    this.#next = (this.#next + 1) % LATENCY_WINDOW;
  }

  summary(path: PathSlot): PathLatency {
    const sorted = [...this.#ring].sort((a, b) => a - b);
    const q = (f: number) =>
      sorted.length === 0
        ? 0
        : Math.round(
            sorted[Math.min(sorted.length - 1, Math.ceil(f * sorted.length) - 1)]! * 1000,
          ) / 1000;
    return { path, answers: this.answers, p50Ms: q(0.5), p99Ms: q(0.99), errors: this.errors };
  }
}

/** One cluster's comparisons (see the file comment). */
export class ComparisonTally {
  readonly counts: Record<ComparisonResult, number> = {
    consistent: 0,
    inconsistent: 0,
    timeout: 0,
    fallback: 0,
  };
  lastInconsistency: string | undefined;
  readonly #paths = { legacy: new PathTally(), unified: new PathTally() };

  /** Counts one finished comparison. */
  add(record: ComparisonRecord): void {
    this.counts[record.result] += 1;
    for (const path of ["legacy", "unified"] as const) {
      const ms = record.latencyMs[path];
      if (ms !== undefined) this.#paths[path].observe(ms, record.errors.includes(path));
    }
    if (record.result === "inconsistent") {
      const d = record.difference ?? "";
      this.lastInconsistency = d.length > MAX_DIFFERENCE ? `${d.slice(0, MAX_DIFFERENCE)}…` : d;
    }
  }

  /** Each path's summary, legacy then unified. */
  paths(): PathLatency[] {
    return [this.#paths.legacy.summary("legacy"), this.#paths.unified.summary("unified")];
  }
}
