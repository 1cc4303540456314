/**
 * `UnionOperator` / `union()`: multiset union (adds multiplicities) of any number of streams.
 *
 * ## Algorithm / Correctness
 * Batches pass through untouched (they are immutable). The output frontier is the meet of the
 * input frontiers: a time is complete in the union only when complete in every input.
 */
import { Frontier } from "@mzts/repr";
import { type Graph, Operator } from "../graph.js";
import { type InputPort, type Pipeable, Stream } from "../stream.js";

/** Adds the multiplicities of its inputs. */
export class UnionOperator extends Operator {
  readonly output: Stream;
  readonly #inputs: InputPort[];

  constructor(graph: Graph, inputs: readonly Stream[], name = "union") {
    super(graph, name);
    this.#inputs = inputs.map((s) => s.connect(this.id));
    let f: Frontier = Frontier.EMPTY;
    for (const p of this.#inputs) f = Frontier.meet(f, p.frontier);
    this.output = new Stream(graph, name, f);
  }

  run(): boolean {
    let worked = false;
    let moved = false;
    for (const port of this.#inputs) {
      if (!port.pending) continue;
      worked = true;
      for (const b of port.takeBatches()) this.output.send(b);
      if (port.takeFrontier()) moved = true;
    }
    if (moved) {
      let f: Frontier = Frontier.EMPTY;
      for (const p of this.#inputs) f = Frontier.meet(f, p.frontier);
      this.output.advance(f);
    }
    return worked;
  }
}

/** Pipeable union with `others`. */
export function union(...others: Stream[]): Pipeable {
  return (input) => new UnionOperator(input.graph, [input, ...others]).output;
}
