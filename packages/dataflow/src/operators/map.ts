/**
 * `MapOperator` / `map()`: appends one column per expression (each expression sees the input
 * columns and the columns appended before it).
 *
 * ## Algorithm
 * Stateless, batch at a time: each input batch becomes one output batch sharing the input's
 * `times` and `diffs` arrays (no copy) unless a row fails to evaluate; then the failing rows go
 * to the `errors` stream as `[code, message]` rows with the same time and diff.
 *
 * ## Correctness
 * Linear in the input (each update maps to one update at the same time), so retractions retract
 * exactly what was produced; both outputs forward the input frontier after the data.
 */

import type { Expr } from "@mzts/expr";
import type { Datum, Row } from "@mzts/repr";
import { Batch } from "../batch.js";
import { type CompiledExpr, compileExpr } from "../expr/compile.js";
import { type Graph, Operator } from "../graph.js";
import { type InputPort, type Pipeable, Stream } from "../stream.js";
import { errorRow } from "./eval-errors.js";

/** Appends computed columns. */
export class MapOperator extends Operator {
  readonly output: Stream;
  /** Error rows (`[code, message]`) for rows whose expressions failed. */
  readonly errors: Stream;
  readonly #input: InputPort;
  readonly #exprs: CompiledExpr[];

  constructor(graph: Graph, input: Stream, exprs: readonly Expr[], name = "map") {
    super(graph, name);
    this.#input = input.connect(this.id);
    this.#exprs = exprs.map(compileExpr);
    this.output = new Stream(graph, name);
    this.errors = new Stream(graph, `${name}.errors`);
  }

  run(): boolean {
    const port = this.#input;
    if (!port.pending) return false;
    const exprs = this.#exprs;
    const k = exprs.length;
    for (const b of port.takeBatches()) {
      const { rows, times, diffs } = b;
      const n = rows.length;
      const out = new Array<Row>(n);
      let errs: Batch | undefined;
      let bad: boolean[] | undefined;
      for (let i = 0; i < n; i++) {
        const r: Datum[] = rows[i]!.slice();
        try {
          for (let j = 0; j < k; j++) r.push(exprs[j]!(r));
          out[i] = r;
        } catch (e) {
          errs ??= new Batch();
          bad ??= new Array<boolean>(n).fill(false);
          errs.push(errorRow(e), times[i]!, diffs[i]!);
          bad[i] = true;
        }
      }
      if (!bad) this.output.send(new Batch(out, times, diffs));
      else {
        const ok = new Batch();
        for (let i = 0; i < n; i++) if (!bad[i]) ok.push(out[i]!, times[i]!, diffs[i]!);
        this.output.send(ok);
        this.errors.send(errs!);
      }
    }
    if (port.takeFrontier()) {
      this.output.advance(port.frontier);
      this.errors.advance(port.frontier);
    }
    return true;
  }
}

/** Pipeable `map`: the output stream (errors are dropped; use the class to keep them). */
export function map(exprs: readonly Expr[]): Pipeable {
  return (input) => new MapOperator(input.graph, input, exprs).output;
}
