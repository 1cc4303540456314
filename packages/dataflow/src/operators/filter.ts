/**
 * `FilterOperator` / `filter()`: keeps the rows for which every predicate is exactly `true`
 * (false and null drop the row — SQL `WHERE`).
 *
 * ## Algorithm
 * Stateless, batch at a time. Predicates are evaluated in order and evaluation stops at the
 * first one that is not `true`. A predicate that throws sends `[code, message]` with the row's
 * time and diff to `errors` (predicates after a failing one are not evaluated).
 *
 * ## Correctness
 * Linear: each update is kept, dropped or turned into one error update at the same time; the
 * frontier is forwarded after the data.
 */

import type { Expr } from "@mzts/expr";
import type { Row, Timestamp } from "@mzts/repr";
import { Batch } from "../batch.js";
import { compilePredicates } from "../expr/compile.js";
import { type Graph, Operator } from "../graph.js";
import { type InputPort, type Pipeable, Stream } from "../stream.js";
import { errorRow } from "./eval-errors.js";

/** Keeps rows satisfying every predicate. */
export class FilterOperator extends Operator {
  readonly output: Stream;
  readonly errors: Stream;
  readonly #input: InputPort;
  readonly #pred: (row: Row) => boolean;

  constructor(graph: Graph, input: Stream, predicates: readonly Expr[], name = "filter") {
    super(graph, name);
    this.#input = input.connect(this.id);
    this.#pred = compilePredicates(predicates);
    this.output = new Stream(graph, name);
    this.errors = new Stream(graph, `${name}.errors`);
  }

  run(): boolean {
    const port = this.#input;
    if (!port.pending) return false;
    const pred = this.#pred;
    for (const b of port.takeBatches()) {
      const { rows, times, diffs } = b;
      const n = rows.length;
      const oRows: Row[] = [];
      const oTimes: Timestamp[] = [];
      const oDiffs: number[] = [];
      let errs: Batch | undefined;
      for (let i = 0; i < n; i++) {
        const row = rows[i]!;
        let keep: boolean;
        try {
          keep = pred(row);
        } catch (e) {
          errs ??= new Batch();
          errs.push(errorRow(e), times[i]!, diffs[i]!);
          continue;
        }
        if (keep) {
          oRows.push(row);
          oTimes.push(times[i]!);
          oDiffs.push(diffs[i]!);
        }
      }
      this.output.send(new Batch(oRows, oTimes, oDiffs));
      if (errs) this.errors.send(errs);
    }
    if (port.takeFrontier()) {
      this.output.advance(port.frontier);
      this.errors.advance(port.frontier);
    }
    return true;
  }
}

/** Pipeable `filter` (errors are dropped; use the class to keep them). */
export function filter(predicates: readonly Expr[]): Pipeable {
  return (input) => new FilterOperator(input.graph, input, predicates).output;
}
