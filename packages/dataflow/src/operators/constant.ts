/**
 * `ConstantOperator`: a fixed collection, present from the dataflow's as-of, then closed.
 *
 * ## Algorithm
 * On its first run the operator sends its rows at `graph.asOf` and closes its frontier. With W
 * workers the rows are split between workers (row `i` goes to worker `i mod W`), so the union
 * over workers is the constant exactly once (shared/design.md §4: only constants are split).
 *
 * ## Correctness
 * The output frontier starts at `asOf` (<= the only time used) and jumps to empty after the
 * data, so no update is ever behind the frontier.
 */
import { Frontier, type Row } from "@mzts/repr";
import { Batch } from "../batch.js";
import { type Graph, Operator } from "../graph.js";
import { Stream } from "../stream.js";

/** Emits a fixed collection once, then closes. */
export class ConstantOperator extends Operator {
  readonly output: Stream;
  readonly #rows: ReadonlyArray<readonly [Row, number]>;
  #done = false;

  constructor(graph: Graph, rows: ReadonlyArray<readonly [Row, number]>, name = "constant") {
    super(graph, name);
    this.output = new Stream(graph, name, graph.asOf);
    this.#rows = rows;
  }

  run(): boolean {
    if (this.#done) return false;
    this.#done = true;
    const { worker, workers, asOf } = this.graph;
    const b = new Batch();
    this.#rows.forEach(([row, diff], i) => {
      if (i % workers === worker && diff !== 0) b.push(row, asOf, diff);
    });
    this.output.send(b);
    this.output.advance(Frontier.EMPTY);
    return true;
  }
}

/** A constant collection on `graph` (an empty one makes an empty, closed stream). */
export function constant(graph: Graph, rows: ReadonlyArray<readonly [Row, number]>): Stream {
  return new ConstantOperator(graph, rows).output;
}
