/**
 * `RowCountOperator`: the shared engine of `distinct` and `threshold` — per distinct row a net
 * count, and an output multiplicity that is a function of it (`clamp`).
 *
 * ## Algorithm
 * Updates wait until the input frontier passes their time; each complete time is processed in
 * ascending order: add diffs to per-row counts (remembering each touched row's count before this
 * time), then emit `clamp(after) - clamp(before)` for each touched row, at that time.
 *
 * ## Correctness
 * The output as of `t` is `clamp(count as of t)` for every row, because every time `<= t` has
 * been applied and emitted in order; no output is produced for a time the input frontier has not
 * passed. Rows are keyed by the injective whole-row `Key` (`key.ts`), as the exchange routes them.
 */
import type { Row } from "@mzts/repr";
import { Batch } from "../batch.js";
import { type Graph, Operator } from "../graph.js";
import { PendingUpdates } from "../pending.js";
import { type InputPort, Stream } from "../stream.js";
import { type Key, keyFunction } from "./key.js";

interface Entry {
  readonly row: Row;
  n: number;
  before: number;
  epoch: number;
}

/** Output multiplicity = `clamp(net count)` per distinct row. */
export class RowCountOperator extends Operator {
  readonly output: Stream;
  readonly #input: InputPort;
  readonly #pending = new PendingUpdates();
  readonly #counts = new Map<Key, Entry>();
  readonly #keyOf = keyFunction(null);
  readonly #clamp: (n: number) => number;
  #epoch = 0;

  constructor(graph: Graph, input: Stream, clamp: (n: number) => number, name: string) {
    super(graph, name);
    this.#input = input.connect(this.id);
    this.#clamp = clamp;
    this.output = new Stream(graph, name);
  }

  /** Number of distinct rows held. */
  get size(): number {
    return this.#counts.size;
  }

  run(): boolean {
    const port = this.#input;
    if (!port.pending) return false;
    for (const b of port.takeBatches()) this.#pending.push(b);
    if (!port.takeFrontier()) return true;
    const f = port.frontier;
    const clamp = this.#clamp;
    const counts = this.#counts;
    for (const { time, batches } of this.#pending.takeReady(f)) {
      const epoch = ++this.#epoch;
      const touched: Array<[Key, Entry]> = [];
      const keyOf = this.#keyOf;
      for (const b of batches) {
        const { rows, diffs } = b;
        for (let i = 0; i < rows.length; i++) {
          const row = rows[i]!;
          const k = keyOf(row);
          let e = counts.get(k);
          if (e === undefined) {
            e = { row, n: 0, before: 0, epoch };
            counts.set(k, e);
            touched.push([k, e]);
          } else if (e.epoch !== epoch) {
            e.epoch = epoch;
            e.before = e.n;
            touched.push([k, e]);
          }
          e.n += diffs[i]!;
        }
      }
      const out = new Batch();
      for (const [k, e] of touched) {
        const d = clamp(e.n) - clamp(e.before);
        if (d !== 0) out.push(e.row, time, d);
        if (e.n === 0) counts.delete(k);
      }
      this.output.send(out);
    }
    this.output.advance(f);
    return true;
  }
}
