/**
 * Updates and their consolidation.
 *
 * An update `(row, time, diff)` says the multiplicity of `row` changed by `diff` at `time`. A
 * collection's value as of `t` is the sum of its updates with `time <= t`. `diff` is a JS number
 * that must stay a safe integer (|diff| < 2^53); it is a count, not a value, so this is ample.
 *
 * Consolidation sums the diffs of equal `(row, time)` pairs and drops those that sum to zero; the
 * result is sorted by time, then row order, so consolidated batches compare with `===` on JSON.
 */
import { compareRows, type Row, rowKey } from "./row.js";
import type { Timestamp } from "./timestamp.js";

/** `(row, time, diff)`. */
export type Update = readonly [row: Row, time: Timestamp, diff: number];

/** Sums equal `(row, time)` pairs, drops zeros, sorts by (time, row). Returns a new array. */
export function consolidateUpdates(updates: Iterable<Update>): Update[] {
  const byKey = new Map<string, [Row, Timestamp, number]>();
  for (const [row, time, diff] of updates) {
    if (diff === 0) continue;
    const k = `${time}|${rowKey(row)}`;
    const e = byKey.get(k);
    if (e) e[2] += diff;
    else byKey.set(k, [row, time, diff]);
  }
  const out: Update[] = [];
  for (const e of byKey.values()) if (e[2] !== 0) out.push(e);
  out.sort((a, b) => (a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : compareRows(a[0], b[0])));
  return out;
}

/** Sums equal rows (ignoring time), drops zeros, sorts by row. */
export function consolidateRows(rows: Iterable<readonly [Row, number]>): Array<[Row, number]> {
  const byKey = new Map<string, [Row, number]>();
  for (const [row, diff] of rows) {
    if (diff === 0) continue;
    const k = rowKey(row);
    const e = byKey.get(k);
    if (e) e[1] += diff;
    else byKey.set(k, [row, diff]);
  }
  const out: Array<[Row, number]> = [];
  for (const e of byKey.values()) if (e[1] !== 0) out.push(e);
  out.sort((a, b) => compareRows(a[0], b[0]));
  return out;
}

/**
 * The collection as of `asOf`: the consolidated `(row, count)` pairs of every update with
 * `time <= asOf`.
 */
export function collectionAsOf(updates: Iterable<Update>, asOf: Timestamp): Array<[Row, number]> {
  const acc: Array<[Row, number]> = [];
  for (const [row, time, diff] of updates) if (time <= asOf) acc.push([row, diff]);
  return consolidateRows(acc);
}
