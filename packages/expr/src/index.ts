/**
 * @mzts/expr — relational plans and scalar expressions as plain data, and their validation.
 * The engine (`@mzts/dataflow`) evaluates them; `@mzts/protocol` carries them on the wire.
 */

export { ExprError, MalformedPlan } from "./errors.js";
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
