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
 * ## Invariants
 * - Every held update's time is `>=` the frontier (`push` refuses earlier ones).
 * - `key` is the arrangement's `keyOf(row)` (the table keys its slots with it).
 */
import { Arrangement, type Graph, type Key, Operator } from "@mzts/dataflow";
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

  /** Holds one update (`key`: `arrangement.keyOf(row)`) until its time is complete. */
  push(row: Row, time: Timestamp, diff: number, key: Key): void {
    const f = this.#frontier;
    if (f === null || time < f) throw new LogUpdateTooLate(this.name, time, f);
    this.#rows.push(row);
    this.#times.push(time);
    this.#diffs.push(diff);
    this.#keys.push(key);
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
    // Complete updates go into the arrangement in push order; the rest move to the front.
    let kept = 0;
    for (let i = 0; i < rows.length; i++) {
      const t = times[i]!;
      if (f === null || t < f) arr.insert(rows[i]!, t, diffs[i]!, keys[i]!);
      else {
        rows[kept] = rows[i]!;
        times[kept] = t;
        diffs[kept] = diffs[i]!;
        keys[kept] = keys[i]!;
        kept++;
      }
    }
    rows.length = kept;
    times.length = kept;
    diffs.length = kept;
    keys.length = kept;
    arr.advanceUpper(f);
    return true;
  }

  /** Drops every held update (the index is freed). */
  close(): void {
    this.#rows = [];
    this.#times = [];
    this.#diffs = [];
    this.#keys = [];
  }
}
