/**
 * `pnpm bench --compare <git-ref>` (@internal): the regression gate. The baseline is `<ref>`,
 * built in a temporary worktree (`worktree.ts`); the candidate is this tree as it is (built first
 * with `pnpm build`). The same benches (this tree's `e2e/bench`) run on both builds interleaved —
 * round after round, each round one run of every bench on each side, the side that goes first
 * alternating so neither always runs second — for `--rounds` (≥ 3) rounds, plus up to
 * `--max-rounds` when a tracked figure is inconclusive (`verdict.ts`). Every bench prints its
 * figures as result lines (`results.ts`); the driver prints the table of medians and ratios and
 * exits 1 when any tracked figure is more than `--threshold` (10 %) worse, 0 otherwise. The
 * report (markdown) and every round's raw results (JSON) are also written to
 * `bench-compare/<date>/`. The worktree is removed at the end, on failure and on SIGINT/SIGTERM.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { join } from "node:path";
import { run, signalChildren } from "../exec.js";
import { type BenchResult, parseResults } from "../results.js";
import { type BenchName, runBench } from "../runner.js";
import { compareRounds, comparisonTable, DEFAULT_THRESHOLD, noiseNotes } from "./verdict.js";
import { prepareBaseline, removeSync, resolveCommit } from "./worktree.js";

export interface CompareOptions {
  readonly repoRoot: string;
  readonly ref: string;
  readonly rounds: number;
  readonly maxRounds: number;
  readonly benches: readonly BenchName[];
  /** The environment bench's section regex (default: every section). */
  readonly sections?: string;
  readonly threshold?: number;
}

const progress = (line: string) => process.stderr.write(`[compare] ${line}\n`);
const load = () =>
  loadavg()
    .map((v) => v.toFixed(2))
    .join(" / ");
const stamp = () => new Date().toISOString().replace(/[:.]/g, "-").slice(0, 19);

/** Runs the comparison; resolves with the exit code (0 pass, 1 regression or missing figure). */
export async function runCompare(o: CompareOptions): Promise<number> {
  const threshold = o.threshold ?? DEFAULT_THRESHOLD;
  const commit = await resolveCommit(o.repoRoot, o.ref);
  const head = (await run("git", ["rev-parse", "--short=10", "HEAD"], o.repoRoot)).trim();
  const dirty =
    (await run("git", ["status", "--porcelain", "--untracked-files=no"], o.repoRoot)).trim() !== "";
  const names = {
    baseline: `${o.ref} (${commit.slice(0, 10)})`,
    candidate: `this tree (${head}${dirty ? " + changes" : ""})`,
  };
  progress(`baseline ${names.baseline}; candidate ${names.candidate}`);
  progress(`load average (1/5/15 min) ${load()} on ${cpus().length} cores`);
  progress("building the candidate: pnpm build");
  await run("pnpm", ["build"], o.repoRoot);

  const baseline = await prepareBaseline(o.repoRoot, commit, (l) => progress(`baseline: ${l}`));
  const onExit = () => removeSync(o.repoRoot, baseline.root);
  const onSignal = (sig: NodeJS.Signals) => {
    progress(
      `${sig}: stopping the running bench, removing the baseline worktree (the runs so far are in bench-compare/)`,
    );
    // The bench reaps what it started on SIGTERM (its harness), then exits.
    signalChildren("SIGTERM");
    onExit();
    process.exit(130);
  };
  process.once("exit", onExit);
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  try {
    const sides = { baseline: baseline.root, candidate: o.repoRoot } as const;
    const results: Record<keyof typeof sides, BenchResult[][]> = { baseline: [], candidate: [] };
    const loads: Array<{ round: number; side: string; bench: string; load: number[] }> = [];
    const started = Date.now();
    const dir = join(o.repoRoot, "bench-compare", stamp());
    mkdirSync(dir, { recursive: true });
    const saveRaw = () =>
      writeFileSync(
        join(dir, "results.json"),
        `${JSON.stringify({ names, commit, rounds: results, loads, threshold }, null, 2)}\n`,
      );
    let comparison = compareRounds([], [], { threshold, maxRounds: o.maxRounds });
    for (let round = 1; round <= o.maxRounds; round++) {
      const order: Array<keyof typeof sides> =
        round % 2 === 1 ? ["baseline", "candidate"] : ["candidate", "baseline"];
      for (const side of order) {
        const all: BenchResult[] = [];
        for (const bench of o.benches) {
          const t0 = Date.now();
          loads.push({ round, side, bench, load: loadavg() });
          const elapsed = ((t0 - started) / 1000).toFixed(0);
          progress(
            `round ${round}/${round <= o.rounds ? o.rounds : o.maxRounds} · ${side} · ${bench} (load ${load()}; ${elapsed} s so far) …`,
          );
          const out = await runBench({
            tree: sides[side],
            bench,
            args: bench === "environment" && o.sections !== undefined ? [o.sections] : [],
            onLine: (l) => {
              if (!l.startsWith("BENCH_RESULT")) process.stderr.write(`    ${l}\n`);
            },
          });
          const rs = parseResults(out);
          if (rs.length === 0)
            throw new Error(
              `${bench} on the ${side} printed no result lines:\n${out.slice(-2000)}`,
            );
          all.push(...rs);
          progress(
            `  ${side} · ${bench}: ${rs.length} figures in ${((Date.now() - t0) / 1000).toFixed(0)} s`,
          );
        }
        results[side].push(all);
        // Saved after every run, so an interrupted comparison keeps what it measured.
        saveRaw();
      }
      if (round < o.rounds) continue;
      comparison = compareRounds(results.baseline, results.candidate, {
        threshold,
        maxRounds: o.maxRounds,
      });
      if (!comparison.needsMoreRounds) break;
      const unsure = comparison.figures.filter((f) => f.tracked && f.verdict === "inconclusive");
      progress(
        `inconclusive after ${round} rounds (overlapping rounds, median beyond ${threshold * 100} %): ${unsure.map((f) => `${f.bench} ${f.figure}`).join(", ")}; one more round`,
      );
    }

    const tracked = comparison.figures.filter((f) => f.tracked);
    const report = [
      `# bench --compare: ${names.candidate} against ${names.baseline}`,
      "",
      `${comparison.rounds} interleaved rounds (the side going first alternates), benches ${o.benches.join(", ")}; medians; threshold ${(threshold * 100).toFixed(0)} % (tracked figures only). Load average (1/5/15 min) at the end ${load()} on ${cpus().length} cores; at each bench start: ${loads.map((l) => `r${l.round} ${l.side[0]} ${l.bench} ${l.load[0]!.toFixed(1)}`).join(", ")}.`,
      "",
      comparisonTable(comparison, names),
      "",
      ...noiseNotes(comparison, threshold, {
        max: Math.max(...loads.map((l) => l.load[0]!)),
        cores: cpus().length,
      }).map((n) => `${n}\n`),
      comparison.passed
        ? `PASS: ${tracked.length} tracked figures, none more than ${(threshold * 100).toFixed(0)} % worse.`
        : comparison.failures.length === 0
          ? "FAIL: no tracked figure was measured."
          : `FAIL: ${comparison.failures.map((f) => `${f.bench} ${f.figure} ${f.verdict === "missing" ? "missing" : `${((f.worse - 1) * 100).toFixed(1)} % worse`}`).join("; ")}.`,
    ].join("\n");
    writeFileSync(join(dir, "report.md"), `${report}\n`);
    console.log(`\n${report}\n`);
    progress(`report and raw results in ${dir}`);
    return comparison.passed ? 0 : 1;
  } finally {
    progress("removing the baseline worktree");
    await baseline.remove();
    process.off("exit", onExit);
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  }
}
