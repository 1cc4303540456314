/**
 * A row's entry in an arrangement: its history of (time, diff) pairs — up to two held inline,
 * arrays from a third on — and the reads over it (`collectEntry` as of a time, `history` forwarded
 * to the since). `Arrangement` owns the entries; `Bucket` holds a key's entries once it has two.
 */
import type { Row, Timestamp, Update } from "@mzts/repr";
import type { Key } from "../operators/key.js";
import type { Bucket } from "./bucket.js";

export interface Entry {
  /** Set when the entry is made or reused (`Arrangement`'s free list); fixed while it is held. */
  key: Key;
  rowKey: Key;
  row: Row;
  /** Number of times held (ascending, each with a non-zero diff). */
  n: number;
  /**
   * Up to two times are held inline (`t0`/`d0`, `t1`/`d1`; `times` undefined): most entries are
   * a row inserted and later retracted, and two arrays per entry cost more than the row. From a
   * third time on, `times`/`diffs` hold them all (the inline fields are then unused).
   */
  t0: Timestamp;
  d0: number;
  t1: Timestamp;
  d1: number;
  times: Timestamp[] | undefined;
  diffs: number[] | undefined;
  /** Sum of the diffs. */
  current: number;
  /** Key of this entry's live record in the compaction heap (undefined: none). */
  heapKey: Timestamp | undefined;
  /** The key's bucket once the key has had two entries (undefined: the entry is the key's slot). */
  bucket: Bucket | undefined;
}

/** The unused inline time (a bigint, so the field keeps one representation). */
export const NO_TIME: Timestamp = -1n;

/** An inline entry's times as an array (it is getting a third time, or one out of order). */
export function inlineTimes(e: Entry): Timestamp[] {
  return e.n === 2 ? [e.t0, e.t1] : [e.t0];
}

export function inlineDiffs(e: Entry): number[] {
  return e.n === 2 ? [e.d0, e.d1] : [e.d0];
}

/** After its arrays changed: `n` from them, and back to inline when two times or fewer remain. */
export function settle(e: Entry): void {
  const times = e.times!;
  const diffs = e.diffs!;
  const n = times.length;
  e.n = n;
  if (n > 2) return;
  e.t0 = n > 0 ? times[0]! : NO_TIME;
  e.d0 = n > 0 ? diffs[0]! : 0;
  e.t1 = n > 1 ? times[1]! : NO_TIME;
  e.d1 = n > 1 ? diffs[1]! : 0;
  e.times = undefined;
  e.diffs = undefined;
}

/** `t` advanced to `since` (bigints: no Math.max). */
function forward(t: Timestamp, since: Timestamp): Timestamp {
  if (t < since) return since;
  return t;
}

export function collectEntry(e: Entry, t: Timestamp, out: Array<[Row, number]>): void {
  const times = e.times;
  let n: number;
  if (times === undefined) {
    // Inline: one or two times.
    if (e.n === 1 || e.t1 <= t) n = e.t0 <= t ? e.current : 0;
    else n = e.t0 <= t ? e.d0 : 0;
  } else if (times[times.length - 1]! <= t) n = e.current;
  else {
    n = 0;
    for (let i = 0; i < times.length && times[i]! <= t; i++) n += e.diffs![i]!;
  }
  if (n !== 0) out.push([e.row, n]);
}

/** Appends an entry's history, times forwarded to `since`. */
export function history(e: Entry, since: Timestamp, out: Update[]): void {
  if (e.times === undefined) {
    out.push([e.row, forward(e.t0, since), e.d0]);
    if (e.n === 2) out.push([e.row, forward(e.t1, since), e.d1]);
    return;
  }
  for (let i = 0; i < e.times.length; i++) {
    out.push([e.row, forward(e.times[i]!, since), e.diffs![i]!]);
  }
}
