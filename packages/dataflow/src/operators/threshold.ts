/**
 * `ThresholdOperator` / `threshold()`: keeps rows with positive multiplicity, clamping negative
 * counts to zero (`EXCEPT ALL` is `threshold(a - b)`).
 *
 * ## Algorithm / Correctness
 * A `RowCountOperator` (see `row-counts.ts`) with `clamp(n) = max(n, 0)`. Keyed by the whole
 * row: `render` puts an exchange on the whole row in front of it.
 */
import type { Graph } from "../graph.js";
import type { Pipeable, Stream } from "../stream.js";
import { RowCountOperator } from "./row-counts.js";

/** Clamps multiplicities at zero. */
export class ThresholdOperator extends RowCountOperator {
  constructor(graph: Graph, input: Stream, name = "threshold") {
    super(graph, input, (n) => Math.max(n, 0), name);
  }
}

/** Pipeable `threshold`. */
export function threshold(): Pipeable {
  return (input) => new ThresholdOperator(input.graph, input).output;
}
