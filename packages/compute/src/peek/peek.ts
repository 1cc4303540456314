/**
 * One worker's part of an index peek: readiness, the read, and map/filter/project.
 *
 * ## Rules (materialize §2.4)
 * - Unreadable: the index's since is beyond the peek time → error naming the since (the
 *   controller must not peek below the since; this is its answer if it does).
 * - Not ready: the arrangement's upper (or its error arrangement's) is ≤ the time; retried after
 *   every step — unless the index's dataflow is stalled (a source import stopped for good on any
 *   worker: `SourceImportFailure`): its frontier will never pass the time, so the peek is
 *   answered at once with an error naming the source, the shard and what to do next (as
 *   Materialize answers a dataflow in error, `PeekResponse::Error`), instead of waiting until the
 *   controller's timeout.
 * - Ready: the dataflow's errors as of the time, if any, win; else the rows as of the time
 *   (only the keys in `literalConstraints` when present), through map/filter/project, with
 *   positive counts (a negative count is an error), pre-limited (`finishing.ts`).
 * - Key rows that do not fit the index key (another width; environmentd refuses them first) get
 *   an error naming the row; they are never looked up (an empty row used to crash the worker).
 */
import { compileMfp, EvaluationError } from "@mzts/dataflow";
import type { Peek, PeekResponse } from "@mzts/protocol";
import { compareRows, consolidateRows, type Datum, Frontier, type Row } from "@mzts/repr";
import type { IndexState } from "../render/dataflow.js";
import { stalledReason } from "../render/source-failures.js";
import type { SourceImportFailure } from "../render/source-import.js";
import { preLimit } from "./finishing.js";

/** The error text of a read below the since (tests and controllers match its start). */
export function sinceErrorMessage(since: Frontier, t: bigint): string {
  return `Arrangement compaction frontier ${Frontier.format(since)} is beyond the time of the attempted read ${t}`;
}

/** The error message of a peek this worker cannot answer (replicas and controllers show it). */
export function peekErrorMessage(peek: Peek, reason: string): string {
  const target = peek.target.kind === "index" ? peek.target.id : peek.target.shardId;
  return `peek ${peek.uuid} of ${target} cannot be answered: ${reason}`;
}

/** The error of a peek waiting on a dataflow that `failure` stalled for good. */
export function stalledPeekMessage(peek: Peek, failure: SourceImportFailure): string {
  return peekErrorMessage(peek, stalledReason(failure));
}

/** Why `keys` cannot be looked up under a key of `width` columns, or undefined. */
function keyRowProblem(keys: readonly Row[], width: number): string | undefined {
  for (let i = 0; i < keys.length; i++) {
    const row = keys[i]!;
    if (!Array.isArray(row) || row.length !== width) {
      return `key row ${i} has ${Array.isArray(row) ? row.length : "no"} columns, the index key has ${width}`;
    }
  }
  return undefined;
}

/**
 * What a peek reads: an index export, or a log index (`LogIndex` of `@mzts/mz-cluster/logging`
 * has these fields too).
 */
export type PeekableIndex = Pick<IndexState, "id" | "key" | "arity" | "arrangement" | "errors"> & {
  /** The index's dataflow (none for a log index): whether a source import stalled it. */
  readonly dataflow?: { readonly failure: SourceImportFailure | undefined };
};

const NO_ERRORS: Array<[Row, number]> = [];

/** The worker's answer, or `undefined` when the index is not yet complete at the time. */
export function evaluatePeek(peek: Peek, index: PeekableIndex): PeekResponse | undefined {
  const t = peek.timestamp;
  const arr = index.arrangement;
  if (arr.since === null || t < arr.since) {
    return { kind: "error", message: sinceErrorMessage(arr.since, t) };
  }
  if (Frontier.includes(arr.upper, t) || Frontier.includes(index.errors.upper, t)) {
    const failure = index.dataflow?.failure;
    return failure === undefined
      ? undefined
      : { kind: "error", message: stalledPeekMessage(peek, failure) };
  }
  const errors = index.errors;
  const es = errors.since;
  const eu = errors.upper;
  // No error key and a time `asOf` may read (its own checks, which throw otherwise): no errors,
  // without building two empty arrays (every peek on every worker, issue 16).
  const errs =
    errors.keyCount === 0 && es !== null && t >= es && (eu === null || t < eu)
      ? NO_ERRORS
      : errors.asOf(t).filter(([, n]) => n > 0);
  if (errs.length > 0) {
    const [row] = errs.sort((a, b) => String(a[0][1]).localeCompare(String(b[0][1])))[0]!;
    return { kind: "error", message: `${String(row[0])}: ${String(row[1])}` };
  }
  const keys = peek.literalConstraints;
  const problem = keys === undefined ? undefined : keyRowProblem(keys, arr.key.length);
  if (problem !== undefined) return { kind: "error", message: peekErrorMessage(peek, problem) };
  const raw: Array<[Row, number]> =
    peek.literalConstraints === undefined
      ? arr.asOf(t)
      : peek.literalConstraints.flatMap((key) => arr.lookup(key, t));
  return finishPart(peek, raw);
}

/**
 * Map/filter/project, consolidation and pre-limit over raw `(row, count)` pairs of a read.
 *
 * Fast paths (issue 16: every worker runs this for every peek, most of which read a key with
 * one row or none on this worker's part): a map/filter/project that only projects is applied
 * without compiling it (the same columns, each row a new array, as `compileMfp` gives), and at
 * most one pair needs no consolidation map (`consolidateRows` of one pair is a copy of it, unless
 * its count is 0).
 */
export function finishPart(peek: Peek, raw: ReadonlyArray<readonly [Row, number]>): PeekResponse {
  const { exprs, predicates, projection } = peek.mapFilterProject;
  if (exprs.length === 0 && predicates.length === 0 && raw.length <= 1) {
    const only = raw[0];
    if (only === undefined || only[1] === 0) return { kind: "rows", rows: [] };
    const n = only[1];
    if (n < 0) return negativeCount(n);
    const row = only[0];
    const projected = new Array<Datum>(projection.length);
    for (let j = 0; j < projection.length; j++) projected[j] = row[projection[j]!] as Datum;
    return { kind: "rows", rows: preLimit([[projected, n]], peek.finishing) };
  }
  const mapped: Array<[Row, number]> = [];
  try {
    const fn = compileMfp([
      { kind: "map", exprs },
      { kind: "filter", predicates },
      { kind: "project", columns: projection },
    ]);
    for (const [row, n] of raw) {
      const out = fn(row);
      if (out !== null) mapped.push([out, n]);
    }
  } catch (e) {
    if (e instanceof EvaluationError) return { kind: "error", message: e.message };
    throw e;
  }
  const rows = consolidated(mapped);
  const negative = rows.find(([, n]) => n < 0);
  if (negative) return negativeCount(negative[1]);
  return { kind: "rows", rows: preLimit(rows, peek.finishing) };
}

/**
 * `consolidateRows(mapped)`, without its map and row keys when nothing merges (issue 16: an index
 * read is consolidated already — the arrangement gives one pair per distinct row, non-zero —, so
 * consolidation usually finds nothing to merge; ~10 % of a replica's CPU per API peek).
 *
 * Why the result is identical: `consolidateRows` keys rows by `rowKey`, which is injective for
 * `Datum.compare` (`@mzts/repr` `datumKey`): two pairs merge iff `compareRows` finds their rows
 * equal. When no count is zero and no two neighbours of the sorted pairs compare equal, nothing
 * merges or drops, so `consolidateRows`' output is the input pairs in input order (its map's
 * insertion order), stably sorted by `compareRows` — the same sort of the same sequence as here.
 * Otherwise (a zero count, or rows that would merge) it is `consolidateRows` itself.
 * `finish-part.property.test.ts` checks both against the general path.
 */
function consolidated(mapped: Array<[Row, number]>): Array<[Row, number]> {
  for (let i = 0; i < mapped.length; i++)
    if ((mapped[i] as [Row, number])[1] === 0) {
      return consolidateRows(mapped);
    }
  const sorted = mapped.slice().sort((a, b) => compareRows(a[0], b[0]));
  for (let i = 1; i < sorted.length; i++) {
    if (compareRows((sorted[i - 1] as [Row, number])[0], (sorted[i] as [Row, number])[0]) === 0) {
      return consolidateRows(mapped);
    }
  }
  return sorted;
}

/** The error of a row whose count is negative `n` (a retraction of a row that does not exist). */
function negativeCount(n: number): PeekResponse {
  return {
    kind: "error",
    message: `Invalid data in source, saw retractions (${-n}) for a row that does not exist`,
  };
}
