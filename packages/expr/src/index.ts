/**
 * @mzts/expr — relational plans and scalar expressions as plain data, and their validation.
 * The engine (`@mzts/dataflow`) evaluates them; `@mzts/protocol` carries them on the wire.
 */

export { type ColumnType, exprType, type ImportTypes, planColumnTypes } from "./column-types.js";
export { ExprError, LimitExceeded, MalformedPlan } from "./errors.js";
export {
  LIMITS,
  MAX_CONSTANT_ROWS,
  MAX_ENCODED_BYTES,
  MAX_KEY_ROWS,
  MAX_NESTING_DEPTH,
  MAX_PLAN_NODES,
  MAX_ROW_WIDTH,
} from "./limits.js";
export type {
  Aggregate,
  AggregateFunc,
  BinaryOp,
  Expr,
  JoinColumn,
  OrderKey,
  Plan,
  PlanKind,
  UnaryOp,
  VariadicOp,
} from "./plan.js";
export { type ImportArity, validateExpr, validatePlan } from "./validate.js";
