/**
 * Peek comparison for migration stages (docs/design/20261207_migration_stages.md): in a cluster
 * whose replicas are split between a phase's legacy and unified paths, every peek already goes
 * to every replica; the first answer from the **authoritative** path settles the caller, and the
 * first answer from the **other** path is compared with it.
 *
 * ## Rules (applied by `pending-peeks.ts`)
 * - An answer from the authoritative path settles the caller at once. With no replica of the
 *   authoritative path connected, the first answer from any replica settles it (`fallback`):
 *   availability is never traded for the comparison. A caller timeout while an answer of the
 *   other path is held settles with that answer (`fallback`) rather than failing.
 * - An answer of the other path that arrives first is held until the authoritative one.
 * - Comparing (only when the stage compares, `compare`): both answers are rows (compared as
 *   multisets of rows with counts, `diffOutcomes`) or both errors (compared by message); a
 *   replica's cancel is neither. The peek's `cancelPeek` and the release of its read hold wait
 *   until the other path has answered or `timeoutMs` passed (`timeout`), so the other replicas
 *   are not told to stop reading before they answered.
 * - Targeted peeks (log indexes, `targetReplica`) are never compared.
 *
 * Each finished comparison is reported once (`ComparisonRecord`); the instance counts it in
 * `mz_cluster_unification_comparisons_total{instance_id, phase, result}` and the latency of each
 * path's first answer in `mz_cluster_unification_path_latency_seconds{instance_id, phase, path}`,
 * and the errors of each path in `mz_cluster_unification_path_errors_total{instance_id, phase,
 * path}`, and logs the first difference of an inconsistent one.
 */
import { compareRows, Datum, type ReplicaId, rowKey } from "@mzts/repr";
import { Counter, Histogram, type Registry } from "prom-client";
import type { PeekOutcome, PeekRows } from "./peek.js";

/** Which path of the migrating phase a replica runs. */
export type PathSlot = "legacy" | "unified";

/**
 * How a cluster's replicas are split between a migrating phase's paths, as the composition root
 * (environmentd) knows it; absent = no migration in progress.
 */
export interface PathSplit {
  /** The migrating phase (labels and logs). */
  readonly phase: string;
  /** Whose answers count. */
  readonly authoritative: PathSlot;
  /** Whether the other path's answers are compared (shadow, live) or only served (dualwrite, rampdown). */
  readonly compare: boolean;
  /** The path `replicaId` runs; undefined = not part of the split. */
  slotOf(replicaId: ReplicaId): PathSlot | undefined;
  /** How long the other path's answer is waited for after the caller was answered (default 5 s). */
  readonly timeoutMs?: number;
  /**
   * Test hook (never set in production): rewrites the non-authoritative answer before it is
   * compared (the caller is never served the rewritten one), so an e2e test can prove that a
   * difference is counted. Applied in `PeekComparison.finish`.
   */
  readonly perturbOther?: (outcome: PeekOutcome) => PeekOutcome;
}

/** A split with the instance's view of its replicas' connections. */
export interface PeekComparisonConfig extends PathSplit {
  /** Whether some replica on `slot` is connected now. */
  connected(slot: PathSlot): boolean;
}

/** How one comparison ended. */
export type ComparisonResult = "consistent" | "inconsistent" | "timeout" | "fallback";

/** One finished comparison (or fallback). */
export interface ComparisonRecord {
  readonly uuid: string;
  readonly phase: string;
  readonly result: ComparisonResult;
  /** The path whose answer settled the caller. */
  readonly servedBy: PathSlot;
  /** Milliseconds from issue to each path's first answer, when it came. */
  readonly latencyMs: { readonly legacy?: number; readonly unified?: number };
  /** The first difference, for `inconsistent`. */
  readonly difference?: string;
  /** The paths whose first answer was an error (a replica's cancel is not one). */
  readonly errors: readonly PathSlot[];
}

/** The default time the other path is waited for. */
export const COMPARISON_TIMEOUT_MS = 5000;

/** The other path. */
export function otherSlot(slot: PathSlot): PathSlot {
  return slot === "legacy" ? "unified" : "legacy";
}

/**
 * The first difference between two answers, or undefined when they agree (rows as multisets of
 * rows with counts; errors by message; a cancel agrees with nothing but a cancel).
 */
export function diffOutcomes(a: PeekOutcome, b: PeekOutcome): string | undefined {
  if (a.result !== b.result) return `one answered ${a.result}, the other ${b.result}`;
  if (a.result === "rows" && b.result === "rows") return diffRows(a.rows, b.rows);
  if (a.result !== "rows" && b.result !== "rows" && a.error.message !== b.error.message) {
    return `errors differ: ${JSON.stringify(a.error.message)} vs ${JSON.stringify(b.error.message)}`;
  }
  return undefined;
}

/** The first difference between two row multisets, or undefined when they are equal. */
export function diffRows(a: PeekRows, b: PeekRows): string | undefined {
  const counts = new Map<string, { row: PeekRows[number][0]; n: number }>();
  for (const [row, n] of a) {
    const k = rowKey(row);
    const e = counts.get(k);
    if (e) e.n += n;
    else counts.set(k, { row, n });
  }
  for (const [row, n] of b) {
    const k = rowKey(row);
    const e = counts.get(k);
    if (e) e.n -= n;
    else counts.set(k, { row, n: -n });
  }
  const diffs = [...counts.values()].filter((e) => e.n !== 0);
  if (diffs.length === 0) return undefined;
  diffs.sort((x, y) => compareRows(x.row, y.row));
  const first = diffs[0]!;
  const show = `(${first.row.map((d) => Datum.format(d)).join(", ")})`;
  return (
    `${diffs.length} row(s) differ; first: ${show} occurs ${Math.abs(first.n)} more time(s) in the ` +
    `${first.n > 0 ? "authoritative" : "other"} answer`
  );
}

/** The comparison metrics of one registry (created once, shared by every instance). */
export interface ComparisonMetrics {
  readonly comparisons: Counter<"instance_id" | "phase" | "result">;
  readonly pathLatency: Histogram<"instance_id" | "phase" | "path">;
  readonly pathErrors: Counter<"instance_id" | "phase" | "path">;
}

const byRegistry = new WeakMap<Registry, ComparisonMetrics>();

/** The comparison metrics of `registry`. */
export function comparisonMetrics(registry: Registry): ComparisonMetrics {
  const existing = byRegistry.get(registry);
  if (existing !== undefined) return existing;
  const registers = [registry];
  const metrics: ComparisonMetrics = {
    comparisons: new Counter({
      name: "mz_cluster_unification_comparisons_total",
      help: "Peeks answered on both paths of a migrating phase, by how the answers compared.",
      labelNames: ["instance_id", "phase", "result"] as const,
      registers,
    }),
    pathLatency: new Histogram({
      name: "mz_cluster_unification_path_latency_seconds",
      help: "Time from a peek to each path's first answer, in a migrating phase.",
      labelNames: ["instance_id", "phase", "path"] as const,
      buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5],
      registers,
    }),
    pathErrors: new Counter({
      name: "mz_cluster_unification_path_errors_total",
      help: "Peeks whose first answer on a path of a migrating phase was an error, by path.",
      labelNames: ["instance_id", "phase", "path"] as const,
      registers,
    }),
  };
  byRegistry.set(registry, metrics);
  return metrics;
}

/** A peek's comparison state while its answers come in. */
export class PeekComparison {
  readonly config: PeekComparisonConfig;
  /** The first answer of each path, with its latency. */
  readonly answers = new Map<PathSlot, { readonly outcome: PeekOutcome; readonly ms: number }>();
  /** The path whose answer settled the caller, once it did. */
  servedBy: PathSlot | undefined;
  /** Waits for the other path after the caller was settled. */
  timer: NodeJS.Timeout | undefined;

  constructor(config: PeekComparisonConfig) {
    this.config = config;
  }

  /** Records `slot`'s first answer; false when that path had answered already. */
  record(slot: PathSlot, outcome: PeekOutcome, ms: number): boolean {
    if (this.answers.has(slot)) return false;
    this.answers.set(slot, { outcome, ms });
    return true;
  }

  /** Whether an answer from `slot` settles the caller now. */
  settles(slot: PathSlot): boolean {
    const a = this.config.authoritative;
    return slot === a || !this.config.connected(a);
  }

  /** Whether, the caller being settled, the other path's answer is still to be waited for. */
  awaitsOther(): boolean {
    const served = this.servedBy;
    if (served === undefined || !this.config.compare || served !== this.config.authoritative) {
      return false;
    }
    const other = otherSlot(served);
    return !this.answers.has(other) && this.config.connected(other);
  }

  /**
   * The record of this comparison now (`timeout` when the other path never answered); undefined
   * when there is nothing to report (the stage does not compare and the authoritative path served).
   */
  finish(uuid: string): ComparisonRecord | undefined {
    const served = this.servedBy ?? this.config.authoritative;
    const latencyMs: { legacy?: number; unified?: number } = {};
    const errors: PathSlot[] = [];
    for (const [slot, a] of this.answers) {
      latencyMs[slot] = a.ms;
      if (a.outcome.result === "error") errors.push(slot);
    }
    const base = { uuid, phase: this.config.phase, servedBy: served, latencyMs, errors };
    if (served !== this.config.authoritative) return { ...base, result: "fallback" };
    if (!this.config.compare) return undefined;
    const mine = this.answers.get(served);
    const theirs = this.answers.get(otherSlot(served));
    if (mine === undefined || theirs === undefined) return { ...base, result: "timeout" };
    const perturb = this.config.perturbOther;
    const other = perturb === undefined ? theirs.outcome : perturb(theirs.outcome);
    const difference = diffOutcomes(mine.outcome, other);
    return difference === undefined
      ? { ...base, result: "consistent" }
      : { ...base, result: "inconsistent", difference };
  }
}
