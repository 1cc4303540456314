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
 * are hydrated and again at the end of the run: e.g. `logging` will compare the introspection
 * schema (`mz_introspection.*` relations and columns) of the two clusters. A check returns
 * `Difference`s; any fails the verdict.
 */
import { BUILT_PHASES, isPhase, PHASES, type Phase, PREREQUISITES } from "@mzts/flags";
import type { Difference } from "./compare.js";
import type { EvaluationContext } from "./context.js";

/** `pnpm evaluate`'s first argument. */
export type Target = Phase | "all";

export function isTarget(value: string): value is Target {
  return value === "all" || isPhase(value);
}

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
  run(ctx: EvaluationContext): Promise<Difference[]>;
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
  async run(ctx) {
    const [a, b] = await Promise.all([
      metricFamilies(ctx.replicaUrl("baseline")),
      metricFamilies(ctx.replicaUrl("candidate")),
    ]);
    const missing = [...a].filter((m) => !b.has(m)).sort();
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

/** Each phase's own checks (the plug-in table; a phase that lands adds its entry). */
export const PHASE_CHECKS: { readonly [P in Phase]: readonly PhaseCheck[] } = {
  servers: [serverMetrics],
  replicas: [],
  logging: [],
  client: [],
  state: [],
};

/** The checks of every phase the candidate runs beyond the baseline. */
export function checksOf(sides: Sides): PhaseCheck[] {
  return sides.candidate.filter((p) => !sides.baseline.includes(p)).flatMap((p) => PHASE_CHECKS[p]);
}
