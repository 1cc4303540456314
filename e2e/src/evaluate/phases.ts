/**
 * What `pnpm evaluate <phase|all>` compares, and the per-phase plug-in table.
 *
 * ## Sides
 * - `<phase>`: the baseline cluster has the phase's prerequisites (transitively) in force and the
 *   phase off; the candidate cluster has the prerequisites and the phase. So `logging` compares
 *   servers vs servers + logging, never two phases at once.
 * - `all`: the baseline has every phase off; the candidate every built phase on.
 * - A phase that is not built (`BUILT_PHASES` of `@mzts/flags`), or whose prerequisites are not,
 *   is skipped with a message saying so; `all` lists the phases it skipped.
 *
 * ## Plug-ins (`PHASE_CHECKS`)
 * Every run makes the common comparisons (peeks at fixed times, subscribe streams, frontiers,
 * statuses, the phases each replica runs). A phase adds its own checks here, run once both sides
 * are hydrated and again at the end of the run (after the kills): `servers` checks the replica's
 * metric vocabulary; `replicas` that status reports the candidate's replica seams on the unified
 * replica task and the baseline's on the legacy ones, and that environmentd's
 * `mz_controller_replica_task` has each replica connected through that task (`controllers.ts`);
 * `logging` that the unified log host runs on the candidate only, and the introspection of both clusters
 * (`introspection.ts`: the schema listed, storage relations served by the candidate only,
 * compute relations' deterministic columns alike); `client` that the candidate's replica is
 * reached over one TCP connection and the baseline's over one per workload (`client.ts`); `state`
 * that status reports the candidate's cluster on one unified controller state and the baseline's
 * on the legacy pair (`controllers.ts`; the common comparisons are the rest of its evidence). A check
 * returns `Difference`s; any fails the verdict.
 */
import { BUILT_PHASES, PHASES, type Phase, PREREQUISITES } from "@mzts/flags";
import { LOG_RELATIONS } from "@mzts/protocol";
import { clientConnectionsCheck } from "./client.js";
import type { Difference } from "./compare.js";
import type { EvaluationContext } from "./context.js";
import { controllerPathsCheck, statePathCheck } from "./controllers.js";
import {
  diffComputeRelations,
  diffIntrospectionSchema,
  diffStorageRelations,
  type IntrospectionView,
  readIntrospection,
} from "./introspection.js";

import type { Target } from "./target.js";

export { isTarget, type Target } from "./target.js";

/** The phases each side runs, or why the target was skipped. */
export interface Sides {
  /** `servers`, `logging`, …, or `all`. */
  readonly label: Target;
  readonly baseline: readonly Phase[];
  readonly candidate: readonly Phase[];
  /** Phases left out, each with the reason (not built, a prerequisite not built). */
  readonly skipped: ReadonlyArray<{ readonly phase: Phase; readonly reason: string }>;
}

/** Every prerequisite of `phase`, transitively, in `PHASES` order. */
export function prerequisitesOf(phase: Phase): Phase[] {
  const need = new Set<Phase>();
  const visit = (p: Phase) => {
    for (const q of PREREQUISITES[p]) {
      need.add(q);
      visit(q);
    }
  };
  visit(phase);
  return PHASES.filter((p) => need.has(p));
}

/** Why `phase` cannot be evaluated in this build, or undefined when it can. */
export function notBuilt(phase: Phase, built: readonly Phase[] = BUILT_PHASES): string | undefined {
  if (!built.includes(phase)) return `phase ${phase} is not built (built: ${built.join(", ")})`;
  const missing = prerequisitesOf(phase).filter((p) => !built.includes(p));
  if (missing.length > 0) {
    return `phase ${phase} needs ${missing.join(", ")}, which ${missing.length === 1 ? "is" : "are"} not built`;
  }
  return undefined;
}

/** The sides of `target`; `candidate` is empty when nothing is left to evaluate. */
export function sidesOf(target: Target, built: readonly Phase[] = BUILT_PHASES): Sides {
  if (target !== "all") {
    const reason = notBuilt(target, built);
    if (reason !== undefined) {
      return { label: target, baseline: [], candidate: [], skipped: [{ phase: target, reason }] };
    }
    const baseline = prerequisitesOf(target);
    return { label: target, baseline, candidate: [...baseline, target], skipped: [] };
  }
  const skipped: Array<{ phase: Phase; reason: string }> = [];
  const candidate: Phase[] = [];
  for (const p of PHASES) {
    const reason = notBuilt(p, built);
    if (reason === undefined) candidate.push(p);
    else skipped.push({ phase: p, reason });
  }
  return { label: "all", baseline: [], candidate, skipped };
}

/** A phase's own comparison (see the file comment). */
export interface PhaseCheck {
  readonly name: string;
  /** One line for the report: what it compares. */
  readonly describe: string;
  /** The differences found; `tally(n)` says how many things it compared (the report's count). */
  run(ctx: EvaluationContext, tally?: (compared: number) => void): Promise<Difference[]>;
}

/** The metric families (`mz_*`) a replica exposes on `/metrics`. */
async function metricFamilies(url: string): Promise<Set<string>> {
  const res = await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(5000) });
  if (!res.ok) throw new Error(`GET ${url}/metrics: ${res.status}`);
  const out = new Set<string>();
  for (const line of (await res.text()).split("\n")) {
    const m = /^# TYPE (mz_\S+) /.exec(line);
    if (m !== null) out.add(m[1] as string);
  }
  return out;
}

/**
 * servers: the unified server keeps the legacy servers' metric vocabulary, so dashboards and
 * alerts keep working when the phase flips: every `mz_*` family the baseline replica exposes,
 * the candidate's exposes too (it may add its own).
 */
const serverMetrics: PhaseCheck = {
  name: "replica metric families",
  describe: "every mz_* metric family of the baseline replica is exposed by the candidate's",
  async run(ctx, tally) {
    const [a, b] = await Promise.all([
      metricFamilies(ctx.replicaUrl("baseline")),
      metricFamilies(ctx.replicaUrl("candidate")),
    ]);
    const missing = [...a].filter((m) => !b.has(m)).sort();
    tally?.(a.size);
    if (missing.length === 0) return [];
    return [
      {
        check: "servers",
        subject: "replica metric families",
        diff: missing.map((m) => `- ${m}`),
      },
    ];
  },
};

/** One sample's value (0 when absent) from Prometheus text. */
function sampleOf(text: string, series: string): number {
  for (const line of text.split("\n")) {
    if (line.startsWith(`${series} `)) return Number(line.slice(series.length + 1));
  }
  return 0;
}

/** Longest wait for the candidate's log host to show its totals (see `unifiedLogHost`). */
const LOG_SETTLE_MS = 10_000;

const LOG_SERIES = [
  'mz_cluster_introspection_events_total{workload="compute"}',
  'mz_cluster_introspection_events_total{workload="storage"}',
  "mz_cluster_introspection_log_records",
] as const;

/**
 * logging: the unified log host (`mz-cluster/src/logging`) runs on the candidate's replica only —
 * it applied events raised by compute and by storage (forwarded) and holds log records — and the
 * baseline's stays idle (its compute logs through the legacy host). What the two hosts log is
 * compared by the introspection checks after it.
 */
const unifiedLogHost: PhaseCheck = {
  name: "unified log host",
  describe:
    "the candidate replica's log host applied compute and storage events and holds records; the baseline's is idle",
  async run(ctx, tally) {
    const text = async (url: string) => {
      const res = await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(5000) });
      if (!res.ok) throw new Error(`GET ${url}/metrics: ${res.status}`);
      return res.text();
    };
    // The host reports its totals once a second and starts empty after a restart (the kill -9
    // of the recovery step): give the candidate a few seconds to show records before judging.
    let a = "";
    let b = "";
    const deadline = Date.now() + (ctx.logSettleMs ?? LOG_SETTLE_MS);
    for (;;) {
      [a, b] = await Promise.all([
        text(ctx.replicaUrl("baseline")),
        text(ctx.replicaUrl("candidate")),
      ]);
      if (LOG_SERIES.every((s) => sampleOf(b, s) > 0) || Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    const lines: string[] = [];
    tally?.(2 * LOG_SERIES.length);
    for (const series of LOG_SERIES) {
      const base = sampleOf(a, series);
      const cand = sampleOf(b, series);
      if (base !== 0) lines.push(`- ${series} ${base} (the baseline's host should be idle)`);
      if (!(cand > 0)) {
        lines.push(
          `+ ${series} ${cand} (the candidate's host should be logging; 0 = no log index installed: does environmentd send the logging configuration?)`,
        );
      }
    }
    return lines.length === 0
      ? []
      : [{ check: "logging", subject: "unified log host", diff: lines }];
  },
};

/** One read of both sides' introspection shared by the checks of one `runPlugins` (≤ 10 s old). */
const introspectionReads = new WeakMap<
  EvaluationContext,
  { readonly atMs: number; readonly read: ReturnType<typeof readIntrospection> }
>();
function introspectionOf(ctx: EvaluationContext): ReturnType<typeof readIntrospection> {
  const cached = introspectionReads.get(ctx);
  if (cached !== undefined && performance.now() - cached.atMs < 10_000) return cached.read;
  const read = readIntrospection(ctx);
  introspectionReads.set(ctx, { atMs: performance.now(), read });
  return read;
}

/** A logging check over both sides' introspection (`introspection.ts`). */
const introspectionCheck = (
  name: string,
  describe: string,
  diff: (a: IntrospectionView, b: IntrospectionView) => Difference[],
  /** What it compares (the report's count). */
  compared: (a: IntrospectionView, b: IntrospectionView) => number,
): PhaseCheck => ({
  name,
  describe,
  async run(ctx, tally) {
    const read = await introspectionOf(ctx);
    tally?.(compared(read.baseline, read.candidate));
    return diff(read.baseline, read.candidate);
  },
});

/** Rows both sides answered for the relations of `workload`. */
const rowsAnswered =
  (workload: "compute" | "storage") => (a: IntrospectionView, b: IntrospectionView) =>
    [a, b]
      .flatMap((v) =>
        LOG_RELATIONS.filter((r) => r.workload === workload).map((r) => v.answers.get(r.name)),
      )
      .reduce((n, o) => n + (o?.ok === true ? o.rows.length : 1), 0);

/** Each phase's own checks (the plug-in table; a phase that lands adds its entry). */
export const PHASE_CHECKS: { readonly [P in Phase]: readonly PhaseCheck[] } = {
  servers: [serverMetrics],
  replicas: [controllerPathsCheck],
  logging: [
    unifiedLogHost,
    introspectionCheck(
      "introspection schema",
      "ListObjects: both clusters list the same mz_introspection relations, columns and keys",
      diffIntrospectionSchema,
      (a, b) => a.listed.length + b.listed.length,
    ),
    introspectionCheck(
      "storage relations",
      "the candidate's replica serves every storage relation, naming only its own sources; the baseline's refuses them",
      diffStorageRelations,
      rowsAnswered("storage"),
    ),
    introspectionCheck(
      "compute relations",
      "each compute relation's deterministic columns at one log time, ids mapped by name (objects of both sides); every export hydrated on both",
      diffComputeRelations,
      rowsAnswered("compute"),
    ),
  ],
  client: [clientConnectionsCheck],
  state: [statePathCheck],
};

/** The checks of every phase the candidate runs beyond the baseline. */
export function checksOf(sides: Sides): PhaseCheck[] {
  return sides.candidate.filter((p) => !sides.baseline.includes(p)).flatMap((p) => PHASE_CHECKS[p]);
}
