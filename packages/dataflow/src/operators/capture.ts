/**
 * `CaptureOperator`: a sink that records every update and the frontier of its input (tests,
 * subscribes, benchmarks).
 *
 * Invariant: once `frontier` has passed `t`, `updates` holds every update at times `< frontier`
 * that the input will ever produce.
 */
import type { Frontier, Update } from "@mzts/repr";
import { type Graph, Operator } from "../graph.js";
import type { InputPort, Stream } from "../stream.js";

/** Records the updates and frontier of a stream. */
export class CaptureOperator extends Operator {
  /** Every update received, in arrival order. */
  readonly updates: Update[] = [];
  /** Called after the frontier advanced (with the new frontier). */
  onFrontier: ((f: Frontier) => void) | undefined;
  readonly #input: InputPort;

  constructor(graph: Graph, input: Stream, name = "capture") {
    super(graph, name);
    this.#input = input.connect(this.id);
  }

  /** The input frontier seen so far. */
  get frontier(): Frontier {
    return this.#input.frontier;
  }

  run(): boolean {
    const port = this.#input;
    if (!port.pending) return false;
    for (const b of port.takeBatches()) {
      const { rows, times, diffs } = b;
      for (let i = 0; i < rows.length; i++) this.updates.push([rows[i]!, times[i]!, diffs[i]!]);
    }
    if (port.takeFrontier()) this.onFrontier?.(port.frontier);
    return true;
  }
}

/** Captures `input`'s updates and frontier. */
export function capture(input: Stream): CaptureOperator {
  return new CaptureOperator(input.graph, input);
}
