/**
 * The report of an evaluation (`report.json`; `html.ts` draws `report.html` from it) and its
 * verdict: `pass` exactly when no comparison found a difference and every check ran. The
 * verdict is computed from the report's own contents (`verdictOf`), never stored apart from them,
 * so a difference put in the report fails it.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { join } from "node:path";
import type { Phase } from "@mzts/flags";
import type { Difference } from "./compare.js";
import type { Side } from "./context.js";
import type { StallDetection } from "./controllers.js";
import type { Recovery } from "./rehydration.js";
import { type LatencySummary, type Series, summarise } from "./stats.js";

/** One comparison and how much it compared. */
export interface CheckSummary {
  readonly name: string;
  readonly describe: string;
  /** How many things it compared (pairs of peeks, streams, samples…). */
  readonly compared: number;
  readonly differences: number;
}

/** What one side measured. */
export interface SideReport {
  readonly cluster: string;
  readonly clusterId: string;
  readonly phases: readonly Phase[];
  readonly peekLatency: LatencySummary;
  readonly peeksFailed: number;
  readonly peeksPerSecond: number;
  readonly subscribeUpdates: number;
  /** now − (upper − 1) of the side's ticker index, over time. */
  readonly freshnessMs: Series;
  /** Of `freshnessMs` in the steady window (before the kills). */
  readonly freshness: LatencySummary;
  /** The lag of the side's `winning` view over time. */
  readonly viewLagMs: Series;
  readonly replicaRssMb: Series;
  readonly recovery: Recovery | null;
  /** SIGSTOP detection (runs that evaluate the controller-side phase `replicas`), else null. */
  readonly stall: StallDetection | null;
}

export interface EvaluationReport {
  readonly kind: "mzts-evaluation";
  readonly version: 1;
  readonly target: string;
  readonly startedAt: string;
  /** Length of the steady window (s), as asked. */
  readonly seconds: number;
  /** Wall-clock length of the whole run, setup included (s). */
  readonly elapsedSeconds: number;
  readonly verdict: "pass" | "fail";
  readonly skipped: ReadonlyArray<{ readonly phase: Phase; readonly reason: string }>;
  readonly checks: readonly CheckSummary[];
  readonly differences: readonly Difference[];
  /** Problems that stopped a part of the run (an exception): each fails the verdict. */
  readonly errors: readonly string[];
  readonly sides: { readonly [S in Side]: SideReport };
  /** The flags file the run used (full flag definitions), when it got that far. */
  readonly flags?: unknown;
  /** environmentd's RSS (the controllers of both sides live in it). */
  readonly environmentdRssMb: Series;
  readonly host: {
    readonly node: string;
    readonly cpus: number;
    readonly loadavg: readonly number[];
  };
}

/** `pass` when nothing differed, no check found a difference and nothing failed. */
export function verdictOf(
  r: Pick<EvaluationReport, "differences" | "checks" | "errors">,
): "pass" | "fail" {
  const found = r.checks.some((c) => c.differences > 0);
  return r.differences.length === 0 && r.errors.length === 0 && !found ? "pass" : "fail";
}

/** The report of a run, with its host and verdict filled in. */
export function assembleReport(
  r: Omit<EvaluationReport, "kind" | "version" | "startedAt" | "verdict" | "host"> & {
    readonly started: Date;
  },
): EvaluationReport {
  const { started, ...rest } = r;
  return {
    kind: "mzts-evaluation",
    version: 1,
    ...rest,
    startedAt: started.toISOString(),
    host: { node: process.version, cpus: cpus().length, loadavg: loadavg() },
    verdict: verdictOf(r),
  };
}

/** A side that measured nothing (the run broke before it started). */
export function emptySide(phases: readonly Phase[]): SideReport {
  return {
    cluster: "",
    clusterId: "",
    phases,
    peekLatency: summarise([]),
    peeksFailed: 0,
    peeksPerSecond: 0,
    subscribeUpdates: 0,
    freshnessMs: [],
    freshness: summarise([]),
    viewLagMs: [],
    replicaRssMb: [],
    recovery: null,
    stall: null,
  };
}

/** `evaluation/<target>-<UTC date and time>` under `root`. */
export function reportDir(root: string, target: string, at: Date): string {
  const stamp = at
    .toISOString()
    .replace(/[:.]/g, "-")
    .replace(/-\d{3}Z$/, "Z");
  return join(root, `${target}-${stamp}`);
}

/** Writes `report.json` and `report.html` into `dir` (created). */
export function writeReport(dir: string, report: EvaluationReport, html: string): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    join(dir, "report.json"),
    `${JSON.stringify(report, (_k, v) => (typeof v === "bigint" ? `${v}` : v), 2)}\n`,
  );
  writeFileSync(join(dir, "report.html"), html);
}
