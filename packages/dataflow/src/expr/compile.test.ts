import type { Expr } from "@mzts/expr";
import { Datum, type Row } from "@mzts/repr";
import { describe, expect, it } from "vitest";
import { EvaluationError } from "../errors.js";
import { compileExpr, compilePredicates } from "./compile.js";

/** An `if` node. */
function ifE(cond: Expr, t: Expr, e: Expr): Expr {
  return { kind: "if", cond, ifTrue: t, ifFalse: e };
}

const col = (index: number): Expr => ({ kind: "column", index });
const lit = (value: Datum): Expr => ({ kind: "literal", value });
const bin = (op: Extract<Expr, { kind: "binary" }>["op"], left: Expr, right: Expr): Expr => ({
  kind: "binary",
  op,
  left,
  right,
});
const un = (op: Extract<Expr, { kind: "unary" }>["op"], arg: Expr): Expr => ({
  kind: "unary",
  op,
  arg,
});
const ev = (e: Expr, row: Row = []) => compileExpr(e)(row);
const code = (e: Expr, row: Row = []) => {
  try {
    ev(e, row);
  } catch (err) {
    if (err instanceof EvaluationError) return err.code;
    throw err;
  }
  return "no error";
};

describe("null semantics", () => {
  it("strict functions return null on a null argument", () => {
    for (const op of ["add", "sub", "mul", "div", "mod", "eq", "lt", "concat", "like"] as const) {
      expect(ev(bin(op, lit(null), lit(1n)))).toBeNull();
      expect(ev(bin(op, lit("a"), lit(null)))).toBeNull();
    }
    expect(ev(un("neg", lit(null)))).toBeNull();
    expect(ev(un("lower", lit(null)))).toBeNull();
  });
  it("evaluates both arguments before checking null (errors win)", () => {
    expect(code(bin("add", lit(null), bin("div", lit(1n), lit(0n))))).toBe("division_by_zero");
  });
  it("isNull / isNotNull / isTrue never return null", () => {
    expect(ev(un("isNull", lit(null)))).toBe(true);
    expect(ev(un("isNotNull", lit(null)))).toBe(false);
    expect(ev(un("isTrue", lit(null)))).toBe(false);
    expect(ev(un("isTrue", lit(true)))).toBe(true);
  });
  it("eq on nulls is null, so filters drop the row", () => {
    expect(ev(bin("eq", lit(null), lit(null)))).toBeNull();
    expect(compilePredicates([bin("eq", col(0), col(0))])([null])).toBe(false);
    expect(compilePredicates([bin("eq", col(0), col(0))])([1n])).toBe(true);
  });
});

describe("three-valued logic", () => {
  const T = lit(true);
  const F = lit(false);
  const N = lit(null);
  it("and", () => {
    expect([ev(bin("and", T, T)), ev(bin("and", T, F)), ev(bin("and", T, N))]).toEqual([
      true,
      false,
      null,
    ]);
    expect([ev(bin("and", F, N)), ev(bin("and", N, F)), ev(bin("and", N, N))]).toEqual([
      false,
      false,
      null,
    ]);
  });
  it("or", () => {
    expect([ev(bin("or", F, F)), ev(bin("or", F, T)), ev(bin("or", F, N))]).toEqual([
      false,
      true,
      null,
    ]);
    expect([ev(bin("or", T, N)), ev(bin("or", N, T)), ev(bin("or", N, N))]).toEqual([
      true,
      true,
      null,
    ]);
  });
  it("not", () => {
    expect([ev(un("not", T)), ev(un("not", F)), ev(un("not", N))]).toEqual([false, true, null]);
  });
  it("short-circuits on a decisive left operand only", () => {
    const boom = bin("eq", bin("div", lit(1n), lit(0n)), lit(1n));
    expect(ev(bin("and", F, boom))).toBe(false);
    expect(ev(bin("or", T, boom))).toBe(true);
    expect(code(bin("and", T, boom))).toBe("division_by_zero");
  });
  it("if takes else on null", () => {
    expect(ev(ifE(N, lit(1n), lit(2n)))).toBe(2n);
    expect(ev(ifE(T, lit(1n), bin("div", lit(1n), lit(0n))))).toBe(1n);
  });
});

describe("arithmetic", () => {
  it("int64 is checked", () => {
    const max = (1n << 63n) - 1n;
    expect(code(bin("add", lit(max), lit(1n)))).toBe("out_of_range");
    expect(code(bin("mul", lit(max), lit(2n)))).toBe("out_of_range");
    expect(code(un("neg", lit(-(1n << 63n))))).toBe("out_of_range");
    expect(code(bin("div", lit(-(1n << 63n)), lit(-1n)))).toBe("out_of_range");
    expect(ev(bin("add", lit(max - 1n), lit(1n)))).toBe(max);
  });
  it("division and modulo by zero are errors for every number type", () => {
    expect(code(bin("div", lit(1n), lit(0n)))).toBe("division_by_zero");
    expect(code(bin("mod", lit(1n), lit(0n)))).toBe("division_by_zero");
    expect(code(bin("div", lit(1.5), lit(0)))).toBe("division_by_zero");
    expect(code(bin("div", lit(Datum.numeric("1")), lit(Datum.numeric("0"))))).toBe(
      "division_by_zero",
    );
  });
  it("int64 division truncates toward zero; mod takes the dividend's sign", () => {
    expect(ev(bin("div", lit(-7n), lit(2n)))).toBe(-3n);
    expect(ev(bin("mod", lit(-7n), lit(2n)))).toBe(-1n);
  });
  it("promotes mixed types", () => {
    expect(ev(bin("add", lit(1n), lit(0.5)))).toBe(1.5);
    expect(ev(bin("add", lit(1n), lit(Datum.numeric("0.25"))))).toEqual(Datum.numeric("1.25"));
    expect(ev(bin("mul", lit(Datum.numeric("1.5")), lit(Datum.numeric("1.5"))))).toEqual(
      Datum.numeric("2.25"),
    );
    expect(ev(bin("div", lit(Datum.numeric("1")), lit(Datum.numeric("3"))))).toEqual(
      Datum.numeric("0.3333333333333333"),
    );
    expect(ev(bin("div", lit(Datum.numeric("2")), lit(Datum.numeric("3"))))).toEqual(
      Datum.numeric("0.6666666666666667"),
    );
  });
  it("type mismatches are errors, not exceptions out of the engine", () => {
    expect(code(bin("add", lit("a"), lit(1n)))).toBe("type_mismatch");
    expect(code(un("not", lit(1n)))).toBe("type_mismatch");
    expect(code(bin("and", lit(1n), lit(true)))).toBe("type_mismatch");
  });
});

describe("comparisons, text and casts", () => {
  it("compares numbers across types by value", () => {
    expect(ev(bin("eq", lit(1n), lit(1.0)))).toBe(true);
    expect(ev(bin("lt", lit(1n), lit(Datum.numeric("1.5"))))).toBe(true);
    expect(ev(bin("eq", lit(Number.NaN), lit(Number.NaN)))).toBe(true);
    expect(ev(bin("gt", lit(Number.NaN), lit(1e308)))).toBe(true);
  });
  it("like", () => {
    expect(ev(bin("like", lit("abc"), lit("a%")))).toBe(true);
    expect(ev(bin("like", lit("abc"), lit("a_c")))).toBe(true);
    expect(ev(bin("like", lit("abc"), lit("a_")))).toBe(false);
    expect(ev(bin("like", lit("a_c"), lit("a\\_c")))).toBe(true);
    expect(ev(bin("like", lit("abc"), lit("a\\_c")))).toBe(false);
    expect(ev(bin("like", lit("a.c"), lit("a.c")))).toBe(true);
    expect(ev(bin("like", lit("abc"), lit("a.c")))).toBe(false);
  });
  it("text functions", () => {
    expect(ev(un("length", lit("héllo😀")))).toBe(6n);
    expect(ev(un("upper", lit("abc")))).toBe("ABC");
    expect(ev(bin("concat", lit("a"), lit(1n)))).toBe("a1");
    expect(ev({ kind: "variadic", op: "concat", args: [lit("a"), lit(null), lit(true)] })).toBe(
      "atrue",
    );
  });
  it("casts", () => {
    expect(ev(un("castInt64", lit(2.5)))).toBe(2n);
    expect(ev(un("castInt64", lit(3.5)))).toBe(4n);
    expect(ev(un("castInt64", lit(Datum.numeric("-2.5"))))).toBe(-3n);
    expect(ev(un("castInt64", lit(" 42 ")))).toBe(42n);
    expect(code(un("castInt64", lit("4x")))).toBe("invalid_input");
    expect(code(un("castInt64", lit(1e300)))).toBe("out_of_range");
    expect(ev(un("castFloat64", lit("1e3")))).toBe(1000);
    expect(ev(un("castNumeric", lit("1.50")))).toEqual(Datum.numeric("1.5"));
    expect(ev(un("castText", lit(true)))).toBe("true");
  });
  it("coalesce is lazy; greatest/least ignore nulls", () => {
    expect(
      ev({
        kind: "variadic",
        op: "coalesce",
        args: [lit(null), lit(2n), bin("div", lit(1n), lit(0n))],
      }),
    ).toBe(2n);
    expect(ev({ kind: "variadic", op: "greatest", args: [lit(null), lit(2n), lit(5n)] })).toBe(5n);
    expect(ev({ kind: "variadic", op: "least", args: [lit(null), lit(null)] })).toBeNull();
  });
  it("columns are read from the row", () => {
    expect(ev(bin("add", col(0), col(1)), [2n, 3n])).toBe(5n);
  });
});
