/**
 * `runEvaluation`: the program behind `pnpm evaluate <phase|all>` (`main.ts`) and its e2e test.
 *
 * 1. Sides (`phases.ts`): what the baseline and candidate clusters run; nothing left → skipped.
 * 2. One environmentd (`session.ts`) whose flags file (`flags-file.ts`) turns the phase on for
 *    the candidate cluster only; the workload (`workload.ts`) on both; wait until both answer.
 * 3. Before the run: each replica runs the phases its side should (replica records and status),
 *    and the phase's own checks (`PHASE_CHECKS`).
 * 4. The steady window (`seconds`): rounds of fixed-time peeks compared row by row (`peeks.ts`),
 *    subscribes on both sides (`subscribes.ts`), status and memory sampled (`sampler.ts`);
 *    a progress line every 5 s.
 * 5. Throughput of each side alone; when the candidate adds the controller-side phase `replicas`,
 *    SIGSTOP of each side's replica in turn (detection by its controllers, `controllers.ts`);
 *    kill -9 of each side's replica in turn (`rehydration.ts`).
 * 6. After recovery: one more round of peeks, the subscribe streams compared, the statuses of
 *    the twin collections compared, the phases and the phase's checks again.
 * 7. The report (`report.ts`, `html.ts`) under `<out>/<target>-<date>/`; the verdict.
 * Everything started is stopped at the end, on failure and on SIGINT (`session.ts`).
 */

import { readFileSync } from "node:fs";
import { PHASES } from "@mzts/flags";
import type { ClusterStatus } from "@mzts/protocol";
import { T } from "../harness/auction-workload.js";
import { sleep, waitFor } from "../harness/environment.js";
import { phasesApplied } from "./applied.js";
import {
  type CollectionState,
  type Difference,
  diffStatuses,
  formatDifference,
} from "./compare.js";
import { type EvaluationContext, evaluationContext, SIDES, type Side } from "./context.js";
import { type StallDetection, stopAndDetect } from "./controllers.js";
import { renderHtml } from "./html.js";
import { compareRound, compareRounds, emptyPeekLog, throughput } from "./peeks.js";
import { checksOf, type Sides, sidesOf, type Target } from "./phases.js";
import { killAndRehydrate, type Recovery } from "./rehydration.js";
import {
  assembleReport,
  type CheckSummary,
  type EvaluationReport,
  emptySide,
  reportDir,
  writeReport,
} from "./report.js";
import { type Sampler, startSampler } from "./sampler.js";
import { openSidesSession, type Session } from "./session.js";
import { summarise } from "./stats.js";
import { type Subscribes, startSubscribes } from "./subscribes.js";
import { createWorkload, FIXED_INDEXES } from "./workload.js";

/** How long a SIGSTOPped replica may go unnoticed (and take to come back after SIGCONT). */
const STALL_TIMEOUT_MS = 10_000;

export interface EvaluationOptions {
  readonly target: Target;
  /** The steady window (s); setup, throughput, kills and the final checks come on top. */
  readonly seconds: number;
  /** Where `<target>-<date>/` goes (default `evaluation`). */
  readonly outDir?: string;
  /** Progress lines (default stderr). */
  readonly log?: (line: string) => void;
}

export type EvaluationResult =
  | { readonly skipped: Sides; readonly report?: undefined }
  | { readonly report: EvaluationReport; readonly dir: string; readonly skipped?: undefined };

/** Each side's collections (by neutral name) from the sampler's last status. */
function statesOf(
  ctx: EvaluationContext,
  side: Side,
  last: ClusterStatus | undefined,
): Map<string, CollectionState> {
  const out = new Map<string, CollectionState>();
  for (const col of last?.collections ?? []) {
    const n = ctx.neutral(col.name);
    if (n === undefined || n.side !== side) continue;
    out.set(n.neutral, {
      closed: col.writeFrontier === null,
      ...(col.failed === undefined ? {} : { failed: col.failed }),
    });
  }
  return out;
}

export async function runEvaluation(opts: EvaluationOptions): Promise<EvaluationResult> {
  const log = opts.log ?? ((l: string) => process.stderr.write(`${l}\n`));
  const sides = sidesOf(opts.target);
  for (const s of sides.skipped) log(`evaluate: skipping ${s.phase}: ${s.reason}`);
  if (sides.candidate.length === sides.baseline.length) return { skipped: sides };
  const started = new Date();
  const startedMs = performance.now();
  const say = (l: string) => log(`evaluate ${opts.target}: ${l}`);
  say(
    `baseline runs [${sides.baseline.join(", ") || "no phase"}], candidate [${sides.candidate.join(", ")}]; steady window ${opts.seconds} s`,
  );
  const differences: Difference[] = [];
  const errors: string[] = [];
  const checks: CheckSummary[] = [];
  const recoveries: Record<Side, Recovery | null> = { baseline: null, candidate: null };
  const stalls: Record<Side, StallDetection | null> = { baseline: null, candidate: null };
  const tput: Record<Side, number> = { baseline: 0, candidate: 0 };
  const peeks = emptyPeekLog();
  let session: Session | undefined;
  let sampler: Sampler | undefined;
  let subscribes: Subscribes | undefined;
  let report: EvaluationReport | undefined;
  let flags: unknown;
  /** What every report of this run says, whatever happened. */
  const header = () => ({
    target: opts.target,
    started,
    seconds: opts.seconds,
    elapsedSeconds: Math.round((performance.now() - startedMs) / 1000),
    skipped: sides.skipped,
    checks,
    differences,
    errors,
    ...(flags === undefined ? {} : { flags }),
  });
  try {
    session = await openSidesSession(sides);
    flags = JSON.parse(readFileSync(session.flagsFile, "utf8"));
    say(`environmentd up (data directory ${session.dataDir})`);
    const info = await createWorkload(
      session.api,
      { baseline: sides.baseline, candidate: sides.candidate },
      say,
    );
    const ctx = evaluationContext(session, info);
    say("waiting for both sides to hydrate …");
    for (const side of SIDES) {
      for (const n of FIXED_INDEXES) {
        await session.api.peek({ object: ctx.name(side, n), timestamp: T, timeoutMs: 60_000 });
      }
    }
    await waitFor(
      "a common time on both sides",
      async () => ((await compareRound(ctx, emptyPeekLog())) ? true : undefined),
      60_000,
      250,
    );
    const applied = await phasesApplied(ctx);
    const plugins = checksOf(sides);
    const pluginFound = new Map<string, number>();
    const pluginCompared = new Map<string, number>();
    const runPlugins = async () => {
      for (const c of plugins) {
        const tally = (n: number) =>
          pluginCompared.set(c.name, (pluginCompared.get(c.name) ?? 0) + n);
        const found = await c
          .run(ctx, tally)
          .catch((e: unknown): Difference[] => [
            { check: c.name, subject: "the check failed", diff: [(e as Error).message] },
          ]);
        differences.push(...found);
        pluginFound.set(c.name, (pluginFound.get(c.name) ?? 0) + found.length);
      }
    };
    await runPlugins();

    const t0 = performance.now();
    sampler = startSampler(ctx, { t0, statusMs: 500, memoryMs: 1000 });
    const subscribed = await startSubscribes(ctx);
    subscribes = subscribed;
    const smp = sampler.samples;
    say("steady window: peeks at fixed times, subscribes, frontiers, memory …");
    const steadyEnd = t0 + opts.seconds * 1000;
    const progress = setInterval(() => {
      const s = Math.round((performance.now() - t0) / 1000);
      const p50 = (side: Side) => summarise(peeks.latencyMs[side]).p50Ms;
      say(
        `${Math.min(s, opts.seconds)}/${opts.seconds} s: ${peeks.compared} pairs compared, ${peeks.differences.length + smp.differences.length} differences; p50 baseline ${p50("baseline")} ms, candidate ${p50("candidate")} ms`,
      );
    }, 5000);
    try {
      await compareRounds(ctx, peeks, () => performance.now() >= steadyEnd, 100);
    } finally {
      clearInterval(progress);
    }
    const tputS = Math.min(10, Math.max(2, Math.round(opts.seconds / 10)));
    say(`throughput: each side alone, in alternating 1 s windows (${tputS} s each) …`);
    const tp = await throughput(ctx, tputS, 4);
    for (const side of SIDES) {
      tput[side] = tp[side].peeksPerSecond;
      peeks.failed[side] += tp[side].failed;
    }
    sampler.setStatusInterval(50);
    await sleep(600); // the sampler's current pause ends: detection is measured at 50 ms
    if (sides.candidate.includes("replicas") && !sides.baseline.includes("replicas")) {
      for (const side of SIDES) {
        say(`SIGSTOP of the ${side}'s replica (detection by its controllers) …`);
        const d = await stopAndDetect(ctx, sampler, side, STALL_TIMEOUT_MS);
        stalls[side] = d;
        say(
          `  compute ${d.computeMs ?? "—"} ms, storage ${d.storageMs ?? "—"} ms, status ${d.statusMs ?? "—"} ms; after SIGCONT back in ${d.resumedMs ?? "—"} ms`,
        );
        if (d.resumedMs === null) {
          errors.push(
            `the ${side}'s replica did not come back within ${STALL_TIMEOUT_MS} ms of its SIGCONT`,
          );
        }
      }
    }
    for (const side of SIDES) {
      say(`kill -9 of the ${side}'s replica …`);
      const r = await killAndRehydrate(ctx, sampler, side, 60_000);
      recoveries[side] = r.recovery;
      differences.push(...r.differences);
      say(
        `  detected ${r.recovery.detectionMs ?? "—"} ms, restarted ${r.recovery.restartedMs ?? "—"} ms, reconnected ${r.recovery.reconnectedMs ?? "—"} ms, rehydrated ${r.recovery.rehydratedMs ?? "—"} ms`,
      );
    }
    sampler.setStatusInterval(500);
    say("after recovery: a last round, subscribe streams, statuses, phases …");
    const finalRound = await compareRound(ctx, peeks).catch((e: unknown) => {
      errors.push(`the last round of peeks failed: ${(e as Error).message}`);
      return true;
    });
    if (!finalRound) errors.push("no common time on both sides after recovery");
    const streams = await subscribed.stopAndCompare();
    await sleep(600); // one more status sample after the last peeks
    await sampler.stop();
    const statusDiffs = diffStatuses(
      statesOf(ctx, "baseline", sampler.last("baseline")),
      statesOf(ctx, "candidate", sampler.last("candidate")),
    );
    const appliedAfter = await phasesApplied(ctx);
    await runPlugins();
    differences.push(
      ...applied,
      ...peeks.differences,
      ...streams,
      ...sampler.samples.differences,
      ...statusDiffs,
      ...appliedAfter,
    );
    const statusCount = statesOf(ctx, "baseline", sampler.last("baseline")).size;
    checks.push(
      {
        name: "phases applied",
        describe:
          "each replica and the status run exactly the side's phases (before and after the kills)",
        compared: 2 * SIDES.length * PHASES.length,
        differences: applied.length + appliedAfter.length,
      },
      {
        name: "peeks at fixed times",
        describe: `live indexes at a common complete time, twin indexes at T: rows compared one by one (${peeks.retried} pairs read again after a compaction race, ${peeks.unreadable} given up)`,
        compared: peeks.compared,
        differences: peeks.differences.length,
      },
      {
        name: "subscribe streams",
        describe:
          "the same updates below the upper both reached; uppers advance; no update out of range",
        compared: 2,
        differences: streams.length,
      },
      {
        name: "frontiers never regress",
        describe: "every collection's write frontier and since over the status samples",
        compared: sampler.samples.statusOk,
        differences: sampler.samples.differences.length,
      },
      {
        name: "collection statuses",
        describe: "the twin collections exist alike, closed alike, failed alike",
        compared: statusCount,
        differences: statusDiffs.length,
      },
      {
        name: "recovery",
        describe: "after kill -9 each side's replica is detected, restarted and rehydrated",
        compared: SIDES.length,
        differences: differences.filter((d) => d.check === "recovery").length,
      },
      ...plugins.map((c) => ({
        name: c.name,
        describe: c.describe,
        compared: pluginCompared.get(c.name) ?? 0,
        differences: pluginFound.get(c.name) ?? 0,
      })),
    );
    if (peeks.compared === 0) {
      errors.push("no peeks were compared (a check that compared nothing proves nothing)");
    }
    if (peeks.unreadable > 0.1 * (peeks.compared + peeks.unreadable)) {
      errors.push(
        `${peeks.unreadable} of ${peeks.compared + peeks.unreadable} peek pairs found no time both sides could read (one side lagging the other by more than the compaction window): too few comparisons to judge`,
      );
    }
    report = assembleReport({
      ...header(),
      environmentdRssMb: smp.environmentdRssMb,
      sides: Object.fromEntries(
        SIDES.map((x) => [
          x,
          {
            cluster: info[x].cluster,
            clusterId: info[x].clusterId,
            phases: info[x].phases,
            peekLatency: summarise(peeks.latencyMs[x]),
            peeksFailed: peeks.failed[x],
            peeksPerSecond: tput[x],
            subscribeUpdates: subscribed.updates(x),
            freshnessMs: smp.freshness[x],
            // Steady state only: the kills' lag is in the series (and the plot), not here.
            freshness: summarise(
              smp.freshness[x].filter(([t]) => t <= opts.seconds * 1000).map(([, v]) => v),
            ),
            viewLagMs: smp.viewLag[x],
            replicaRssMb: smp.replicaRssMb[x],
            recovery: recoveries[x],
            stall: stalls[x],
          },
        ]),
      ) as EvaluationReport["sides"],
    });
  } catch (e) {
    errors.push((e as Error).stack ?? String(e));
  } finally {
    // Idempotent: already done when the run got to its end.
    await subscribes?.stopAndCompare().catch(() => []);
    await sampler?.stop();
    await session?.close();
  }
  // The run broke before it could measure: still a report, failing, saying why.
  report ??= assembleReport({
    ...header(),
    environmentdRssMb: [],
    sides: {
      baseline: emptySide(sides.baseline),
      candidate: emptySide(sides.candidate),
    },
  });
  const dir = reportDir(opts.outDir ?? "evaluation", opts.target, started);
  writeReport(dir, report, renderHtml(report));
  for (const d of report.differences) log(formatDifference(d));
  for (const e of report.errors) log(`evaluate: error: ${e}`);
  say(`verdict ${report.verdict.toUpperCase()}; report in ${dir}/report.html`);
  return { report, dir };
}
