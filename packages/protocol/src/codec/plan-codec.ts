/**
 * Plan and expression codec: `@mzts/expr` `Plan`/`Expr` ⇄ `mz.expr.v1.Plan`/`Expr`.
 *
 * The wire messages mirror the domain one to one (node kinds = oneof cases, operator names =
 * enum values), so every plan round-trips exactly. Decoding is structural (every oneof case set,
 * every required child present, enums specified, ids well formed, integers in range); callers
 * then run `validatePlan`/`validateExpr` (`decodeValidPlan`, `checkExpr`), which check columns and
 * arities against the imports, and get a `FieldError` at the offending node.
 */
import { create, toBinary } from "@bufbuild/protobuf";
import {
  type AggregateFunc,
  type BinaryOp,
  type Expr,
  type ImportArity,
  MalformedPlan,
  type OrderKey,
  type Plan,
  type UnaryOp,
  type VariadicOp,
  validateExpr,
  validatePlan,
} from "@mzts/expr";
import {
  AggregateFunc as AggregateFuncProto,
  BinaryOp as BinaryOpProto,
  type Expr as ExprProto,
  ExprSchema,
  type OrderKey as OrderKeyProto,
  OrderKeySchema,
  type Plan as PlanProto,
  PlanSchema,
  UnaryOp as UnaryOpProto,
  VariadicOp as VariadicOpProto,
} from "../gen/mz/expr/v1/expr_pb.js";
import { datumFromProto, datumToProto, rowFromProto, rowToProto } from "./datum-codec.js";
import { decodeEnum, decodeGlobalId, fail, required, reverse, safeI64, safeU64 } from "./field.js";

const UNARY: Readonly<Record<UnaryOp, UnaryOpProto>> = {
  not: UnaryOpProto.NOT,
  neg: UnaryOpProto.NEG,
  isNull: UnaryOpProto.IS_NULL,
  isNotNull: UnaryOpProto.IS_NOT_NULL,
  isTrue: UnaryOpProto.IS_TRUE,
  abs: UnaryOpProto.ABS,
  lower: UnaryOpProto.LOWER,
  upper: UnaryOpProto.UPPER,
  length: UnaryOpProto.LENGTH,
  castInt64: UnaryOpProto.CAST_INT64,
  castFloat64: UnaryOpProto.CAST_FLOAT64,
  castNumeric: UnaryOpProto.CAST_NUMERIC,
  castText: UnaryOpProto.CAST_TEXT,
};
const BINARY: Readonly<Record<BinaryOp, BinaryOpProto>> = {
  add: BinaryOpProto.ADD,
  sub: BinaryOpProto.SUB,
  mul: BinaryOpProto.MUL,
  div: BinaryOpProto.DIV,
  mod: BinaryOpProto.MOD,
  eq: BinaryOpProto.EQ,
  neq: BinaryOpProto.NEQ,
  lt: BinaryOpProto.LT,
  lte: BinaryOpProto.LTE,
  gt: BinaryOpProto.GT,
  gte: BinaryOpProto.GTE,
  and: BinaryOpProto.AND,
  or: BinaryOpProto.OR,
  concat: BinaryOpProto.CONCAT,
  like: BinaryOpProto.LIKE,
};
const VARIADIC: Readonly<Record<VariadicOp, VariadicOpProto>> = {
  coalesce: VariadicOpProto.COALESCE,
  greatest: VariadicOpProto.GREATEST,
  least: VariadicOpProto.LEAST,
  concat: VariadicOpProto.CONCAT,
};
const AGGREGATE: Readonly<Record<AggregateFunc, AggregateFuncProto>> = {
  count: AggregateFuncProto.COUNT,
  sum: AggregateFuncProto.SUM,
  min: AggregateFuncProto.MIN,
  max: AggregateFuncProto.MAX,
};
const UNARY_BACK = reverse(UNARY);
const BINARY_BACK = reverse(BINARY);
const VARIADIC_BACK = reverse(VARIADIC);
const AGGREGATE_BACK = reverse(AGGREGATE);

/** Domain operator names known to the wire tables (for tests: every name has a wire value). */
export const EXPR_OPERATORS = {
  unary: Object.keys(UNARY) as UnaryOp[],
  binary: Object.keys(BINARY) as BinaryOp[],
  variadic: Object.keys(VARIADIC) as VariadicOp[],
  aggregate: Object.keys(AGGREGATE) as AggregateFunc[],
} as const;

/** The wire form of an expression. */
export function exprToProto(e: Expr): ExprProto {
  switch (e.kind) {
    case "column":
      return create(ExprSchema, { kind: { case: "column", value: e.index } });
    case "literal":
      return create(ExprSchema, { kind: { case: "literal", value: datumToProto(e.value) } });
    case "unary":
      return create(ExprSchema, {
        kind: { case: "unary", value: { op: UNARY[e.op], arg: exprToProto(e.arg) } },
      });
    case "binary":
      return create(ExprSchema, {
        kind: {
          case: "binary",
          value: { op: BINARY[e.op], left: exprToProto(e.left), right: exprToProto(e.right) },
        },
      });
    case "variadic":
      return create(ExprSchema, {
        kind: { case: "variadic", value: { op: VARIADIC[e.op], args: e.args.map(exprToProto) } },
      });
    case "if":
      return create(ExprSchema, {
        kind: {
          case: "ifThenElse",
          value: {
            condition: exprToProto(e.cond),
            ifTrue: exprToProto(e.ifTrue),
            ifFalse: exprToProto(e.ifFalse),
          },
        },
      });
  }
}

/** Decodes an expression structurally (columns are checked by `checkExpr`). @throws FieldError */
export function exprFromProto(p: ExprProto | undefined, path: string): Expr {
  const k = required(p, path).kind;
  switch (k.case) {
    case "column":
      return { kind: "column", index: k.value };
    case "literal":
      return { kind: "literal", value: datumFromProto(k.value, `${path}.literal`) };
    case "unary": {
      const at = `${path}.unary`;
      return {
        kind: "unary",
        op: decodeEnum(k.value.op, UNARY_BACK, `${at}.op`, "unary function"),
        arg: exprFromProto(k.value.arg, `${at}.arg`),
      };
    }
    case "binary": {
      const at = `${path}.binary`;
      return {
        kind: "binary",
        op: decodeEnum(k.value.op, BINARY_BACK, `${at}.op`, "binary function"),
        left: exprFromProto(k.value.left, `${at}.left`),
        right: exprFromProto(k.value.right, `${at}.right`),
      };
    }
    case "variadic": {
      const at = `${path}.variadic`;
      return {
        kind: "variadic",
        op: decodeEnum(k.value.op, VARIADIC_BACK, `${at}.op`, "variadic function"),
        args: k.value.args.map((a, i) => exprFromProto(a, `${at}.args[${i}]`)),
      };
    }
    case "ifThenElse": {
      const at = `${path}.ifThenElse`;
      return {
        kind: "if",
        cond: exprFromProto(k.value.condition, `${at}.condition`),
        ifTrue: exprFromProto(k.value.ifTrue, `${at}.ifTrue`),
        ifFalse: exprFromProto(k.value.ifFalse, `${at}.ifFalse`),
      };
    }
    case undefined:
      return fail(path, "no expression kind is set");
  }
}

/** Runs `validateExpr` against an input of `arity` columns. @throws FieldError */
export function checkExpr(e: Expr, arity: number, path: string): void {
  try {
    validateExpr(e, arity, path);
  } catch (err) {
    if (err instanceof MalformedPlan) fail(err.path, err.reason);
    throw err;
  }
}

/** The wire form of a sort key. */
export function orderKeyToProto(o: OrderKey): OrderKeyProto {
  return create(OrderKeySchema, { column: o.column, desc: o.desc, nullsLast: o.nullsLast });
}

/** Decodes a sort key. */
export function orderKeyFromProto(o: OrderKeyProto): OrderKey {
  return { column: o.column, desc: o.desc, nullsLast: o.nullsLast };
}

function input(p: Plan): { input: PlanProto } {
  return { input: planToProto((p as { input: Plan }).input) };
}

/** Bytes of a plan's binary wire form (for size limits outside transport code). */
export function planEncodedBytes(p: Plan): number {
  return toBinary(PlanSchema, planToProto(p)).length;
}

/** The wire form of a plan. */
export function planToProto(p: Plan): PlanProto {
  switch (p.kind) {
    case "constant":
      return create(PlanSchema, {
        kind: {
          case: "constant",
          value: {
            arity: p.arity,
            rows: p.rows.map(([row, diff]) => ({ row: rowToProto(row), diff: BigInt(diff) })),
          },
        },
      });
    case "get":
      return create(PlanSchema, { kind: { case: "get", value: { id: p.id, arity: p.arity } } });
    case "map":
      return create(PlanSchema, {
        kind: { case: "map", value: { ...input(p), exprs: p.exprs.map(exprToProto) } },
      });
    case "filter":
      return create(PlanSchema, {
        kind: { case: "filter", value: { ...input(p), predicates: p.predicates.map(exprToProto) } },
      });
    case "project":
      return create(PlanSchema, {
        kind: { case: "project", value: { ...input(p), columns: [...p.columns] } },
      });
    case "union":
      return create(PlanSchema, {
        kind: { case: "union", value: { inputs: p.inputs.map(planToProto) } },
      });
    case "negate":
      return create(PlanSchema, { kind: { case: "negate", value: input(p) } });
    case "distinct":
      return create(PlanSchema, { kind: { case: "distinct", value: input(p) } });
    case "threshold":
      return create(PlanSchema, { kind: { case: "threshold", value: input(p) } });
    case "join":
      return create(PlanSchema, {
        kind: {
          case: "join",
          value: {
            inputs: p.inputs.map(planToProto),
            equivalences: p.equivalences.map((cls) => ({
              columns: cls.map(([i, c]) => ({ input: i, column: c })),
            })),
          },
        },
      });
    case "reduce":
      return create(PlanSchema, {
        kind: {
          case: "reduce",
          value: {
            ...input(p),
            groupKey: [...p.groupKey],
            aggregates: p.aggregates.map((a) =>
              a.column === undefined
                ? { func: AGGREGATE[a.func] }
                : { func: AGGREGATE[a.func], column: a.column },
            ),
          },
        },
      });
    case "topK":
      return create(PlanSchema, {
        kind: {
          case: "topK",
          value: {
            ...input(p),
            groupKey: [...p.groupKey],
            orderBy: p.orderBy.map(orderKeyToProto),
            offset: BigInt(p.offset),
            ...(p.limit === undefined ? {} : { limit: BigInt(p.limit) }),
          },
        },
      });
    case "arrangeBy":
      return create(PlanSchema, {
        kind: { case: "arrangeBy", value: { ...input(p), key: [...p.key] } },
      });
  }
}

/** Decodes a plan structurally (columns and arities are checked by `validatePlan`). @throws FieldError */
export function planFromProto(p: PlanProto | undefined, path: string): Plan {
  const k = required(p, path).kind;
  const at = `${path}.${k.case}`;
  switch (k.case) {
    case "constant":
      return {
        kind: "constant",
        arity: k.value.arity,
        rows: k.value.rows.map((e, i) => [
          rowFromProto(e.row, `${at}.rows[${i}].row`),
          safeI64(e.diff, `${at}.rows[${i}].diff`),
        ]),
      };
    case "get":
      return { kind: "get", id: decodeGlobalId(k.value.id, `${at}.id`), arity: k.value.arity };
    case "map":
      return {
        kind: "map",
        input: planFromProto(k.value.input, `${at}.input`),
        exprs: k.value.exprs.map((e, i) => exprFromProto(e, `${at}.exprs[${i}]`)),
      };
    case "filter":
      return {
        kind: "filter",
        input: planFromProto(k.value.input, `${at}.input`),
        predicates: k.value.predicates.map((e, i) => exprFromProto(e, `${at}.predicates[${i}]`)),
      };
    case "project":
      return {
        kind: "project",
        input: planFromProto(k.value.input, `${at}.input`),
        columns: [...k.value.columns],
      };
    case "union":
      return {
        kind: "union",
        inputs: k.value.inputs.map((q, i) => planFromProto(q, `${at}.inputs[${i}]`)),
      };
    case "negate":
    case "distinct":
    case "threshold":
      return { kind: k.case, input: planFromProto(k.value.input, `${at}.input`) };
    case "join":
      return {
        kind: "join",
        inputs: k.value.inputs.map((q, i) => planFromProto(q, `${at}.inputs[${i}]`)),
        equivalences: k.value.equivalences.map((cls) =>
          cls.columns.map((c) => [c.input, c.column] as const),
        ),
      };
    case "reduce":
      return {
        kind: "reduce",
        input: planFromProto(k.value.input, `${at}.input`),
        groupKey: [...k.value.groupKey],
        aggregates: k.value.aggregates.map((a, i) => {
          const func = decodeEnum(
            a.func,
            AGGREGATE_BACK,
            `${at}.aggregates[${i}].func`,
            "aggregate",
          );
          return a.column === undefined ? { func } : { func, column: a.column };
        }),
      };
    case "topK": {
      const v = k.value;
      const offset = safeU64(v.offset, `${at}.offset`);
      const base = {
        kind: "topK" as const,
        input: planFromProto(v.input, `${at}.input`),
        groupKey: [...v.groupKey],
        orderBy: v.orderBy.map(orderKeyFromProto),
        offset,
      };
      return v.limit === undefined ? base : { ...base, limit: safeU64(v.limit, `${at}.limit`) };
    }
    case "arrangeBy":
      return {
        kind: "arrangeBy",
        input: planFromProto(k.value.input, `${at}.input`),
        key: [...k.value.key],
      };
    case undefined:
      return fail(path, "no plan kind is set");
  }
}

/**
 * Decodes a plan and validates it with `validatePlan` against `importArity`.
 * Returns the plan and its output arity. @throws FieldError
 */
export function decodeValidPlan(
  p: PlanProto | undefined,
  path: string,
  importArity?: ImportArity,
): { plan: Plan; arity: number } {
  const plan = planFromProto(p, path);
  try {
    return { plan, arity: validatePlan(plan, importArity, path) };
  } catch (err) {
    if (err instanceof MalformedPlan) fail(err.path, err.reason);
    throw err;
  }
}
