/**
 * The engine's input language: relational plans over scalar expressions, as plain data.
 *
 * A `Plan` is data (no classes, no functions): it survives `structuredClone`/`postMessage`, and
 * `@mzts/protocol` carries it as typed protobuf messages (whose JSON mapping is the plan's JSON
 * form). The engine (`@mzts/dataflow`) compiles it into operators; `validatePlan()` checks it first.
 *
 * Column conventions: every plan node produces rows of a fixed arity. `map` appends one column per
 * expression; `join` outputs the concatenation of its inputs' columns in input order; `reduce`
 * outputs its group key columns then one column per aggregate; `project` reorders/selects.
 *
 * Null semantics follow SQL: most functions return null on a null argument; `and`/`or` use
 * three-valued logic; `filter` keeps a row only when every predicate is exactly `true`; `eq` on
 * nulls is null (so equi-joins never match nulls); aggregates skip nulls (`count` with no column
 * counts rows).
 */
import type { Datum, GlobalId, Row } from "@mzts/repr";

export type UnaryOp =
  | "not"
  | "neg"
  | "isNull"
  | "isNotNull"
  | "isTrue"
  | "abs"
  | "lower"
  | "upper"
  | "length"
  | "castInt64"
  | "castFloat64"
  | "castNumeric"
  | "castText";

export type BinaryOp =
  | "add"
  | "sub"
  | "mul"
  | "div"
  | "mod"
  | "eq"
  | "neq"
  | "lt"
  | "lte"
  | "gt"
  | "gte"
  | "and"
  | "or"
  | "concat"
  | "like";

export type VariadicOp = "coalesce" | "greatest" | "least" | "concat";

/** A scalar expression evaluated against one row. */
export type Expr =
  | { readonly kind: "column"; readonly index: number }
  | { readonly kind: "literal"; readonly value: Datum }
  | { readonly kind: "unary"; readonly op: UnaryOp; readonly arg: Expr }
  | { readonly kind: "binary"; readonly op: BinaryOp; readonly left: Expr; readonly right: Expr }
  | { readonly kind: "variadic"; readonly op: VariadicOp; readonly args: readonly Expr[] }
  | { readonly kind: "if"; readonly cond: Expr; readonly ifTrue: Expr; readonly ifFalse: Expr };

export type AggregateFunc = "count" | "sum" | "min" | "max";

/** One aggregate of a reduce. `column` absent on `count` means count(*). */
export interface Aggregate {
  readonly func: AggregateFunc;
  readonly column?: number;
}

export interface OrderKey {
  readonly column: number;
  readonly desc: boolean;
  /** Nulls after non-nulls when true (SQL's default for ascending order). */
  readonly nullsLast: boolean;
}

/** A `(input index, column index)` pair naming a join input's column. */
export type JoinColumn = readonly [input: number, column: number];

/** A relational plan. */
export type Plan =
  /** A fixed collection, present from the dataflow's as-of. */
  | {
      readonly kind: "constant";
      readonly rows: ReadonlyArray<readonly [Row, number]>;
      readonly arity: number;
    }
  /** An import: a persist source or an index, by id. */
  | { readonly kind: "get"; readonly id: GlobalId; readonly arity: number }
  /** Appends one column per expression (expressions may refer to earlier appended columns). */
  | { readonly kind: "map"; readonly input: Plan; readonly exprs: readonly Expr[] }
  /** Keeps rows for which every predicate is `true`. */
  | { readonly kind: "filter"; readonly input: Plan; readonly predicates: readonly Expr[] }
  /** Output columns are `input[columns[0]], input[columns[1]], …`. */
  | { readonly kind: "project"; readonly input: Plan; readonly columns: readonly number[] }
  /** Multiset union (adds multiplicities). All inputs have the same arity. */
  | { readonly kind: "union"; readonly inputs: readonly Plan[] }
  /** Negates multiplicities. */
  | { readonly kind: "negate"; readonly input: Plan }
  /**
   * N-way inner equi-join. Each equivalence class lists columns that must be equal (and
   * non-null); output is the concatenation of all inputs' columns.
   */
  | {
      readonly kind: "join";
      readonly inputs: readonly Plan[];
      readonly equivalences: ReadonlyArray<readonly JoinColumn[]>;
    }
  /** Group by `groupKey` columns; output = key columns then one column per aggregate. */
  | {
      readonly kind: "reduce";
      readonly input: Plan;
      readonly groupKey: readonly number[];
      readonly aggregates: readonly Aggregate[];
    }
  /** Each distinct row once (multiplicity 1 where positive). */
  | { readonly kind: "distinct"; readonly input: Plan }
  /** Per group, the rows ranked `[offset, offset + limit)` under `orderBy` (limit absent = all). */
  | {
      readonly kind: "topK";
      readonly input: Plan;
      readonly groupKey: readonly number[];
      readonly orderBy: readonly OrderKey[];
      readonly limit?: number;
      readonly offset: number;
    }
  /** Keeps rows with positive multiplicity (clamps negative counts to zero). */
  | { readonly kind: "threshold"; readonly input: Plan }
  /** Arranges the input by `key` columns (the form an index export takes). Output = input. */
  | { readonly kind: "arrangeBy"; readonly input: Plan; readonly key: readonly number[] };

export type PlanKind = Plan["kind"];
