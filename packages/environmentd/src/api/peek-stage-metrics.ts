/**
 * `mz_environment_api_peek_stage_seconds{stage}`: where an API peek's wall time goes (issue 16),
 * one histogram series per stage of `PeekTrace` (`@mzts/controller-unified/state`'s
 * `peek-trace.ts`), plus `stage="total"` (received → responded).
 *
 * ## Meaning
 * - The series of stage S counts, for every answered API peek, the time from the previous
 *   stage that was marked to S (e.g. `stage="timestamped"`: from validated to the timestamp
 *   chosen; `stage="answered"`: from written to the first replica to the first answer absorbed).
 *   A stage nobody marked (0) is skipped: its time goes to the next marked stage.
 * - So the `_sum`s of the stages add up to the `total`'s `_sum`, and `_sum / _count` per stage
 *   is the mean time a peek spends there: at N calls in flight, the stage holding the wait.
 * - Only peeks that were answered with rows are observed (a refusal's stages stop early).
 *
 * ## Cost
 * Observing is a few array stores per stage, no label hashing and no allocation: the series are
 * built from plain arrays only when `/metrics` is scraped (a custom metric of the registry).
 */
import { PEEK_STAGES, type PeekTrace } from "@mzts/controller-unified/state";
import type { Metric, Registry } from "prom-client";

export const PEEK_STAGE_METRIC = "mz_environment_api_peek_stage_seconds";

/** Bucket bounds (s): 50 µs to 1 s, for stages from microseconds (decode) to queueing waits. */
export const PEEK_STAGE_BUCKETS: readonly number[] = Object.freeze([
  0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1,
]);

/** The series' `stage` labels: every stage after `received`, then `total`. */
export const PEEK_STAGE_LABELS: readonly string[] = Object.freeze([
  ...PEEK_STAGES.slice(1),
  "total",
]);

const HELP =
  "API peeks (answered): seconds from the previous traced stage to this one (total: received to responded)";

/** One histogram's counts (see the file comment). */
class Series {
  /** Per bucket (not cumulative), the last one +Inf. */
  readonly counts: number[] = new Array<number>(PEEK_STAGE_BUCKETS.length + 1).fill(0);
  sum = 0;
  count = 0;

  observe(seconds: number): void {
    let i = 0;
    const b = PEEK_STAGE_BUCKETS;
    while (i < b.length && seconds > b[i]!) i++;
    this.counts[i]!++;
    this.sum += seconds;
    this.count++;
  }
}

/** The stage histograms of one environmentd's API peeks. */
export class PeekStageMetrics {
  /** By `PEEK_STAGE_LABELS` index. */
  readonly #series: Series[] = PEEK_STAGE_LABELS.map(() => new Series());

  /**
   * Registers the histogram in `registry` (once per registry; a second call returns the first
   * one's metrics, so two API servers on one registry share it).
   */
  static of(registry: Registry): PeekStageMetrics {
    const existing = registry.getSingleMetric(PEEK_STAGE_METRIC) as unknown as
      | { readonly stages?: PeekStageMetrics }
      | undefined;
    if (existing?.stages !== undefined) return existing.stages;
    const stages = new PeekStageMetrics();
    registry.registerMetric(stages.#metric() as unknown as Metric);
    return stages;
  }

  /** Adds one answered peek's stages (see the file comment). */
  observe(trace: PeekTrace): void {
    const at = trace.at;
    const start = at[0]!;
    if (start === 0) return;
    let prev = start;
    for (let i = 1; i < at.length; i++) {
      const t = at[i]!;
      if (t === 0) continue;
      this.#series[i - 1]!.observe(Math.max(0, t - prev) / 1000);
      prev = t;
    }
    this.#series[this.#series.length - 1]!.observe(Math.max(0, prev - start) / 1000);
  }

  /** Peeks observed, and seconds summed, for `stage` (a `PEEK_STAGE_LABELS` entry). */
  totals(stage: string): { count: number; sum: number } {
    const s = this.#series[PEEK_STAGE_LABELS.indexOf(stage)];
    if (s === undefined) throw new RangeError(`unknown peek stage ${stage}`);
    return { count: s.count, sum: s.sum };
  }

  /** The registry's view: prom-client's metric shape, built at scrape time. */
  #metric() {
    const series = this.#series;
    return {
      name: PEEK_STAGE_METRIC,
      help: HELP,
      type: "histogram",
      aggregator: "sum",
      stages: this,
      labelNames: ["stage"],
      reset: () => {
        for (const s of series) {
          s.counts.fill(0);
          s.sum = 0;
          s.count = 0;
        }
      },
      get: async () => {
        const values: {
          labels: Record<string, string | number>;
          value: number;
          metricName: string;
        }[] = [];
        series.forEach((s, i) => {
          const stage = PEEK_STAGE_LABELS[i]!;
          let cumulative = 0;
          PEEK_STAGE_BUCKETS.forEach((le, j) => {
            cumulative += s.counts[j]!;
            values.push({
              labels: { le, stage },
              value: cumulative,
              metricName: `${PEEK_STAGE_METRIC}_bucket`,
            });
          });
          values.push({
            labels: { le: "+Inf", stage },
            value: s.count,
            metricName: `${PEEK_STAGE_METRIC}_bucket`,
          });
          values.push({ labels: { stage }, value: s.sum, metricName: `${PEEK_STAGE_METRIC}_sum` });
          values.push({
            labels: { stage },
            value: s.count,
            metricName: `${PEEK_STAGE_METRIC}_count`,
          });
        });
        return {
          name: PEEK_STAGE_METRIC,
          help: HELP,
          type: "histogram",
          aggregator: "sum",
          values,
        };
      },
    };
  }
}
