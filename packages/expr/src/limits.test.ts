import { describe, expect, it } from "vitest";
import { planColumnTypes } from "./column-types.js";
import { LimitExceeded } from "./errors.js";
import { MAX_CONSTANT_ROWS, MAX_NESTING_DEPTH, MAX_PLAN_NODES, MAX_ROW_WIDTH } from "./limits.js";
import type { Expr, Plan } from "./plan.js";
import { validateExpr, validatePlan } from "./validate.js";

const get: Plan = { kind: "get", id: "u1", arity: 2 };
const col: Expr = { kind: "column", index: 0 };

function nots(n: number, e: Expr = col): Expr {
  let out = e;
  for (let i = 0; i < n; i++) out = { kind: "unary", op: "not", arg: out };
  return out;
}

function refusal(f: () => unknown): LimitExceeded {
  try {
    f();
  } catch (e) {
    if (e instanceof LimitExceeded) return e;
    throw e;
  }
  throw new Error("expected LimitExceeded");
}

describe("limits", () => {
  it("a filter over a get nesting 47 nots (a replica cannot decode it) gets LimitExceeded", () => {
    const plan: Plan = { kind: "filter", input: get, predicates: [nots(47)] };
    const e = refusal(() => validatePlan(plan));
    expect(e.limit).toBe("MAX_NESTING_DEPTH");
    expect(e.message).toContain("MAX_NESTING_DEPTH = 40");
    expect(e.path.startsWith("plan.filter.predicates[0]")).toBe(true);
  });

  it("plan depth and expression depth add up: exactly MAX_NESTING_DEPTH passes, one more fails", () => {
    // filter (1) + nots + column leaf: depth = 1 + n + 1.
    const ok: Plan = { kind: "filter", input: get, predicates: [nots(MAX_NESTING_DEPTH - 2)] };
    expect(validatePlan(ok)).toBe(2);
    const deep: Plan = { kind: "filter", input: get, predicates: [nots(MAX_NESTING_DEPTH - 1)] };
    expect(refusal(() => validatePlan(deep)).limit).toBe("MAX_NESTING_DEPTH");
  });

  it("a chain of plan nodes deeper than the limit gets LimitExceeded", () => {
    let p: Plan = get;
    for (let i = 0; i < MAX_NESTING_DEPTH; i++) p = { kind: "negate", input: p };
    expect(refusal(() => validatePlan(p)).limit).toBe("MAX_NESTING_DEPTH");
  });

  it("a peek expression is its own root: MAX_NESTING_DEPTH levels pass, one more fails", () => {
    expect(() => validateExpr(nots(MAX_NESTING_DEPTH - 1), 2)).not.toThrow();
    expect(refusal(() => validateExpr(nots(MAX_NESTING_DEPTH), 2)).limit).toBe("MAX_NESTING_DEPTH");
  });

  it("too many nodes, too wide rows and too many constant rows get LimitExceeded", () => {
    const wide: Expr = { kind: "variadic", op: "coalesce", args: Array(MAX_PLAN_NODES).fill(col) };
    expect(refusal(() => validateExpr(wide, 2)).limit).toBe("MAX_PLAN_NODES");
    expect(
      refusal(() => validatePlan({ kind: "get", id: "u1", arity: MAX_ROW_WIDTH + 1 })).limit,
    ).toBe("MAX_ROW_WIDTH");
    const mapped: Plan = { kind: "map", input: get, exprs: Array(MAX_ROW_WIDTH).fill(col) };
    expect(refusal(() => validatePlan(mapped)).limit).toBe("MAX_ROW_WIDTH");
    const rows = Array.from({ length: MAX_CONSTANT_ROWS + 1 }, () => [[1n], 1] as const);
    expect(refusal(() => validatePlan({ kind: "constant", arity: 1, rows })).limit).toBe(
      "MAX_CONSTANT_ROWS",
    );
  });
});

describe("planColumnTypes", () => {
  const bidTypes = ["int64", "int64", "int64", "int64", "timestamp"] as const;
  const types = (id: string) => (id === "u1" ? bidTypes : undefined);
  const bids: Plan = { kind: "get", id: "u1", arity: 5 };

  it("follows the demo's winning_bids: group key, max, count", () => {
    const plan: Plan = {
      kind: "reduce",
      input: bids,
      groupKey: [2],
      aggregates: [{ func: "max", column: 3 }, { func: "count" }],
    };
    expect(planColumnTypes(plan, types)).toEqual(["int64", "int64", "int64"]);
  });

  it("maps, projects and joins; unknown where the plan does not decide", () => {
    const plan: Plan = {
      kind: "project",
      input: {
        kind: "map",
        input: {
          kind: "join",
          inputs: [bids, { kind: "get", id: "u9", arity: 1 }],
          equivalences: [],
        },
        exprs: [
          { kind: "unary", op: "castText", arg: col },
          { kind: "binary", op: "add", left: col, right: { kind: "literal", value: 1.5 } },
          { kind: "binary", op: "lt", left: col, right: col },
        ],
      },
      columns: [4, 5, 6, 7, 8],
    };
    expect(planColumnTypes(plan, types)).toEqual([
      "timestamp",
      undefined,
      "text",
      undefined,
      "boolean",
    ]);
  });

  it("constants: the one non-null type of a column, else unknown", () => {
    const plan: Plan = {
      kind: "constant",
      arity: 2,
      rows: [
        [[1n, "a"], 1],
        [[null, 2n], 1],
      ],
    };
    expect(planColumnTypes(plan, types)).toEqual(["int64", undefined]);
  });
});
