import type { Expr } from "@mzts/expr";
import { describe, expect, it } from "vitest";
import { asOf, harness, renderOne } from "../testdata/helpers.js";
import { capture } from "./capture.js";
import { FilterOperator } from "./filter.js";
import { MapOperator } from "./map.js";
import { MfpOperator } from "./mfp.js";
import { NegateOperator } from "./negate.js";
import { ProjectOperator } from "./project.js";
import { UnionOperator } from "./union.js";

const col = (index: number): Expr => ({ kind: "column", index });
const div = (l: Expr, r: Expr): Expr => ({ kind: "binary", op: "div", left: l, right: r });
const gt = (l: Expr, r: Expr): Expr => ({ kind: "binary", op: "gt", left: l, right: r });
const lit = (value: bigint): Expr => ({ kind: "literal", value });

describe("linear operators", () => {
  it("map appends columns (later ones see earlier ones); errors go to the error stream", () => {
    let op: MapOperator | undefined;
    const { graph, input, out } = harness((s, g) => {
      op = new MapOperator(g, s, [div(lit(10n), col(0)), gt(col(1), lit(2n))]);
      return op.output;
    });
    const errs = capture(op!.errors);
    input.send([
      [[1n], 0n, 1],
      [[5n], 0n, 1],
      [[0n], 0n, 2],
    ]);
    input.advanceTo(1n);
    graph.run();
    expect(asOf(out, 0n)).toEqual([
      [[1n, 10n, true], 1],
      [[5n, 2n, false], 1],
    ]);
    expect(asOf(errs, 0n)).toEqual([[["division_by_zero", "division by zero"], 2]]);
    expect(errs.frontier).toBe(1n);
  });

  it("filter keeps rows whose predicates are all true", () => {
    const { graph, input, out } = harness(
      (s, g) => new FilterOperator(g, s, [gt(col(0), lit(1n))]).output,
    );
    input.send([
      [[1n], 0n, 1],
      [[2n], 0n, 1],
      [[null], 0n, 1],
    ]);
    graph.run();
    expect(asOf(out, 0n)).toEqual([[[2n], 1]]);
  });

  it("project, negate and union", () => {
    const { graph, input, out } = harness((s, g) => {
      const p = new ProjectOperator(g, s, [1, 0, 1]).output;
      const n = new NegateOperator(g, p).output;
      return new UnionOperator(g, [p, n, p]).output;
    });
    input.send([[["a", "b"], 0n, 2]]);
    input.close();
    graph.run();
    expect(asOf(out, 0n)).toEqual([[["b", "a", "b"], 2]]);
    expect(out.frontier).toBeNull();
  });

  it("mfp fuses steps with the same results as the separate operators", () => {
    const steps = [
      { kind: "map", exprs: [div(lit(12n), col(0))] },
      { kind: "filter", predicates: [gt(col(1), lit(2n))] },
      { kind: "project", columns: [1] },
    ] as const;
    const { graph, input, out } = harness((s, g) => new MfpOperator(g, s, steps).output);
    input.send([
      [[1n], 0n, 1],
      [[6n], 0n, 1],
      [[0n], 0n, 1],
    ]);
    graph.run();
    expect(asOf(out, 0n)).toEqual([[[12n], 1]]);
  });

  it("render collects every evaluation error in errs", () => {
    const { graph, u1, oks, errs } = renderOne({
      kind: "filter",
      predicates: [gt(div(lit(1n), col(0)), lit(0n))],
      input: { kind: "negate", input: { kind: "get", id: "u1", arity: 1 } },
    });
    u1.send([
      [[0n], 0n, 1],
      [[1n], 0n, 1],
    ]);
    u1.close();
    graph.run();
    expect(asOf(oks, 0n)).toEqual([[[1n], -1]]);
    // negate ran before the filter, so the error carries the negated diff.
    expect(asOf(errs, 0n)).toEqual([[["division_by_zero", "division by zero"], -1]]);
  });
});
