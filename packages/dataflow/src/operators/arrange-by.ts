/**
 * `ArrangeByOperator` / `arrangeBy()`: maintains an `Arrangement` of its input by key columns
 * (the form an index export takes, answering peeks); its output stream is its input.
 *
 * ## Algorithm
 * Batches pass through to the output at once and wait in `PendingUpdates`; when the input
 * frontier advances to `f`, the updates below `f` are inserted into the arrangement in time
 * order, then the arrangement's upper and the output frontier advance to `f`.
 *
 * ## Correctness
 * The arrangement holds exactly the complete updates (times `< upper`), so a read as of any
 * `since <= t < upper` sees the final collection as of `t`. With W workers each worker's
 * arrangement holds the keys the exchange routes to it; a peek merges the workers' answers.
 */

import { Arrangement } from "../arrangement/arrangement.js";
import type { Batch } from "../batch.js";
import { type Graph, Operator } from "../graph.js";
import { PendingUpdates } from "../pending.js";
import { type InputPort, Stream } from "../stream.js";

/** Arranges its input by key. */
export class ArrangeByOperator extends Operator {
  readonly output: Stream;
  readonly arrangement: Arrangement;
  readonly #input: InputPort;
  readonly #pending = new PendingUpdates();

  constructor(graph: Graph, input: Stream, key: readonly number[], name = "arrangeBy") {
    super(graph, name);
    this.#input = input.connect(this.id);
    this.arrangement = new Arrangement(`${graph.name}/${name}#${this.id}`, key);
    this.output = new Stream(graph, name);
  }

  run(): boolean {
    const port = this.#input;
    if (!port.pending) return false;
    for (const b of port.takeBatches()) {
      this.output.send(b);
      this.#pending.push(b);
    }
    if (!port.takeFrontier()) return true;
    const f = port.frontier;
    const arr = this.arrangement;
    for (const { batches } of this.#pending.takeReady(f)) {
      for (const b of batches as Batch[]) {
        const { rows, times, diffs } = b;
        for (let i = 0; i < rows.length; i++) arr.insert(rows[i]!, times[i]!, diffs[i]!);
      }
    }
    arr.advanceUpper(f);
    this.output.advance(f);
    return true;
  }
}

/** Arranges `input` by `key` and returns the operator (its `arrangement` answers reads). */
export function arrangeBy(input: Stream, key: readonly number[]): ArrangeByOperator {
  return new ArrangeByOperator(input.graph, input, key);
}
