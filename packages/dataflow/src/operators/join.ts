/**
 * `JoinOperator` / `join()`: binary inner equi-join; output rows are the left row's columns
 * followed by the right row's. `render` builds an n-way join as a chain of these.
 *
 * ## Algorithm
 * Each side keeps an index of its current contents: key → bucket of (row, diff), the first row
 * inline and later ones appended, consolidated (by `rowKey`) only when a bucket has doubled since
 * its last consolidation — inserts cost no row key, and a unique-key side costs one small object
 * per key. Updates of both sides wait until the joint input
 * frontier (the meet of the two) passes their time; each complete time `t` is processed in
 * ascending order, with ΔL and ΔR the updates at `t`:
 * 1. emit `ΔL ⋈ R` (R as of t-1) at t, then add ΔL to L;
 * 2. emit `L ⋈ ΔR` (L now as of t) at t, then add ΔR to R.
 * Together: `(L+ΔL)⋈(R+ΔR) − L⋈R = ΔL⋈R + (L+ΔL)⋈ΔR`. Rows with a null key column never match
 * (SQL `=` on null is null) and are not stored.
 *
 * ## Correctness
 * By induction over times, the output as of `t` is `L_t ⋈ R_t`; nothing is emitted before both
 * inputs have passed `t`, and the output frontier is the joint input frontier. Keys are
 * the injective `Key`s of `key.ts` on both sides, the same keys the exchange routes by.
 */
import { type Datum, Frontier, type Row, rowKey, type Timestamp } from "@mzts/repr";
import { Batch } from "../batch.js";
import { type Graph, Operator } from "../graph.js";
import { PendingUpdates, type TimeGroup } from "../pending.js";
import { type InputPort, Stream } from "../stream.js";
import { type Key, keyFunction } from "./key.js";

/**
 * The rows of one key: the first inline (most keys hold one row), further ones in arrays that
 * are consolidated lazily.
 */
export class Bucket {
  row: Row;
  diff: number;
  more: Row[] | null = null;
  moreDiffs: number[] | null = null;
  /** Number of rows right after the last consolidation. */
  clean = 1;

  constructor(row: Row, diff: number) {
    this.row = row;
    this.diff = diff;
  }

  get length(): number {
    return this.more === null ? 1 : 1 + this.more.length;
  }

  /** Appends a row; consolidates when the bucket doubled. Returns false when it became empty. */
  add(row: Row, diff: number): boolean {
    if (this.more === null) {
      this.more = [row];
      this.moreDiffs = [diff];
    } else {
      this.more.push(row);
      this.moreDiffs!.push(diff);
    }
    if (this.length >= 2 * this.clean + 2) return this.#consolidate();
    return true;
  }

  #consolidate(): boolean {
    const acc = new Map<string, [Row, number]>();
    const put = (r: Row, d: number) => {
      const k = rowKey(r);
      const e = acc.get(k);
      if (e) e[1] += d;
      else acc.set(k, [r, d]);
    };
    put(this.row, this.diff);
    const more = this.more!;
    const md = this.moreDiffs!;
    for (let i = 0; i < more.length; i++) put(more[i]!, md[i]!);
    const live = [...acc.values()].filter((e) => e[1] !== 0);
    this.clean = Math.max(1, live.length);
    if (live.length === 0) return false;
    this.row = live[0]![0];
    this.diff = live[0]![1];
    if (live.length === 1) {
      this.more = null;
      this.moreDiffs = null;
    } else {
      this.more = live.slice(1).map((e) => e[0]);
      this.moreDiffs = live.slice(1).map((e) => e[1]);
    }
    return true;
  }
}

/** One side's current contents, by key. */
export class JoinIndex {
  readonly #buckets = new Map<Key, Bucket>();

  get keys(): number {
    return this.#buckets.size;
  }

  get(key: Key): Bucket | undefined {
    return this.#buckets.get(key);
  }

  add(key: Key, row: Row, diff: number): void {
    const b = this.#buckets.get(key);
    if (!b) this.#buckets.set(key, new Bucket(row, diff));
    else if (!b.add(row, diff)) this.#buckets.delete(key);
  }
}

function concatRows(a: Row, b: Row): Row {
  const la = a.length;
  const lb = b.length;
  const r = new Array<Datum>(la + lb);
  for (let i = 0; i < la; i++) r[i] = a[i] as Datum;
  for (let i = 0; i < lb; i++) r[la + i] = b[i] as Datum;
  return r;
}

function hasNull(row: Row, cols: readonly number[]): boolean {
  for (let i = 0; i < cols.length; i++) if (row[cols[i]!] === null) return true;
  return false;
}

/** Binary inner equi-join on `leftKey[i] = rightKey[i]`. */
export class JoinOperator extends Operator {
  readonly output: Stream;
  readonly #left: InputPort;
  readonly #right: InputPort;
  readonly #leftKey: readonly number[];
  readonly #rightKey: readonly number[];
  readonly #leftKeyOf: (row: Row) => Key;
  readonly #rightKeyOf: (row: Row) => Key;
  readonly #pendingL = new PendingUpdates();
  readonly #pendingR = new PendingUpdates();
  readonly #indexL = new JoinIndex();
  readonly #indexR = new JoinIndex();
  #joint: Frontier;

  constructor(
    graph: Graph,
    left: Stream,
    right: Stream,
    leftKey: readonly number[],
    rightKey: readonly number[],
    name = "join",
  ) {
    super(graph, name);
    this.#left = left.connect(this.id);
    this.#right = right.connect(this.id);
    this.#leftKey = leftKey.slice();
    this.#rightKey = rightKey.slice();
    this.#leftKeyOf = keyFunction(this.#leftKey);
    this.#rightKeyOf = keyFunction(this.#rightKey);
    this.#joint = Frontier.meet(left.frontier, right.frontier);
    this.output = new Stream(graph, name, this.#joint);
  }

  run(): boolean {
    const l = this.#left;
    const r = this.#right;
    if (!l.pending && !r.pending) return false;
    for (const b of l.takeBatches()) this.#pendingL.push(b);
    for (const b of r.takeBatches()) this.#pendingR.push(b);
    const moved = l.takeFrontier();
    if (!(r.takeFrontier() || moved)) return true;
    const f = Frontier.meet(l.frontier, r.frontier);
    if (f === this.#joint) return true;
    this.#joint = f;
    const gl = this.#pendingL.takeReady(f);
    const gr = this.#pendingR.takeReady(f);
    let i = 0;
    let j = 0;
    while (i < gl.length || j < gr.length) {
      const tl = gl[i]?.time;
      const tr = gr[j]?.time;
      let t: Timestamp;
      if (tl === undefined) t = tr!;
      else if (tr === undefined || tl < tr) t = tl;
      else t = tr;
      const out = new Batch();
      if (tl === t) this.#applyLeft(gl[i++]!, t, out);
      if (tr === t) this.#applyRight(gr[j++]!, t, out);
      this.output.send(out);
    }
    this.output.advance(f);
    return true;
  }

  #applyLeft(g: TimeGroup, t: Timestamp, out: Batch): void {
    const keyOf = this.#leftKeyOf;
    const cols = this.#leftKey;
    const other = this.#indexR;
    const mine = this.#indexL;
    for (const b of g.batches) {
      const { rows, diffs } = b;
      for (let i = 0; i < rows.length; i++) {
        const row = rows[i]!;
        if (hasNull(row, cols)) continue;
        const k = keyOf(row);
        const d = diffs[i]!;
        const bucket = other.get(k);
        if (bucket) {
          out.push(concatRows(row, bucket.row), t, d * bucket.diff);
          const br = bucket.more;
          if (br !== null) {
            const bd = bucket.moreDiffs!;
            for (let j = 0; j < br.length; j++) out.push(concatRows(row, br[j]!), t, d * bd[j]!);
          }
        }
        mine.add(k, row, d);
      }
    }
  }

  #applyRight(g: TimeGroup, t: Timestamp, out: Batch): void {
    const keyOf = this.#rightKeyOf;
    const cols = this.#rightKey;
    const other = this.#indexL;
    const mine = this.#indexR;
    for (const b of g.batches) {
      const { rows, diffs } = b;
      for (let i = 0; i < rows.length; i++) {
        const row = rows[i]!;
        if (hasNull(row, cols)) continue;
        const k = keyOf(row);
        const d = diffs[i]!;
        const bucket = other.get(k);
        if (bucket) {
          out.push(concatRows(bucket.row, row), t, bucket.diff * d);
          const br = bucket.more;
          if (br !== null) {
            const bd = bucket.moreDiffs!;
            for (let j = 0; j < br.length; j++) out.push(concatRows(br[j]!, row), t, bd[j]! * d);
          }
        }
        mine.add(k, row, d);
      }
    }
  }
}

/** Pipeable `join` of the piped (left) stream with `right`. */
export function join(right: Stream, leftKey: readonly number[], rightKey: readonly number[]) {
  return (left: Stream): Stream =>
    new JoinOperator(left.graph, left, right, leftKey, rightKey).output;
}
