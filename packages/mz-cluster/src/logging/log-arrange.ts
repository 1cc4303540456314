/**
 * `LogArrangeOperator`: the arrange operator of one relation in a worker's logging dataflow
 * (`log-dataflow.ts`) — what `createInput` + `ArrangeByOperator` do there, fed by the relation's
 * `LogTable` directly with the key the table already built for each row.
 *
 * ## Why not an input and `ArrangeByOperator`
 * The table computes each row's arrangement key to find its slot; an input batch carries rows
 * only, so `ArrangeByOperator` built every key again (issue 16: the unified host spent ~10 % of
 * an idle replica's busy time in that second key, and more in one `Update` array and one batch per
 * change). Here an update is four array slots (row, time, diff, key) and the arrangement gets the
 * key as is.
 *
 * ## Algorithm (the same as `ArrangeByOperator`'s)
 * `push` holds an update (at a time `>=` the operator's frontier); `advanceTo(f)` moves the
 * frontier and activates the graph; `run` inserts the held updates at times `< f` into the
 * arrangement in the order they were pushed (so each row's updates stay in time order), keeps
 * the others, and advances the arrangement's upper to `f`. The arrangement therefore holds
 * exactly the complete updates, as an arranged input would.
 *
 * ## Entries held by the table (issue 16)
 * A table passes each update's key slot as its `EntryHolder`: an insertion stores the row's
 * arrangement entry there, and the retraction of that row (the same object, later) goes through
 * it (`Arrangement.updateEntry`: no key, row-key or row lookup) and drops it, as the row's count
 * is zero then (`EntryRef`'s contract). An update without a holder, or of another row than the
 * holder's, is inserted by key.
 *
 * ## Invariants
 * - Every held update's time is `>=` the frontier (`push` refuses earlier ones).
 * - `key` is the arrangement's `keyOf(row)` (the table keys its slots with it).
 * - A holder's `entry` is the entry of `entryRow`, whose count is not zero (one +1: a table has
 *   one current row per key, and rows of different keys differ).
 */

/** Where a table keeps the arrangement entry of its key's current row (see the file comment). */
export interface EntryHolder {
  entry: EntryRef | undefined;
  /** The row `entry` holds (a retraction of another row goes by key). */
  entryRow: Row | undefined;
}

import { Arrangement, type EntryRef, type Graph, type Key, Operator } from "@mzts/dataflow";
import { Frontier, type Row, type Timestamp, type Update } from "@mzts/repr";

/** An update at a time before the operator's frontier (a bug of the caller). */
export class LogUpdateTooLate extends Error {
  constructor(name: string, time: Timestamp, frontier: Frontier) {
    super(
      `log arrangement ${name}: update at ${time} is before its frontier ${frontier}; ` +
        "log rows must be written at or after the log indexes' upper",
    );
    this.name = "LogUpdateTooLate";
  }
}

/** Arranges one relation's updates by key; see the file comment. */
export class LogArrangeOperator extends Operator {
  readonly arrangement: Arrangement;
  /** Held updates, as parallel arrays (no object per update). */
  #rows: Row[] = [];
  #times: Timestamp[] = [];
  #diffs: number[] = [];
  #keys: Key[] = [];
  #holders: Array<EntryHolder | undefined> = [];
  /** Times below it are complete (pushed updates are at or past it). */
  #frontier: Frontier = Frontier.MIN;
  /** Whether the frontier moved since the last run. */
  #advanced = false;

  constructor(graph: Graph, key: readonly number[], name: string) {
    super(graph, name);
    this.arrangement = new Arrangement(`${graph.name}/${name}#${this.id}`, key);
  }

  /** The frontier: every later update is at this time or later. */
  get frontier(): Frontier {
    return this.#frontier;
  }

  /**
   * Holds one update (`key`: `arrangement.keyOf(row)`) until its time is complete; `holder`: the
   * row's key slot in its table, which keeps the row's entry (see the file comment).
   */
  push(row: Row, time: Timestamp, diff: number, key: Key, holder?: EntryHolder): void {
    const f = this.#frontier;
    if (f === null || time < f) throw new LogUpdateTooLate(this.name, time, f);
    this.#rows.push(row);
    this.#times.push(time);
    this.#diffs.push(diff);
    this.#keys.push(key);
    this.#holders.push(holder);
  }

  /** Every time before `f` is complete (no move back: an earlier `f` is ignored). */
  advanceTo(f: Frontier): void {
    if (!Frontier.lessThan(this.#frontier, f)) return;
    this.#frontier = f;
    this.#advanced = true;
    this.graph.activate();
  }

  /** The held updates (pushed, not yet arranged), in push order. */
  held(): Update[] {
    const out: Update[] = [];
    for (let i = 0; i < this.#rows.length; i++) {
      out.push([this.#rows[i]!, this.#times[i]!, this.#diffs[i]!]);
    }
    return out;
  }

  run(): boolean {
    if (!this.#advanced) return false;
    this.#advanced = false;
    const f = this.#frontier;
    const arr = this.arrangement;
    const rows = this.#rows;
    const times = this.#times;
    const diffs = this.#diffs;
    const keys = this.#keys;
    const holders = this.#holders;
    // Complete updates go into the arrangement in push order; the rest move to the front.
    let kept = 0;
    for (let i = 0; i < rows.length; i++) {
      const t = times[i]!;
      const h = holders[i];
      if (f === null || t < f) {
        if (h === undefined) arr.insert(rows[i]!, t, diffs[i]!, keys[i]!);
        else arrangeHeld(arr, h, rows[i]!, t, diffs[i]!, keys[i]!);
      } else {
        rows[kept] = rows[i]!;
        times[kept] = t;
        diffs[kept] = diffs[i]!;
        keys[kept] = keys[i]!;
        holders[kept] = h;
        kept++;
      }
    }
    rows.length = kept;
    times.length = kept;
    diffs.length = kept;
    keys.length = kept;
    holders.length = kept;
    arr.advanceUpper(f);
    return true;
  }

  /** Drops every held update (the index is freed). */
  close(): void {
    this.#rows = [];
    this.#times = [];
    this.#diffs = [];
    this.#keys = [];
    this.#holders = [];
  }
}

/** Arranges one update of a row whose key slot is `h` (see the file comment). */
function arrangeHeld(
  arr: Arrangement,
  h: EntryHolder,
  row: Row,
  t: Timestamp,
  diff: number,
  key: Key,
): void {
  if (diff > 0 && h.entry === undefined) {
    h.entry = arr.insertEntry(row, t, diff, key, arr.rowKeyOf(row));
    h.entryRow = row;
    return;
  }
  if (h.entry !== undefined && h.entryRow === row) {
    // The held row's only update after its insertion is its retraction: its count is zero then.
    if (diff === -1) arr.updateEntry(h.entry, t, diff);
    else arr.insert(row, t, diff, key);
    h.entry = undefined;
    h.entryRow = undefined;
    return;
  }
  arr.insert(row, t, diff, key);
}
