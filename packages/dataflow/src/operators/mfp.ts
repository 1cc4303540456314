/**
 * `MfpOperator` / `mfp()`: a fused chain of map, filter and project steps (Materialize's
 * `MapFilterProject`), so a chain like `map → filter → map → project` costs one pass, one output
 * batch and at most one new row per surviving input row.
 *
 * ## Algorithm
 * Per row, the steps run in order on a working row: the input row itself until a `map` needs to
 * append (then a copy) or a `project` builds a new one; a `filter` stops at the first predicate
 * that is not exactly `true`. An expression error sends `[code, message]` with the row's time and
 * diff to `errors` and drops the row. When no row of a batch is dropped, the output batch shares
 * the input's `times` and `diffs` arrays.
 *
 * ## Correctness
 * Row by row it computes exactly what the unfused operators compute (same expressions, same
 * order, same error rule), and it is linear; the frontier is forwarded after the data.
 */

import type { Expr } from "@mzts/expr";
import type { Datum, Row, Timestamp } from "@mzts/repr";
import { Batch } from "../batch.js";
import { type CompiledExpr, compileExpr } from "../expr/compile.js";
import { type Graph, Operator } from "../graph.js";
import { type InputPort, type Pipeable, Stream } from "../stream.js";
import { errorRow } from "./eval-errors.js";

/** One step of a fused chain. */
export type MfpStep =
  | { readonly kind: "map"; readonly exprs: readonly Expr[] }
  | { readonly kind: "filter"; readonly predicates: readonly Expr[] }
  | { readonly kind: "project"; readonly columns: readonly number[] };

type Compiled =
  | { readonly kind: 0; readonly fns: CompiledExpr[] }
  | { readonly kind: 1; readonly fns: CompiledExpr[] }
  | { readonly kind: 2; readonly columns: readonly number[] };

/** Compiles steps into `(row) => output row | null (filtered out)`. @throws EvaluationError */
export function compileMfp(steps: readonly MfpStep[]): (row: Row) => Row | null {
  const cs: Compiled[] = steps.map((s) =>
    s.kind === "map"
      ? { kind: 0, fns: s.exprs.map(compileExpr) }
      : s.kind === "filter"
        ? { kind: 1, fns: s.predicates.map(compileExpr) }
        : { kind: 2, columns: s.columns.slice() },
  );
  return (row) => {
    let w = row as Datum[];
    let owned = false;
    for (let i = 0; i < cs.length; i++) {
      const c = cs[i]!;
      if (c.kind === 0) {
        if (!owned) {
          w = w.slice();
          owned = true;
        }
        const fns = c.fns;
        for (let j = 0; j < fns.length; j++) w.push(fns[j]!(w));
      } else if (c.kind === 1) {
        const fns = c.fns;
        for (let j = 0; j < fns.length; j++) if (fns[j]!(w) !== true) return null;
      } else {
        const cols = c.columns;
        const p = new Array<Datum>(cols.length);
        for (let j = 0; j < cols.length; j++) p[j] = w[cols[j]!] as Datum;
        w = p;
        owned = true;
      }
    }
    return w;
  };
}

/** Map, filter and project steps, fused. */
export class MfpOperator extends Operator {
  readonly output: Stream;
  readonly errors: Stream;
  readonly #input: InputPort;
  readonly #fn: (row: Row) => Row | null;

  constructor(graph: Graph, input: Stream, steps: readonly MfpStep[], name = "mfp") {
    super(graph, name);
    this.#input = input.connect(this.id);
    this.#fn = compileMfp(steps);
    this.output = new Stream(graph, name);
    this.errors = new Stream(graph, `${name}.errors`);
  }

  run(): boolean {
    const port = this.#input;
    if (!port.pending) return false;
    const fn = this.#fn;
    for (const b of port.takeBatches()) {
      const { rows, times, diffs } = b;
      const n = rows.length;
      const out: Row[] = [];
      let dropped = false;
      let keepTimes: Timestamp[] | undefined;
      let keepDiffs: number[] | undefined;
      let errs: Batch | undefined;
      for (let i = 0; i < n; i++) {
        let r: Row | null;
        try {
          r = fn(rows[i]!);
        } catch (e) {
          errs ??= new Batch();
          errs.push(errorRow(e), times[i]!, diffs[i]!);
          r = null;
        }
        if (r !== null) {
          out.push(r);
          if (dropped) {
            keepTimes!.push(times[i]!);
            keepDiffs!.push(diffs[i]!);
          }
        } else if (!dropped) {
          dropped = true;
          keepTimes = times.slice(0, i);
          keepDiffs = diffs.slice(0, i);
        }
      }
      this.output.send(
        dropped ? new Batch(out, keepTimes, keepDiffs) : new Batch(out, times, diffs),
      );
      if (errs) this.errors.send(errs);
    }
    if (port.takeFrontier()) {
      this.output.advance(port.frontier);
      this.errors.advance(port.frontier);
    }
    return true;
  }
}

/** Pipeable fused map/filter/project (errors are dropped; use the class to keep them). */
export function mfp(steps: readonly MfpStep[]): Pipeable {
  return (input) => new MfpOperator(input.graph, input, steps).output;
}
