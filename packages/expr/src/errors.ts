/**
 * Errors of `@mzts/expr`: `ExprError` is the root; `MalformedPlan` names the offending node;
 * `LimitExceeded` (a `MalformedPlan`) names the limit of `limits.ts` a plan goes beyond.
 */

/** Root of every error thrown by `@mzts/expr`. */
export class ExprError extends Error {
  override name = "ExprError";
}

/** A plan or expression that cannot be rendered: bad column, arity mismatch, unknown import. */
export class MalformedPlan extends ExprError {
  override name = "MalformedPlan";
  constructor(
    /** Path from the root to the offending node, e.g. `join.inputs[1].filter.predicates[0]`. */
    readonly path: string,
    readonly reason: string,
  ) {
    super(`malformed plan at ${path}: ${reason}; fix the plan and send it again`);
  }
}

/** A plan or expression beyond one of the limits of `limits.ts` (depth, nodes, width, rows). */
export class LimitExceeded extends MalformedPlan {
  override name = "LimitExceeded";
  constructor(
    path: string,
    /** The limit's name, e.g. `MAX_NESTING_DEPTH`. */
    readonly limit: string,
    readonly max: number,
    what: string,
  ) {
    super(path, `${what} exceeds ${limit} = ${max}; split or simplify it`);
  }
}
