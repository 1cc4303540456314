/**
 * `mz_compute_peeks_total{instance_id, result}` and
 * `mz_compute_peek_duration_seconds{instance_id, result}` kept in plain numbers and turned into
 * Prometheus series when scraped (issue 16): a settled peek did a labelled `Counter.inc` and a
 * labelled `Histogram.observe`, each hashing its label object, thousands of times a second. Here a
 * peek adds to its series' count, sum and bucket (a lookup by instance, an index by result), and
 * the two metrics (registered in the registry as prom-client metrics are: `name`, `get()`,
 * `reset()`) write the same values, in the same form, as the `Counter` and `Histogram` did.
 *
 * A series appears once its first peek settled (as a labelled counter's did).
 */
import type { Registry } from "prom-client";

/** Peek outcomes, the `result` label of the peek metrics. */
export type PeekResult = "rows" | "error" | "canceled";

const RESULTS: readonly PeekResult[] = ["rows", "error", "canceled"];
const RESULT_INDEX: Readonly<Record<PeekResult, number>> = { rows: 0, error: 1, canceled: 2 };

/** Peek duration buckets: 0.5 ms, 1 ms, … 32 s (powers of two). */
export const PEEK_DURATION_BUCKETS: readonly number[] = Array.from(
  { length: 17 },
  (_, i) => 0.0005 * 2 ** i,
);

const PEEKS_TOTAL = "mz_compute_peeks_total";
const PEEK_DURATION = "mz_compute_peek_duration_seconds";

/** One `{instance_id, result}` series of both metrics. */
interface Series {
  count: number;
  sum: number;
  /** Observations per bucket (not cumulative); the last slot is above the last bound (+Inf). */
  readonly buckets: Float64Array;
}

/** A value of a prom-client metric's `get()`. */
interface MetricValue {
  readonly value: number;
  readonly labels: Record<string, string | number>;
  readonly metricName?: string;
}

/** The settled peeks' counts and durations of one registry. */
export class PeekOutcomeMetrics {
  /** Per instance, a series per result (undefined until one settled). */
  #series = new Map<string, (Series | undefined)[]>();

  /** Registers both metrics in `registry`. */
  constructor(registry: Registry) {
    const metric = (name: string, help: string, type: "counter" | "histogram") => {
      const m = {
        // prom-client renames a counter for OpenMetrics (no `_total`): `get` reads it back.
        name,
        help,
        type,
        aggregator: "sum" as const,
        get: async () => ({
          name: m.name,
          help,
          type,
          aggregator: "sum" as const,
          values: type === "counter" ? this.#counterValues() : this.#histogramValues(m.name),
        }),
        reset: () => {
          this.#series = new Map();
        },
      };
      return m;
    };
    // biome-ignore lint/suspicious/noExplicitAny: prom-client's registerMetric wants its Metric class; it reads name/get/reset
    const register = (m: ReturnType<typeof metric>) => registry.registerMetric(m as any);
    register(metric(PEEKS_TOTAL, "The number of peeks finished, by result.", "counter"));
    register(
      metric(PEEK_DURATION, "Time from a peek being issued to its result, by result.", "histogram"),
    );
  }

  /** A peek of `instanceId` settled with `result`, `seconds` after it was issued. */
  record(instanceId: string, result: PeekResult, seconds: number): void {
    let perResult = this.#series.get(instanceId);
    if (perResult === undefined) {
      perResult = [undefined, undefined, undefined];
      this.#series.set(instanceId, perResult);
    }
    const i = RESULT_INDEX[result];
    let s = perResult[i];
    if (s === undefined) {
      s = { count: 0, sum: 0, buckets: new Float64Array(PEEK_DURATION_BUCKETS.length + 1) };
      perResult[i] = s;
    }
    s.count++;
    s.sum += seconds;
    let b = 0;
    while (b < PEEK_DURATION_BUCKETS.length && seconds > PEEK_DURATION_BUCKETS[b]!) b++;
    s.buckets[b]!++;
  }

  #each(): [Record<string, string>, Series][] {
    const out: [Record<string, string>, Series][] = [];
    for (const [instance_id, perResult] of this.#series) {
      perResult.forEach((s, i) => {
        if (s !== undefined) out.push([{ instance_id, result: RESULTS[i]! }, s]);
      });
    }
    return out;
  }

  #counterValues(): MetricValue[] {
    return this.#each().map(([labels, s]) => ({ value: s.count, labels }));
  }

  #histogramValues(name: string): MetricValue[] {
    const out: MetricValue[] = [];
    for (const [labels, s] of this.#each()) {
      let cumulative = 0;
      PEEK_DURATION_BUCKETS.forEach((le, b) => {
        cumulative += s.buckets[b]!;
        out.push({ value: cumulative, labels: { ...labels, le }, metricName: `${name}_bucket` });
      });
      out.push({ value: s.count, labels: { ...labels, le: "+Inf" }, metricName: `${name}_bucket` });
      out.push({ value: s.sum, labels, metricName: `${name}_sum` });
      out.push({ value: s.count, labels, metricName: `${name}_count` });
    }
    return out;
  }
}
