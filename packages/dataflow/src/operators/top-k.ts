/**
 * `TopKOperator` / `topK()`: per group, the rows ranked `[offset, offset + limit)` under
 * `orderBy` (all rows from `offset` when `limit` is absent), counting multiplicities.
 *
 * ## Algorithm
 * Updates wait until the input frontier passes their time; each complete time is processed in
 * ascending order. Per group the operator keeps the input multiset (row key → row, net count)
 * and the output it last emitted. For each touched group it re-sorts the group's rows (order
 * keys, then the whole row as a tie-break so the result is deterministic), walks the ranks
 * expanding multiplicities, and emits the difference to the previous output at that time.
 * Cost per touched group: O(g log g) for a group of g distinct rows.
 *
 * Ordering: per key, `nullsLast` puts nulls after non-nulls (independently of `desc`); non-null
 * values use `@mzts/repr`'s total datum order, reversed by `desc`.
 * A group holding a row with a negative count has no output and one `negative_multiplicity`
 * error row instead.
 *
 * ## Correctness
 * The output as of `t` is computed from the group's input as of `t` (all earlier times applied),
 * and only for complete times, so it is final below the output frontier.
 */

import type { OrderKey } from "@mzts/expr";
import { compareRows, Datum, type Row, rowKey, rowsEqual } from "@mzts/repr";
import { Batch } from "../batch.js";
import { type Graph, Operator } from "../graph.js";
import { PendingUpdates } from "../pending.js";
import { type InputPort, Stream } from "../stream.js";
import { type Key, keyFunction } from "./key.js";

const NEGATIVE: Row = ["negative_multiplicity", "negative multiplicity in topK"];

interface Counted {
  readonly row: Row;
  n: number;
}

interface Group {
  readonly key: Key;
  /** Input multiset: row key → (row, net count ≠ 0). */
  readonly rows: Map<string, Counted>;
  /** Output last emitted: row key → (row, count > 0). */
  out: Map<string, Counted>;
  err: Row | null;
  epoch: number;
}

/** A comparator for `orderBy`, then the whole row. */
export function orderComparator(orderBy: readonly OrderKey[]): (a: Row, b: Row) => number {
  return (a, b) => {
    for (const o of orderBy) {
      const x = a[o.column] ?? null;
      const y = b[o.column] ?? null;
      if (x === null || y === null) {
        if (x === y) continue;
        return (x === null) === o.nullsLast ? 1 : -1;
      }
      const c = Datum.compare(x, y);
      if (c !== 0) return o.desc ? -c : c;
    }
    return compareRows(a, b);
  };
}

/** Per-group top-k. */
export class TopKOperator extends Operator {
  readonly output: Stream;
  readonly errors: Stream;
  readonly #input: InputPort;
  readonly #pending = new PendingUpdates();
  readonly #groups = new Map<Key, Group>();
  readonly #keyOf: (row: Row) => Key;
  readonly #cmp: (a: Row, b: Row) => number;
  readonly #offset: number;
  readonly #end: number;
  #epoch = 0;

  constructor(
    graph: Graph,
    input: Stream,
    spec: {
      readonly groupKey: readonly number[];
      readonly orderBy: readonly OrderKey[];
      readonly limit?: number;
      readonly offset: number;
    },
    name = "topK",
  ) {
    super(graph, name);
    this.#input = input.connect(this.id);
    this.#keyOf = keyFunction(spec.groupKey);
    this.#cmp = orderComparator(spec.orderBy);
    this.#offset = spec.offset;
    this.#end = spec.limit === undefined ? Number.POSITIVE_INFINITY : spec.offset + spec.limit;
    this.output = new Stream(graph, name);
    this.errors = new Stream(graph, `${name}.errors`);
  }

  run(): boolean {
    const port = this.#input;
    if (!port.pending) return false;
    for (const b of port.takeBatches()) this.#pending.push(b);
    if (!port.takeFrontier()) return true;
    const f = port.frontier;
    for (const { time, batches } of this.#pending.takeReady(f)) {
      const epoch = ++this.#epoch;
      const touched: Group[] = [];
      for (const b of batches) {
        const { rows, diffs } = b;
        for (let i = 0; i < rows.length; i++) {
          const row = rows[i]!;
          const gk = this.#keyOf(row);
          let g = this.#groups.get(gk);
          if (!g) {
            g = { key: gk, rows: new Map(), out: new Map(), err: null, epoch };
            this.#groups.set(gk, g);
            touched.push(g);
          } else if (g.epoch !== epoch) {
            g.epoch = epoch;
            touched.push(g);
          }
          const rk = rowKey(row);
          const e = g.rows.get(rk);
          if (e) {
            e.n += diffs[i]!;
            if (e.n === 0) g.rows.delete(rk);
          } else g.rows.set(rk, { row, n: diffs[i]! });
        }
      }
      const out = new Batch();
      const errs = new Batch();
      for (const g of touched) this.#update(g, time, out, errs);
      this.output.send(out);
      this.errors.send(errs);
    }
    this.output.advance(f);
    this.errors.advance(f);
    return true;
  }

  #update(g: Group, time: bigint, out: Batch, errs: Batch): void {
    const next = new Map<string, Counted>();
    let err: Row | null = null;
    const entries: Array<[string, Counted]> = [];
    for (const kv of g.rows) {
      if (kv[1].n < 0) err = NEGATIVE;
      entries.push(kv);
    }
    if (err === null && entries.length > 0) {
      const cmp = this.#cmp;
      entries.sort((a, b) => cmp(a[1].row, b[1].row));
      let pos = 0;
      const lo = this.#offset;
      const hi = this.#end;
      for (const [k, e] of entries) {
        if (pos >= hi) break;
        const from = Math.max(pos, lo);
        const to = Math.min(pos + e.n, hi);
        if (to > from) next.set(k, { row: e.row, n: to - from });
        pos += e.n;
      }
    }
    for (const [k, o] of g.out) {
      const d = (next.get(k)?.n ?? 0) - o.n;
      if (d !== 0) out.push(o.row, time, d);
    }
    for (const [k, e] of next) if (!g.out.has(k)) out.push(e.row, time, e.n);
    g.out = next;
    if (!(g.err === err || (g.err !== null && err !== null && rowsEqual(g.err, err)))) {
      if (g.err) errs.push(g.err, time, -1);
      if (err) errs.push(err, time, 1);
      g.err = err;
    }
    if (g.rows.size === 0 && next.size === 0 && g.err === null) this.#groups.delete(g.key);
  }
}

/** Pipeable `topK` (errors are dropped; use the class or `render` to keep them). */
export function topK(spec: {
  readonly groupKey: readonly number[];
  readonly orderBy: readonly OrderKey[];
  readonly limit?: number;
  readonly offset: number;
}) {
  return (input: Stream): Stream => new TopKOperator(input.graph, input, spec).output;
}
