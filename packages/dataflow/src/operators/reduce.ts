/**
 * `ReduceOperator` / `reduce()`: groups by key columns and computes aggregates; output rows are
 * the key columns followed by one column per aggregate.
 *
 * ## Algorithm
 * Input updates wait in `PendingUpdates` until the input frontier passes their time; then each
 * complete time `t` is processed in ascending order:
 * 1. For each update, find (or create) its group and add the diff to the group's row count and
 *    to every accumulator (`aggregates.ts`: count/sum O(1), min/max an ordered multiset with a
 *    cached extreme). Touched groups are collected once per time (an epoch stamp, no Set).
 * 2. For each touched group compute its new output: none when the row count is 0; an error row
 *    `negative_multiplicity` when it is negative; an error row when an aggregate fails (int64
 *    overflow of a sum, a non-number summed); otherwise the output row.
 * 3. Emit, at `t`, the retraction of the group's previous output and the new one when they
 *    differ; drop groups whose state is empty.
 * The output frontier then follows the input frontier.
 *
 * ## Correctness
 * Output at `t` is a function of the input as of `t` (every earlier time was applied before),
 * and nothing is emitted for a time before the input frontier passed it, so output below the
 * output frontier is final. Groups are keyed by the injective `Key` of `key.ts`, the same key the
 * exchange routes by: with W workers each group lives on exactly one worker.
 * Empty groups produce no row (plan semantics; SQL's one-row-for-empty-input global aggregate is
 * the planner's job).
 */

import type { Aggregate } from "@mzts/expr";
import { type Datum, type Row, rowsEqual } from "@mzts/repr";
import { Batch } from "../batch.js";
import { EvaluationError } from "../errors.js";
import { type Graph, Operator } from "../graph.js";
import { PendingUpdates } from "../pending.js";
import { type InputPort, Stream } from "../stream.js";
import { type Accumulator, createAccumulator } from "./aggregates.js";
import { errorRow } from "./eval-errors.js";
import { type Key, keyDatums, keyFunction } from "./key.js";

const NEGATIVE: Row = ["negative_multiplicity", "negative multiplicity in reduce"];

interface Group {
  readonly keyString: Key;
  readonly key: Datum[];
  /** Net row count. */
  n: number;
  readonly accs: Accumulator[];
  /** The output row emitted last, or null. */
  out: Row | null;
  /** The error row emitted last, or null. */
  err: Row | null;
  /** Epoch of the last time this group was touched. */
  epoch: number;
}

/** Grouped aggregation. */
export class ReduceOperator extends Operator {
  readonly output: Stream;
  readonly errors: Stream;
  readonly #input: InputPort;
  readonly #pending = new PendingUpdates();
  readonly #groups = new Map<Key, Group>();
  readonly #groupKey: readonly number[];
  readonly #keyOf: (row: Row) => Key;
  readonly #aggs: readonly Aggregate[];
  /** Column read by each aggregate (-1 for count(*)). */
  readonly #cols: Int32Array;
  #epoch = 0;

  constructor(
    graph: Graph,
    input: Stream,
    groupKey: readonly number[],
    aggregates: readonly Aggregate[],
    name = "reduce",
  ) {
    super(graph, name);
    this.#input = input.connect(this.id);
    this.#groupKey = groupKey.slice();
    this.#keyOf = keyFunction(this.#groupKey);
    this.#aggs = aggregates.slice();
    this.#cols = Int32Array.from(aggregates, (a) => a.column ?? -1);
    this.output = new Stream(graph, name);
    this.errors = new Stream(graph, `${name}.errors`);
  }

  /** Number of groups held. */
  get groups(): number {
    return this.#groups.size;
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
      const groups = this.#groups;
      const keyOf = this.#keyOf;
      const cols = this.#cols;
      const k = cols.length;
      for (const b of batches) {
        const { rows, diffs } = b;
        for (let i = 0; i < rows.length; i++) {
          const row = rows[i]!;
          const d = diffs[i]!;
          const ks = keyOf(row);
          let g = groups.get(ks);
          if (g === undefined) {
            g = {
              keyString: ks,
              key: keyDatums(row, this.#groupKey),
              n: 0,
              accs: this.#aggs.map(createAccumulator),
              out: null,
              err: null,
              epoch,
            };
            groups.set(ks, g);
            touched.push(g);
          } else if (g.epoch !== epoch) {
            g.epoch = epoch;
            touched.push(g);
          }
          g.n += d;
          for (let j = 0; j < k; j++) {
            const c = cols[j]!;
            g.accs[j]!.add(c < 0 ? null : (row[c] as Datum), d);
          }
        }
      }
      const out = new Batch();
      const errs = new Batch();
      for (const g of touched) {
        let row: Row | null = null;
        let err: Row | null = null;
        if (g.n < 0) err = NEGATIVE;
        else if (g.n > 0) {
          try {
            const r = g.key.slice();
            for (let j = 0; j < k; j++) r.push(g.accs[j]!.value());
            row = r;
          } catch (e) {
            if (!(e instanceof EvaluationError)) throw e;
            err = errorRow(e);
          }
        }
        if (!sameRow(g.out, row)) {
          if (g.out) out.push(g.out, time, -1);
          if (row) out.push(row, time, 1);
          g.out = row;
        }
        if (!sameRow(g.err, err)) {
          if (g.err) errs.push(g.err, time, -1);
          if (err) errs.push(err, time, 1);
          g.err = err;
        }
        if (g.n === 0 && !g.out && !g.err && g.accs.every((a) => a.empty())) {
          groups.delete(g.keyString);
        }
      }
      this.output.send(out);
      this.errors.send(errs);
    }
    this.output.advance(f);
    this.errors.advance(f);
    return true;
  }
}

function sameRow(a: Row | null, b: Row | null): boolean {
  if (a === b) return true;
  return a !== null && b !== null && rowsEqual(a, b);
}

/** Pipeable `reduce` (errors are dropped; use the class or `render` to keep them). */
export function reduce(groupKey: readonly number[], aggregates: readonly Aggregate[]) {
  return (input: Stream): Stream =>
    new ReduceOperator(input.graph, input, groupKey, aggregates).output;
}
