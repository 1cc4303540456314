/**
 * The comparisons of `pnpm evaluate`: pure functions from what the baseline cluster (phase off)
 * and the candidate cluster (phase on) answered to a list of `Difference`s, each printable as a
 * diff (`-` baseline only, `+` candidate only). The verdict fails on any difference, so every
 * function here must find a real difference (the unit tests inject one into each).
 *
 * - `diffRows`: two peek answers (rows with counts), row by row.
 * - `diffOutcomes`: two peek outcomes where either may be an error (same code and rows, or a diff).
 * - `diffStreams`: two subscribe streams, consolidated, up to the frontier both reached.
 * - `FrontierTrack`: a collection's frontiers over time; a backward move is a difference.
 * - `diffStatuses`: the storage/compute status of the twin collections of both sides.
 */
import { compareRows, consolidateUpdates, type Frontier, type Row, type Update } from "@mzts/repr";
import { frontierLessEqual, type Rows } from "../harness/environment.js";

/** One observable difference between the two sides (or an invariant one side broke). */
export interface Difference {
  /** Which comparison found it: `peek`, `subscribe`, `frontier`, `status`, `flags`, or a phase check. */
  readonly check: string;
  /** What was compared, e.g. `winning_idx at 1700000029999`. */
  readonly subject: string;
  /** Diff lines: `- …` the baseline only, `+ …` the candidate only, or a sentence. */
  readonly diff: readonly string[];
}

/** At most this many diff lines per difference (the count of the rest is given). */
const MAX_LINES = 20;

/** JSON with bigints as plain digits (rows are bigint-heavy). */
export function show(value: unknown): string {
  return JSON.stringify(value, (_k, v) => (typeof v === "bigint" ? `${v}` : v)).replace(
    /"(-?\d+)"/g,
    "$1",
  );
}

/** `lines`, at most `MAX_LINES` of them (the count of the rest is given). */
export function cap(lines: string[]): string[] {
  if (lines.length <= MAX_LINES) return lines;
  return [...lines.slice(0, MAX_LINES), `… ${lines.length - MAX_LINES} more lines`];
}

/** Rows → count per row, in `compareRows` order (the inputs need not be sorted or consolidated). */
function counts(rows: Rows): Array<[Row, number]> {
  const out: Array<[Row, number]> = [];
  const sorted = [...rows].sort((a, b) => compareRows(a[0], b[0]));
  for (const [row, n] of sorted) {
    const last = out[out.length - 1];
    if (last !== undefined && compareRows(last[0], row) === 0) last[1] += n;
    else out.push([row, n]);
  }
  return out.filter(([, n]) => n !== 0);
}

/** The row-by-row diff of two answers (empty when equal as multisets). */
export function diffRowLines(baseline: Rows, candidate: Rows): string[] {
  const a = counts(baseline);
  const b = counts(candidate);
  const lines: string[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    const x = a[i];
    const y = b[j];
    const c = x === undefined ? 1 : y === undefined ? -1 : compareRows(x[0], y[0]);
    if (c < 0 && x !== undefined) {
      lines.push(`- ${show(x[0])} ×${x[1]}`);
      i++;
    } else if (c > 0 && y !== undefined) {
      lines.push(`+ ${show(y[0])} ×${y[1]}`);
      j++;
    } else if (x !== undefined && y !== undefined) {
      if (x[1] !== y[1]) lines.push(`- ${show(x[0])} ×${x[1]}`, `+ ${show(y[0])} ×${y[1]}`);
      i++;
      j++;
    }
  }
  return lines;
}

/** A difference when the two answers differ (`undefined` when equal). */
export function diffRows(subject: string, baseline: Rows, candidate: Rows): Difference | undefined {
  const lines = diffRowLines(baseline, candidate);
  if (lines.length === 0) return undefined;
  return {
    check: "peek",
    subject,
    diff: cap([`${baseline.length} rows vs ${candidate.length} rows`, ...lines]),
  };
}

/** A peek's outcome: its rows, or the error it ended with (a Connect code name and message). */
export type Outcome =
  | { readonly ok: true; readonly rows: Rows }
  | { readonly ok: false; readonly code: string; readonly message: string };

/** Same rows, or the same error code (messages may name the side's objects). */
export function diffOutcomes(
  subject: string,
  baseline: Outcome,
  candidate: Outcome,
): Difference | undefined {
  if (baseline.ok && candidate.ok) return diffRows(subject, baseline.rows, candidate.rows);
  const line = (o: Outcome) => (o.ok ? `${o.rows.length} rows` : `${o.code}: ${o.message}`);
  if (!baseline.ok && !candidate.ok && baseline.code === candidate.code) return undefined;
  return { check: "peek", subject, diff: [`- ${line(baseline)}`, `+ ${line(candidate)}`] };
}

/** What one subscribe delivered. */
export interface Stream {
  readonly updates: Update[];
  /** Every upper, in order (`null` = complete). */
  readonly uppers: Frontier[];
  /** How it ended early, if it failed. */
  error?: string;
}

/** A fresh, empty stream record. */
export function emptyStream(): Stream {
  return { updates: [], uppers: [] };
}

/** The last upper of a stream (`undefined` before its first batch). */
function lastUpper(s: Stream): Frontier | undefined {
  return s.uppers.length === 0 ? undefined : (s.uppers[s.uppers.length - 1] as Frontier);
}

/** The invariants of one stream: uppers advance, every update lies in [previous upper, upper). */
export function streamProblems(subject: string, s: Stream, asOf: bigint): Difference[] {
  const out: string[] = [];
  let prev: Frontier = asOf;
  let at = 0;
  for (const upper of s.uppers) {
    if (!frontierLessEqual(prev, upper)) out.push(`upper went back from ${prev} to ${upper}`);
    prev = upper;
    at++;
  }
  for (const [row, time] of s.updates) {
    if (time < asOf) out.push(`update before the as-of ${asOf}: ${show(row)} at ${time}`);
  }
  const last = lastUpper(s);
  if (last !== undefined && last !== null) {
    for (const [row, time] of s.updates) {
      if (time >= last) out.push(`update at ${time} ≥ the last upper ${last}: ${show(row)}`);
    }
  }
  if (s.error !== undefined) out.push(`the stream failed after ${at} batches: ${s.error}`);
  return out.length === 0 ? [] : [{ check: "subscribe", subject, diff: cap(out) }];
}

/**
 * Compares two subscribes from the same as-of: their consolidated updates below the upper both
 * reached must be equal (time by time, row by row), and each stream must be well formed.
 */
export function diffStreams(
  subject: string,
  asOf: bigint,
  baseline: Stream,
  candidate: Stream,
): Difference[] {
  const out = [
    ...streamProblems(`${subject} (baseline)`, baseline, asOf),
    ...streamProblems(`${subject} (candidate)`, candidate, asOf),
  ];
  const a = lastUpper(baseline);
  const b = lastUpper(candidate);
  if (a === undefined || b === undefined) {
    out.push({
      check: "subscribe",
      subject,
      diff: [`no batch from the ${a === undefined ? "baseline" : "candidate"}`],
    });
    return out;
  }
  const upTo = frontierLessEqual(a, b) ? a : b;
  const below = (s: Stream) =>
    consolidateUpdates(s.updates.filter(([, t]) => upTo === null || t < upTo));
  const x = below(baseline);
  const y = below(candidate);
  const key = (u: Update) => `${u[1]} ${show(u[0])} ${u[2]}`;
  const xs = new Set(x.map(key));
  const ys = new Set(y.map(key));
  const lines = [
    ...x.filter((u) => !ys.has(key(u))).map((u) => `- ${key(u)}`),
    ...y.filter((u) => !xs.has(key(u))).map((u) => `+ ${key(u)}`),
  ];
  if (lines.length > 0) {
    out.push({
      check: "subscribe",
      subject: `${subject} below ${upTo ?? "[]"}`,
      diff: cap([`${x.length} vs ${y.length} consolidated updates (time row diff)`, ...lines]),
    });
  }
  return out;
}

/** A collection's frontiers over time; `observe` returns a difference when one moved back. */
export class FrontierTrack {
  readonly #max = new Map<string, Frontier>();

  observe(
    collection: string,
    field: "write" | "since",
    f: Frontier,
    atMs: number,
  ): Difference | undefined {
    const k = `${collection} ${field}`;
    const prev = this.#max.get(k);
    if (prev === undefined || frontierLessEqual(prev, f)) {
      this.#max.set(k, f);
      return undefined;
    }
    return {
      check: "frontier",
      subject: `${collection} ${field} frontier`,
      diff: [`went back from ${prev ?? "[]"} to ${f ?? "[]"} at +${atMs} ms`],
    };
  }
}

/** The part of a collection's status both sides must agree on, by side-neutral name. */
export interface CollectionState {
  /** Empty write frontier (a closed collection). */
  readonly closed: boolean;
  /** Why it failed, when it did. */
  readonly failed?: string;
}

/**
 * Compares the statuses of the twin collections (same neutral name on both sides): the same
 * collections, failed or not alike, closed or not alike.
 */
export function diffStatuses(
  baseline: ReadonlyMap<string, CollectionState>,
  candidate: ReadonlyMap<string, CollectionState>,
): Difference[] {
  const out: Difference[] = [];
  const names = [...new Set([...baseline.keys(), ...candidate.keys()])].sort();
  for (const name of names) {
    const a = baseline.get(name);
    const b = candidate.get(name);
    const line = (s: CollectionState | undefined) =>
      s === undefined
        ? "absent"
        : `${s.closed ? "closed" : "open"}${s.failed === undefined ? "" : `, failed: ${s.failed}`}`;
    if (a === undefined || b === undefined || a.closed !== b.closed || a.failed !== b.failed) {
      out.push({ check: "status", subject: name, diff: [`- ${line(a)}`, `+ ${line(b)}`] });
    }
  }
  return out;
}

/** The text of a difference, for the terminal. */
export function formatDifference(d: Difference): string {
  return [`✗ ${d.check}: ${d.subject}`, ...d.diff.map((l) => `    ${l}`)].join("\n");
}
