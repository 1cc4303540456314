/**
 * `DistinctOperator` / `distinct()`: each row with a positive count once (multiplicity 1);
 * rows with zero or negative counts are absent.
 *
 * ## Algorithm / Correctness
 * A `RowCountOperator` (see `row-counts.ts`) with `clamp(n) = n > 0 ? 1 : 0`. Keyed by the whole
 * row: `render` puts an exchange on the whole row in front of it.
 */
import type { Graph } from "../graph.js";
import type { Pipeable, Stream } from "../stream.js";
import { RowCountOperator } from "./row-counts.js";

/** Set semantics: multiplicity 1 where positive. */
export class DistinctOperator extends RowCountOperator {
  constructor(graph: Graph, input: Stream, name = "distinct") {
    super(graph, input, (n) => (n > 0 ? 1 : 0), name);
  }
}

/** Pipeable `distinct`. */
export function distinct(): Pipeable {
  return (input) => new DistinctOperator(input.graph, input).output;
}
