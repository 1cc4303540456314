/**
 * `NegateOperator` / `negate()`: negates every multiplicity.
 *
 * ## Algorithm / Correctness
 * Stateless and linear; output batches share the input's rows and times and carry negated
 * diffs. The frontier is forwarded after the data.
 */
import { Batch } from "../batch.js";
import { type Graph, Operator } from "../graph.js";
import { type InputPort, type Pipeable, Stream } from "../stream.js";

/** Negates multiplicities. */
export class NegateOperator extends Operator {
  readonly output: Stream;
  readonly #input: InputPort;

  constructor(graph: Graph, input: Stream, name = "negate") {
    super(graph, name);
    this.#input = input.connect(this.id);
    this.output = new Stream(graph, name);
  }

  run(): boolean {
    const port = this.#input;
    if (!port.pending) return false;
    for (const b of port.takeBatches()) {
      const d = b.diffs;
      const nd = new Array<number>(d.length);
      for (let i = 0; i < d.length; i++) nd[i] = -d[i]!;
      this.output.send(new Batch(b.rows, b.times, nd));
    }
    if (port.takeFrontier()) this.output.advance(port.frontier);
    return true;
  }
}

/** Pipeable `negate`. */
export function negate(): Pipeable {
  return (input) => new NegateOperator(input.graph, input).output;
}
