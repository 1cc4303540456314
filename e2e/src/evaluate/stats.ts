/**
 * Measurements of `pnpm evaluate`: latency samples summarised as percentiles and a histogram on
 * fixed buckets (the same buckets for both sides, so their distributions plot side by side), and
 * time series of (ms since the run started, value).
 */

/** Upper bounds (ms) of the latency histogram buckets; the last bucket is "above". */
export const LATENCY_BUCKETS_MS = [
  1, 2, 3, 5, 7, 10, 15, 20, 30, 50, 75, 100, 150, 200, 300, 500, 1000, 2000, 5000,
] as const;

/** A latency distribution. */
export interface LatencySummary {
  readonly count: number;
  readonly p50Ms: number;
  readonly p90Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  readonly meanMs: number;
  /** Counts per `LATENCY_BUCKETS_MS` bucket (≤ bound), plus one for "above the last". */
  readonly histogram: readonly number[];
}

/** The `q` quantile (0..1) of ascending `sorted` (nearest rank; 0 when empty). */
export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return 0;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[rank] as number;
}

const round = (x: number) => Math.round(x * 100) / 100;

/** Percentiles, mean, max and histogram of `samplesMs`. */
export function summarise(samplesMs: readonly number[]): LatencySummary {
  const sorted = [...samplesMs].sort((a, b) => a - b);
  const histogram = new Array<number>(LATENCY_BUCKETS_MS.length + 1).fill(0);
  for (const x of sorted) {
    const found = LATENCY_BUCKETS_MS.findIndex((b) => x <= b);
    const i = found < 0 ? LATENCY_BUCKETS_MS.length : found;
    histogram[i] = (histogram[i] ?? 0) + 1;
  }
  const sum = sorted.reduce((s, x) => s + x, 0);
  return {
    count: sorted.length,
    p50Ms: round(quantile(sorted, 0.5)),
    p90Ms: round(quantile(sorted, 0.9)),
    p99Ms: round(quantile(sorted, 0.99)),
    maxMs: round(sorted[sorted.length - 1] ?? 0),
    meanMs: round(sorted.length === 0 ? 0 : sum / sorted.length),
    histogram,
  };
}

/** (ms since the run started, value) points. */
export type Series = Array<readonly [number, number]>;

/** min / p50 / max of a series' values (zeros when empty). */
export function seriesSummary(s: Series): { min: number; p50: number; max: number } {
  const v = s.map(([, x]) => x).sort((a, b) => a - b);
  return { min: round(v[0] ?? 0), p50: round(quantile(v, 0.5)), max: round(v[v.length - 1] ?? 0) };
}
