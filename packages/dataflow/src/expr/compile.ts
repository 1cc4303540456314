/**
 * The expression compiler: turns an `Expr` tree into a closure `(row) => Datum` once, so
 * operators evaluate a row with plain function calls and no tree walk or switch per row.
 *
 * ## Null semantics (SQL; see @mzts/expr plan.ts)
 * - Strict functions (arithmetic, comparisons, `like`, `concat`, casts, `not`, `neg`, …) return
 *   null when any argument is null. Both arguments are evaluated first (no short circuit on
 *   null), so `null + 1/0` is a division-by-zero error, as in PostgreSQL.
 * - `and`/`or` use three-valued logic and evaluate left to right, short-circuiting on a decisive
 *   left value: `false and x` is false and `true or x` is true without evaluating `x`.
 * - `isNull`, `isNotNull`, `isTrue` never return null. `if` takes the `ifTrue` branch only when the
 *   condition is exactly `true` (null → `else`), evaluating only the chosen branch.
 * - `coalesce` is lazy (stops at the first non-null). `greatest`/`least` ignore nulls and are
 *   null only when every argument is. Variadic `concat` skips nulls and is never null.
 * - Errors (division by zero, overflow, type mismatch, bad casts) throw `EvaluationError`; the map and
 *   filter operators turn them into error rows. Functions are in `functions.ts`.
 */

import type { Expr } from "@mzts/expr";
import type { Datum, Row } from "@mzts/repr";
import { EvaluationError } from "../errors.js";
import { applyBinary, applyUnary, arith, compare, compareValues } from "./functions.js";

/** A compiled scalar expression. */
export type CompiledExpr = (row: Row) => Datum;

const INT64_MIN = -(1n << 63n);
const INT64_MAX = (1n << 63n) - 1n;

/** Compiles `e` into a closure. The expression must be valid for the rows it will see. */
export function compileExpr(e: Expr): CompiledExpr {
  switch (e.kind) {
    case "column": {
      const i = e.index;
      return (row) => row[i] as Datum;
    }
    case "literal": {
      const v = e.value;
      return () => v;
    }
    case "unary":
      return compileUnary(e.op, compileExpr(e.arg));
    case "binary":
      return compileBinary(e.op, compileExpr(e.left), compileExpr(e.right));
    case "variadic":
      return compileVariadic(e.op, e.args.map(compileExpr));
    case "if": {
      const c = compileExpr(e.cond);
      const t = compileExpr(e.ifTrue);
      const f = compileExpr(e.ifFalse);
      return (row) => (c(row) === true ? t(row) : f(row));
    }
  }
}

/** Compiles a conjunction of predicates: true only when every predicate is exactly `true`. */
export function compilePredicates(predicates: readonly Expr[]): (row: Row) => boolean {
  const ps = predicates.map(compileExpr);
  if (ps.length === 0) return () => true;
  if (ps.length === 1) {
    const p = ps[0]!;
    return (row) => p(row) === true;
  }
  return (row) => {
    for (let i = 0; i < ps.length; i++) if (ps[i]!(row) !== true) return false;
    return true;
  };
}

function compileUnary(op: Extract<Expr, { kind: "unary" }>["op"], a: CompiledExpr): CompiledExpr {
  switch (op) {
    case "isNull":
      return (row) => a(row) === null;
    case "isNotNull":
      return (row) => a(row) !== null;
    case "isTrue":
      return (row) => a(row) === true;
    case "not":
      return (row) => {
        const v = a(row);
        if (v === null) return null;
        if (typeof v !== "boolean") return applyUnary("not", v);
        return !v;
      };
    default:
      return (row) => {
        const v = a(row);
        return v === null ? null : applyUnary(op, v);
      };
  }
}

function checkBool(v: Datum, op: string): void {
  if (v !== null && typeof v !== "boolean") {
    throw new EvaluationError("type_mismatch", `${op} does not accept a non-boolean argument`);
  }
}

function compileBinary(
  op: Extract<Expr, { kind: "binary" }>["op"],
  l: CompiledExpr,
  r: CompiledExpr,
): CompiledExpr {
  switch (op) {
    case "and":
      return (row) => {
        const a = l(row);
        if (a === false) return false;
        checkBool(a, "and");
        const b = r(row);
        if (b === false) return false;
        checkBool(b, "and");
        return a === null || b === null ? null : true;
      };
    case "or":
      return (row) => {
        const a = l(row);
        if (a === true) return true;
        checkBool(a, "or");
        const b = r(row);
        if (b === true) return true;
        checkBool(b, "or");
        return a === null || b === null ? null : false;
      };
    case "add":
      return (row) => {
        const a = l(row);
        const b = r(row);
        if (a === null || b === null) return null;
        if (typeof a === "bigint" && typeof b === "bigint") {
          const s = a + b;
          if (s > INT64_MAX || s < INT64_MIN) return arith("add", a, b);
          return s;
        }
        return arith("add", a, b);
      };
    case "sub":
    case "mul":
    case "div":
      return (row) => {
        const a = l(row);
        const b = r(row);
        if (a === null || b === null) return null;
        return arith(op, a, b);
      };
    case "mod":
      return (row) => {
        const a = l(row);
        const b = r(row);
        if (a === null || b === null) return null;
        if (typeof a === "bigint" && typeof b === "bigint" && b !== 0n) return a % b;
        return arith("mod", a, b);
      };
    case "eq":
    case "neq":
    case "lt":
    case "lte":
    case "gt":
    case "gte": {
      const want = op;
      return (row) => {
        const a = l(row);
        const b = r(row);
        if (a === null || b === null) return null;
        if (typeof a === "bigint" && typeof b === "bigint") {
          switch (want) {
            case "eq":
              return a === b;
            case "neq":
              return a !== b;
            case "lt":
              return a < b;
            case "lte":
              return a <= b;
            case "gt":
              return a > b;
            default:
              return a >= b;
          }
        }
        return compare(want, a, b);
      };
    }
    default:
      return (row) => {
        const a = l(row);
        const b = r(row);
        if (a === null || b === null) return null;
        return applyBinary(op, a, b);
      };
  }
}

function compileVariadic(
  op: Extract<Expr, { kind: "variadic" }>["op"],
  args: CompiledExpr[],
): CompiledExpr {
  switch (op) {
    case "coalesce":
      return (row) => {
        for (let i = 0; i < args.length; i++) {
          const v = args[i]!(row);
          if (v !== null) return v;
        }
        return null;
      };
    case "greatest":
    case "least": {
      const sign = op === "greatest" ? 1 : -1;
      return (row) => {
        let best: Datum = null;
        for (let i = 0; i < args.length; i++) {
          const v = args[i]!(row);
          if (v === null) continue;
          if (best === null || sign * compareValues(v, best) > 0) best = v;
        }
        return best;
      };
    }
    case "concat":
      return (row) => {
        let acc = "";
        for (let i = 0; i < args.length; i++) {
          const v = args[i]!(row);
          if (v !== null) acc += typeof v === "string" ? v : asTextDatum(v);
        }
        return acc;
      };
  }
}

function asTextDatum(v: Datum): string {
  return applyUnary("castText", v) as string;
}
