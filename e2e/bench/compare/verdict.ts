/**
 * The verdict of `pnpm bench --compare` (@internal), pure: the figures both builds produced, one
 * list per interleaved round and side, in; per figure the medians, the ratio and a verdict out.
 *
 * The rule is Materialize's feature-benchmark rule: a tracked figure that is more than
 * `threshold` (10 %) worse on the candidate than on the baseline fails. "Worse" is direction
 * aware: for a lower-is-better figure (latency) worse = candidate / baseline, for a
 * higher-is-better one (throughput) worse = baseline / candidate.
 *
 * Noise (the machine is shared):
 * - Medians over ≥ 3 interleaved rounds: one slow round on either side cannot decide alone.
 * - A figure beyond the threshold whose two sides' ranges overlap (the candidate's best round is
 *   not worse than the baseline's worst) is `inconclusive` while rounds remain: the driver runs
 *   more rounds (up to `maxRounds`) before deciding. With no rounds left the median decides
 *   (`regressed`); a clean separation decides at once.
 * - Untracked figures (the echo baselines, p99s, recovery times) are shown with the same
 *   arithmetic for judging the noise, and never fail the comparison.
 * - A tracked figure that one side did not produce, or produced as NaN, is `missing`: it fails
 *   (the bench broke on that build), as the gate cannot vouch for it.
 */
import type { BenchResult, Better } from "../results.js";

export const DEFAULT_THRESHOLD = 0.1;

export type Verdict = "ok" | "improved" | "regressed" | "inconclusive" | "missing";

export interface FigureComparison {
  readonly bench: string;
  readonly figure: string;
  readonly unit: string;
  readonly better: Better;
  readonly tracked: boolean;
  /** A transport baseline row (`BenchResult.baseline`): moving, it measures the machine. */
  readonly transport: boolean;
  /** Per round, in round order (NaN where a round did not produce it). */
  readonly baseline: readonly number[];
  readonly candidate: readonly number[];
  readonly baselineMedian: number;
  readonly candidateMedian: number;
  /** candidate median / baseline median. */
  readonly ratio: number;
  /** > 1: the candidate is worse by that factor (direction aware). */
  readonly worse: number;
  /** Whether every candidate round is worse than every baseline round. */
  readonly separated: boolean;
  readonly verdict: Verdict;
}

export interface Comparison {
  readonly figures: readonly FigureComparison[];
  /** Rounds compared (the shorter side). */
  readonly rounds: number;
  /** Tracked figures that fail the comparison. */
  readonly failures: readonly FigureComparison[];
  /** Whether the driver should measure more rounds before trusting the verdict. */
  readonly needsMoreRounds: boolean;
  readonly passed: boolean;
}

export interface CompareOptions {
  /** Allowed worsening as a fraction (default 0.10). */
  readonly threshold?: number;
  /** The most rounds the driver will run; at this count `inconclusive` becomes a decision. */
  readonly maxRounds?: number;
}

export function median(xs: readonly number[]): number {
  const s = xs.filter(Number.isFinite).sort((a, b) => a - b);
  if (s.length === 0) return Number.NaN;
  const m = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

const key = (r: { bench: string; figure: string }) => `${r.bench}\u0000${r.figure}`;

/** Worse-by factor of `candidate` against `baseline` (> 1 = worse), direction aware. */
export function worseBy(better: Better, baseline: number, candidate: number): number {
  return better === "lower" ? candidate / baseline : baseline / candidate;
}

/**
 * Compares the rounds of two builds. `baseline[i]` and `candidate[i]` are the results of round
 * `i` (each the concatenation of every bench's result lines in that round).
 */
export function compareRounds(
  baseline: ReadonlyArray<readonly BenchResult[]>,
  candidate: ReadonlyArray<readonly BenchResult[]>,
  opts: CompareOptions = {},
): Comparison {
  const threshold = opts.threshold ?? DEFAULT_THRESHOLD;
  const rounds = Math.min(baseline.length, candidate.length);
  const maxRounds = opts.maxRounds ?? rounds;
  // Every figure either side produced in any round, in first-seen order.
  const meta = new Map<string, BenchResult>();
  for (const side of [baseline, candidate])
    for (const round of side.slice(0, rounds)) for (const r of round) meta.set(key(r), r);
  const valuesOf = (side: ReadonlyArray<readonly BenchResult[]>, k: string) =>
    side.slice(0, rounds).map((round) => round.find((r) => key(r) === k)?.value ?? Number.NaN);

  const figures: FigureComparison[] = [];
  for (const [k, m] of meta) {
    const b = valuesOf(baseline, k);
    const c = valuesOf(candidate, k);
    const bm = median(b);
    const cm = median(c);
    const worse = worseBy(m.better, bm, cm);
    const bFinite = b.filter(Number.isFinite);
    const cFinite = c.filter(Number.isFinite);
    const separated =
      bFinite.length > 0 &&
      cFinite.length > 0 &&
      (m.better === "lower"
        ? Math.min(...cFinite) > Math.max(...bFinite)
        : Math.max(...cFinite) < Math.min(...bFinite));
    let verdict: Verdict;
    if (!Number.isFinite(worse) || bFinite.length < rounds || cFinite.length < rounds)
      verdict = "missing";
    else if (worse > 1 + threshold)
      verdict = separated || rounds >= maxRounds ? "regressed" : "inconclusive";
    else if (worse < 1 / (1 + threshold)) verdict = "improved";
    else verdict = "ok";
    figures.push({
      bench: m.bench,
      figure: m.figure,
      unit: m.unit,
      better: m.better,
      tracked: m.tracked,
      transport: m.baseline === true,
      baseline: b,
      candidate: c,
      baselineMedian: bm,
      candidateMedian: cm,
      ratio: cm / bm,
      worse,
      separated,
      verdict,
    });
  }
  const tracked = figures.filter((f) => f.tracked);
  const failures = tracked.filter((f) => f.verdict === "regressed" || f.verdict === "missing");
  const needsMoreRounds = tracked.some((f) => f.verdict === "inconclusive");
  return {
    figures,
    rounds,
    failures,
    needsMoreRounds,
    passed: failures.length === 0 && !needsMoreRounds && tracked.length > 0,
  };
}

/**
 * Warnings about the measurement itself: transport baseline figures (the same code on both
 * builds) that moved beyond the threshold between the builds, and a load average above the
 * cores — either means the verdicts rest on a noisy machine.
 */
export function noiseNotes(
  c: Comparison,
  threshold: number,
  load: { readonly max: number; readonly cores: number },
): string[] {
  const notes: string[] = [];
  const baselines = c.figures.filter((f) => f.transport && Number.isFinite(f.worse));
  const moved = baselines.filter((f) => f.worse > 1 + threshold || f.worse < 1 / (1 + threshold));
  if (moved.length > 0)
    notes.push(
      `noise: ${moved.length} of ${baselines.length} transport baseline figures (same code on both builds) moved more than ${(threshold * 100).toFixed(0)} % between the builds: ${moved
        .slice(0, 6)
        .map((f) => `${f.bench} ${f.figure} ${((f.worse - 1) * 100).toFixed(0)} %`)
        .join(", ")}${moved.length > 6 ? ", …" : ""}`,
    );
  if (load.max > load.cores)
    notes.push(
      `noise: the 1-minute load average reached ${load.max.toFixed(1)} on ${load.cores} cores during the run`,
    );
  return notes;
}

const fmt = (v: number) =>
  !Number.isFinite(v) ? "—" : Math.abs(v) >= 100 ? v.toFixed(0) : v.toPrecision(3);

/** The markdown table of a comparison (every figure; tracked ones first). */
export function comparisonTable(
  c: Comparison,
  names: { baseline: string; candidate: string },
): string {
  const lines = [
    `| bench | figure | tracked | ${names.baseline} median | ${names.candidate} median | ratio | worse by | rounds (baseline / candidate) | verdict |`,
    "|---|---|---|---:|---:|---:|---:|---|---|",
  ];
  const order = [...c.figures].sort((a, b) => Number(b.tracked) - Number(a.tracked));
  for (const f of order) {
    const pctWorse = Number.isFinite(f.worse) ? `${((f.worse - 1) * 100).toFixed(1)} %` : "—";
    const rounds = `${f.baseline.map(fmt).join(" ")} / ${f.candidate.map(fmt).join(" ")}`;
    const verdict = f.tracked ? f.verdict : `(${f.verdict})`;
    lines.push(
      `| ${f.bench} | ${f.figure} (${f.unit}, ${f.better} is better) | ${f.tracked ? "yes" : "no"} | ${fmt(f.baselineMedian)} | ${fmt(f.candidateMedian)} | ${Number.isFinite(f.ratio) ? `${f.ratio.toFixed(3)}x` : "—"} | ${pctWorse} | ${rounds} | ${verdict} |`,
    );
  }
  return lines.join("\n");
}
