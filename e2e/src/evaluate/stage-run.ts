/**
 * `pnpm evaluate <phase> --stage shadow|live` (`main.ts`): the evaluation's deterministic
 * workload (`workload.ts`) with the candidate cluster's phase in a middle migration stage
 * instead of `complete` (docs/design/20261207_migration_stages.md), on TWO replicas so the
 * stage splits them (`r1` takes the authoritative path, `r2` the other):
 *
 * 1. One environmentd (`session.ts`) whose flags file serves the phase's flag as the stage to
 *    the candidate cluster (`flags-file.ts`); the workload on both sides, `r2` added to the
 *    candidate; both replicas hydrated (a targeted peek of every fixed index on each). In a
 *    `state` stage the replicas are not split: both controller states run on both replicas,
 *    so the slot layout and the per-path histogram are not required of it.
 * 2. For `seconds`: rounds of peeks at fixed times, candidate vs baseline (`peeks.ts`); each of
 *    the candidate's peeks is also compared by environmentd across its two replicas.
 *    Meanwhile the candidate's comparison counts are sampled every second, and the plain
 *    evaluation's sampler (`sampler.ts`) records memory and frontier lag over time.
 * 3. The candidate's `migrations` status: the comparison counts, per-path latency and errors;
 *    the per-path latency distributions from environmentd's `/metrics`
 *    (`mz_cluster_unification_path_latency_seconds`, `pathLatencyOf`).
 *
 * Verdict: pass iff the rounds found no difference, the candidate compared at least one peek,
 * counted no inconsistency, both replicas ran their slots (for `replicas`: each replica's
 * connections ran its slot's replica task, `replica-tasks.ts`), both paths' latencies were
 * measured and no frontier moved back. Timeouts and fallbacks are reported, not failed (a slow replica
 * under load). Writes `<out>/<phase>-<stage>-<date>/report.json` and `report.html`
 * (`stage-html.ts`); everything started is stopped (`session.ts`).
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { loadavg } from "node:os";
import { join } from "node:path";
import type { Phase } from "@mzts/flags";
import type { MigrationPath, MigrationStatus } from "@mzts/protocol";
import { T } from "../harness/auction-workload.js";
import { type Sample, scrape, sleep, waitFor } from "../harness/environment.js";
import type { Difference } from "./compare.js";
import { formatDifference } from "./compare.js";
import { evaluationContext, SIDES } from "./context.js";
import { writeEvaluationFlags } from "./flags-file.js";
import { compareRound, compareRounds, emptyPeekLog } from "./peeks.js";
import { sidesOf } from "./phases.js";
import { connectedReplicaTasks, expectedReplicaTasks } from "./replica-tasks.js";
import { reportDir } from "./report.js";
import { startSampler } from "./sampler.js";
import { openSession, type Session } from "./session.js";
import { renderStageHtml } from "./stage-html.js";
import { type Series, summarise } from "./stats.js";
import {
  CLUSTER_NAME,
  createWorkload,
  EXPECTED_IDS,
  FIXED_INDEXES,
  LIVE_INDEXES,
} from "./workload.js";

/** The stages `--stage` takes (the two that compare). */
export const COMPARED_STAGES = ["shadow", "live"] as const;
export type ComparedStage = (typeof COMPARED_STAGES)[number];

export interface StageRunOptions {
  readonly phase: Phase;
  readonly stage: ComparedStage;
  /** The window of peek rounds (s). */
  readonly seconds: number;
  readonly outDir?: string;
  readonly log?: (line: string) => void;
}

/** The histogram of compared peeks' first answers per path (`mz_cluster_unification_path_latency_seconds`). */
export interface PathLatencyHistogram {
  /** Upper bounds (ms) of the buckets; a last bucket counts the answers above them. */
  readonly bucketsMs: readonly number[];
  /** Answers per bucket (not cumulative), per path. */
  readonly byPath: { readonly [P in MigrationPath]: readonly number[] };
}

/** (ms since the start, consistent, inconsistent, timeout, fallback), sampled over the window. */
export type ComparisonSample = readonly [number, number, number, number, number];

export interface StageReport {
  readonly phase: Phase;
  readonly stage: ComparedStage;
  readonly started: string;
  readonly seconds: number;
  readonly verdict: "pass" | "fail";
  /** The candidate's migration status at the end (environmentd's comparisons). */
  readonly migration: MigrationStatus | null;
  /** Peek pairs compared, candidate vs baseline, and their differences. */
  readonly peeks: {
    readonly compared: number;
    readonly differences: readonly Difference[];
    readonly latencyMs: Record<string, ReturnType<typeof summarise>>;
  };
  /** The candidate's comparison counts over time. */
  readonly comparisons: readonly ComparisonSample[];
  /** Per-path latency distributions of the candidate (null: not scraped). */
  readonly pathLatency: PathLatencyHistogram | null;
  /** The candidate's connected replica tasks at the end (`replica-tasks.ts`). */
  readonly replicaTasks: readonly string[];
  /** Memory and frontier lag over time, per side (the plain evaluation's sampler). */
  readonly samples: {
    readonly freshnessMs: Record<string, Series>;
    readonly viewLagMs: Record<string, Series>;
    readonly replicaRssMb: Record<string, Series>;
    readonly environmentdRssMb: Series;
  };
  readonly problems: readonly string[];
  readonly host: { readonly loadavg: readonly number[] };
}

const PATH_LATENCY = "mz_cluster_unification_path_latency_seconds_bucket";

/**
 * The per-path latency histogram of instance `instanceId` from environmentd's metrics (summed
 * over the `phase` label); null when neither path has a bucket.
 */
export function pathLatencyOf(
  samples: readonly Sample[],
  instanceId: string,
): PathLatencyHistogram | null {
  const cumulative = new Map<MigrationPath, Map<number, number>>();
  for (const s of samples) {
    if (s.name !== PATH_LATENCY || s.labels.instance_id !== instanceId) continue;
    const path = s.labels.path;
    if (path !== "legacy" && path !== "unified") continue;
    const le = s.labels.le === "+Inf" ? Number.POSITIVE_INFINITY : Number(s.labels.le);
    const m = cumulative.get(path) ?? new Map<number, number>();
    m.set(le, (m.get(le) ?? 0) + s.value);
    cumulative.set(path, m);
  }
  if (cumulative.size === 0) return null;
  const bounds = [
    ...new Set([...cumulative.values()].flatMap((m) => [...m.keys()].filter(Number.isFinite))),
  ].sort((a, b) => a - b);
  const counts = (path: MigrationPath) => {
    const m = cumulative.get(path) ?? new Map<number, number>();
    const at = [...bounds, Number.POSITIVE_INFINITY].map((b) => m.get(b) ?? 0);
    return at.map((c, i) => c - (i === 0 ? 0 : (at[i - 1] as number)));
  };
  return {
    bucketsMs: bounds.map((b) => Math.round(b * 1e6) / 1e3),
    byPath: { legacy: counts("legacy"), unified: counts("unified") },
  };
}

export type StageRunResult =
  | { readonly skipped: string; readonly report?: undefined }
  | { readonly report: StageReport; readonly dir: string; readonly skipped?: undefined };

export async function runStageEvaluation(opts: StageRunOptions): Promise<StageRunResult> {
  const log = opts.log ?? ((l: string) => process.stderr.write(`${l}\n`));
  const sides = sidesOf(opts.phase);
  if (sides.skipped.length > 0) return { skipped: sides.skipped.map((s) => s.reason).join("; ") };
  const say = (l: string) => log(`evaluate ${opts.phase} --stage ${opts.stage}: ${l}`);
  // Every phase but `state` splits the candidate's replicas between the paths (a slot each);
  // in a `state` stage both controllers run on every replica.
  const splitsReplicas = opts.phase !== "state";
  const started = new Date();
  const problems: string[] = [];
  const peeks = emptyPeekLog();
  let migration: MigrationStatus | undefined;
  const comparisons: ComparisonSample[] = [];
  let pathLatency: PathLatencyHistogram | null = null;
  let replicaTasks: string[] = [];
  let samples: StageReport["samples"] = {
    freshnessMs: {},
    viewLagMs: {},
    replicaRssMb: {},
    environmentdRssMb: [],
  };
  let session: Session | undefined;
  try {
    session = await openSession({
      writeFlags: (file) =>
        writeEvaluationFlags(file, {
          candidateClusterId: EXPECTED_IDS.candidate,
          baseline: sides.baseline,
          candidate: sides.candidate,
          stage: opts.stage,
        }),
    });
    say(`environmentd up (data directory ${session.dataDir})`);
    const info = await createWorkload(
      session.api,
      { baseline: sides.baseline, candidate: sides.candidate },
      say,
    );
    await session.api.createReplica(CLUSTER_NAME.candidate, "r2", 1);
    const ctx = evaluationContext(session, info);
    say("waiting for both sides (and both candidate replicas) to hydrate …");
    for (const n of FIXED_INDEXES) {
      await session.api.peek({ object: ctx.name("baseline", n), timestamp: T, timeoutMs: 60_000 });
      for (const replica of ["r1", "r2"]) {
        const object = ctx.name("candidate", n);
        await session.api.peek({ object, timestamp: T, timeoutMs: 60_000, replica });
      }
    }
    for (const n of LIVE_INDEXES) {
      for (const replica of ["r1", "r2"]) {
        await session.api.peek({ object: ctx.name("candidate", n), timeoutMs: 60_000, replica });
      }
    }
    await waitFor(
      "a common time on both sides",
      async () => ((await compareRound(ctx, emptyPeekLog())) ? true : undefined),
      60_000,
      250,
    );
    const api = session.api;
    const candidate = async () =>
      (await api.status(CLUSTER_NAME.candidate)).clusters[0]?.migrations?.find(
        (m) => m.flag === `cluster-unification-${opts.phase}`,
      );
    const before = await candidate();
    say(`slots: ${before?.slots.map((s) => `${s.replica} ${s.slot ?? "(neither)"}`).join(", ")}`);
    const t0 = performance.now();
    const end = t0 + opts.seconds * 1000;
    const sampler = startSampler(ctx, { t0, statusMs: 500, memoryMs: 1000 });
    let ticks = 0;
    const sample = async () => {
      const m = await candidate().catch(() => undefined);
      if (m === undefined) return;
      comparisons.push([
        Math.round(performance.now() - t0),
        m.consistent,
        m.inconsistent,
        m.timeout,
        m.fallback,
      ]);
      if (++ticks % 5 === 0) {
        say(
          `${peeks.compared} pairs vs baseline, ${peeks.differences.length} differences; replicas compared ${m.consistent} consistent, ${m.inconsistent} inconsistent`,
        );
      }
    };
    const progress = setInterval(() => void sample(), 1000);
    try {
      await compareRounds(ctx, peeks, () => performance.now() >= end, 100);
    } finally {
      clearInterval(progress);
    }
    await sleep(1000); // the last comparisons settle (the other path's answer)
    await sample();
    await sampler.stop();
    const s = sampler.samples;
    samples = {
      freshnessMs: s.freshness,
      viewLagMs: s.viewLag,
      replicaRssMb: s.replicaRssMb,
      environmentdRssMb: s.environmentdRssMb,
    };
    for (const d of s.differences) problems.push(formatDifference(d));
    const metrics = await scrape(session.env.httpUrl);
    pathLatency = pathLatencyOf(metrics, info.candidate.clusterId);
    replicaTasks = connectedReplicaTasks(metrics, info.candidate.clusterId);
    const measured = (p: MigrationPath) =>
      (pathLatency?.byPath[p] ?? []).reduce((a, b) => a + b, 0) > 0;
    // `state` compares the two controllers' derived state, not the replicas' answers: its
    // per-path figures are status's alone.
    if (splitsReplicas && (!measured("legacy") || !measured("unified"))) {
      problems.push(
        `environmentd's mz_cluster_unification_path_latency_seconds lacks a path of ${info.candidate.cluster} (legacy ${measured("legacy")}, unified ${measured("unified")})`,
      );
    }
    migration = await candidate();
    if (opts.phase === "replicas" && migration !== undefined) {
      // The split is per replica task: each replica's connections run its slot's task.
      const replicas = (await api.status(CLUSTER_NAME.candidate)).clusters[0]?.replicas ?? [];
      const want = expectedReplicaTasks(
        migration.slots.flatMap((s) => {
          const id = replicas.find((r) => r.name === s.replica)?.id;
          return id === undefined || s.slot === undefined ? [] : [{ id, task: s.slot }];
        }),
      );
      if (JSON.stringify(replicaTasks) !== JSON.stringify(want)) {
        problems.push(
          `the candidate's replicas run the replica tasks ${JSON.stringify(replicaTasks)}, not their slots' ${JSON.stringify(want)} (mz_controller_replica_task)`,
        );
      }
    }
    if (migration === undefined) problems.push("the candidate reports no migrating phase");
    else {
      if (migration.stage !== opts.stage) {
        problems.push(
          `the candidate's ${opts.phase} runs stage ${migration.stage}, not ${opts.stage}`,
        );
      }
      const slots = migration.slots.map((s) => s.slot).sort();
      if (splitsReplicas && JSON.stringify(slots) !== JSON.stringify(["legacy", "unified"])) {
        problems.push(
          `the candidate's replicas run slots ${JSON.stringify(slots)}, not one of each`,
        );
      }
      if (migration.inconsistent > 0) {
        problems.push(
          `${migration.inconsistent} inconsistent comparison(s); last: ${migration.lastInconsistency ?? "?"}`,
        );
      }
      if (migration.consistent === 0) {
        problems.push(
          "no peek was compared across the paths (a check that compared nothing proves nothing)",
        );
      }
    }
    if (peeks.compared === 0) problems.push("no peek pair was compared with the baseline");
    for (const d of peeks.differences) problems.push(formatDifference(d));
  } catch (e) {
    problems.push((e as Error).stack ?? String(e));
  } finally {
    await session?.close();
  }
  const report: StageReport = {
    phase: opts.phase,
    stage: opts.stage,
    started: started.toISOString(),
    seconds: opts.seconds,
    verdict: problems.length === 0 ? "pass" : "fail",
    migration: migration ?? null,
    peeks: {
      compared: peeks.compared,
      differences: peeks.differences,
      latencyMs: Object.fromEntries(SIDES.map((s) => [s, summarise(peeks.latencyMs[s])])),
    },
    comparisons,
    pathLatency,
    replicaTasks,
    samples,
    problems,
    host: { loadavg: loadavg() },
  };
  const dir = reportDir(opts.outDir ?? "evaluation", `${opts.phase}-${opts.stage}`, started);
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    join(dir, "report.json"),
    `${JSON.stringify(report, (_k, v) => (typeof v === "bigint" ? `${v}` : v), 2)}\n`,
  );
  writeFileSync(join(dir, "report.html"), renderStageHtml(report));
  const m = report.migration;
  say(
    m === null
      ? "no migration status"
      : `comparisons: ${m.consistent} consistent, ${m.inconsistent} inconsistent, ${m.timeout} timeout, ${m.fallback} fallback; ${m.paths
          .map(
            (p) =>
              `${p.path} p50 ${p.p50Ms} ms p99 ${p.p99Ms} ms (${p.answers} answers, ${p.errors} errors)`,
          )
          .join("; ")}`,
  );
  for (const p of problems) log(`evaluate: problem: ${p}`);
  return { report, dir };
}
