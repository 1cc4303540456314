/**
 * @mzts/expr — relational plans and scalar expressions as plain data, and their validation.
 * The engine (`@mzts/dataflow`) evaluates them; `@mzts/protocol` carries them on the wire.
 */
export type {
  Plan,
  PlanKind,
  Expr,
  UnaryOp,
  BinaryOp,
  VariadicOp,
  Aggregate,
  AggregateFunc,
  OrderKey,
  JoinColumn,
} from "./plan.js";
export { validatePlan, validateExpr, type ImportArity } from "./validate.js";
export { ExprError, MalformedPlan } from "./errors.js";
