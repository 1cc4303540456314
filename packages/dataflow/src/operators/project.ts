/**
 * `ProjectOperator` / `project()`: output row = `input[columns[0]], input[columns[1]], …`.
 *
 * ## Algorithm / Correctness
 * Stateless and linear; output batches share the input's `times` and `diffs` arrays. Cannot
 * fail. The frontier is forwarded after the data.
 */
import type { Datum, Row } from "@mzts/repr";
import { Batch } from "../batch.js";
import { type Graph, Operator } from "../graph.js";
import { type InputPort, type Pipeable, Stream } from "../stream.js";

/** Selects and reorders columns. */
export class ProjectOperator extends Operator {
  readonly output: Stream;
  readonly #input: InputPort;
  readonly #columns: readonly number[];

  constructor(graph: Graph, input: Stream, columns: readonly number[], name = "project") {
    super(graph, name);
    this.#input = input.connect(this.id);
    this.#columns = columns.slice();
    this.output = new Stream(graph, name);
  }

  run(): boolean {
    const port = this.#input;
    if (!port.pending) return false;
    const cols = this.#columns;
    const k = cols.length;
    for (const b of port.takeBatches()) {
      const rows = b.rows;
      const out = new Array<Row>(rows.length);
      for (let i = 0; i < rows.length; i++) {
        const row = rows[i]!;
        const r = new Array<Datum>(k);
        for (let j = 0; j < k; j++) r[j] = row[cols[j]!] as Datum;
        out[i] = r;
      }
      this.output.send(new Batch(out, b.times, b.diffs));
    }
    if (port.takeFrontier()) this.output.advance(port.frontier);
    return true;
  }
}

/** Pipeable `project`. */
export function project(columns: readonly number[]): Pipeable {
  return (input) => new ProjectOperator(input.graph, input, columns).output;
}
