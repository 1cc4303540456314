/**
 * Column types of a plan's output, as far as they follow from its inputs' types.
 *
 * `planColumnTypes(plan, importTypes)` returns one entry per output column: the `DatumType` every
 * non-null value of the column has, or `undefined` when the plan does not determine one (an
 * input of unknown types, arithmetic over mixed types, a `sum`, a union whose inputs disagree).
 * Callers use it to refuse values of the wrong type where a known type is required (a peek's key
 * rows); an `undefined` type accepts any datum. Run `validatePlan` first: the plan is assumed
 * valid (columns in range, known functions).
 */
import { Datum, type DatumType } from "@mzts/repr";
import type { Expr, Plan } from "./plan.js";

/** A column's type, `undefined` = not determined by the plan. */
export type ColumnType = DatumType | undefined;

/** The column types of an import by id (undefined = unknown import or types). */
export type ImportTypes = (id: string) => readonly ColumnType[] | undefined;

/** The output column types of a valid `plan`. */
export function planColumnTypes(plan: Plan, importTypes: ImportTypes): ColumnType[] {
  switch (plan.kind) {
    case "constant":
      return Array.from({ length: plan.arity }, (_, c) => {
        const seen = new Set<DatumType>();
        for (const [row] of plan.rows) {
          const t = nonNullType(row[c] ?? null);
          if (t !== undefined) seen.add(t);
        }
        return seen.size === 1 ? [...seen][0] : undefined;
      });
    case "get": {
      const types = importTypes(plan.id);
      return Array.from({ length: plan.arity }, (_, c) => types?.[c]);
    }
    case "map": {
      const types = planColumnTypes(plan.input, importTypes);
      for (const e of plan.exprs) types.push(exprType(e, types));
      return types;
    }
    case "project": {
      const types = planColumnTypes(plan.input, importTypes);
      return plan.columns.map((c) => types[c]);
    }
    case "union": {
      const all = plan.inputs.map((p) => planColumnTypes(p, importTypes));
      return all[0]!.map((t, c) => (all.every((ts) => ts[c] === t) ? t : undefined));
    }
    case "join":
      return plan.inputs.flatMap((p) => planColumnTypes(p, importTypes));
    case "reduce": {
      const types = planColumnTypes(plan.input, importTypes);
      return [
        ...plan.groupKey.map((c) => types[c]),
        ...plan.aggregates.map((a): ColumnType => {
          if (a.func === "count") return "int64";
          if (a.func === "min" || a.func === "max") return types[a.column ?? -1];
          return undefined;
        }),
      ];
    }
    case "filter":
    case "negate":
    case "distinct":
    case "threshold":
    case "topK":
    case "arrangeBy":
      return planColumnTypes(plan.input, importTypes);
  }
}

/** The type of `e` over input columns of `types`. */
export function exprType(e: Expr, types: readonly ColumnType[]): ColumnType {
  switch (e.kind) {
    case "column":
      return types[e.index];
    case "literal":
      return nonNullType(e.value);
    case "unary":
      switch (e.op) {
        case "not":
        case "isNull":
        case "isNotNull":
        case "isTrue":
          return "boolean";
        case "lower":
        case "upper":
        case "castText":
          return "text";
        case "length":
        case "castInt64":
          return "int64";
        case "castFloat64":
          return "float64";
        case "castNumeric":
          return "numeric";
        case "neg":
        case "abs":
          return exprType(e.arg, types);
      }
      return undefined;
    case "binary":
      switch (e.op) {
        case "eq":
        case "neq":
        case "lt":
        case "lte":
        case "gt":
        case "gte":
        case "and":
        case "or":
        case "like":
          return "boolean";
        case "concat":
          return "text";
        default: {
          const l = exprType(e.left, types);
          return l === exprType(e.right, types) ? l : undefined;
        }
      }
    case "variadic": {
      if (e.op === "concat") return "text";
      const ts = e.args.map((a) => exprType(a, types));
      return ts.every((t) => t === ts[0]) ? ts[0] : undefined;
    }
    case "if": {
      const t = exprType(e.ifTrue, types);
      return t === exprType(e.ifFalse, types) ? t : undefined;
    }
  }
}

/** A literal's type, `undefined` for null (it fits any column). */
function nonNullType(d: Datum): ColumnType {
  return d === null ? undefined : Datum.typeOf(d);
}
