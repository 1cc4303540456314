/**
 * Errors of `@mzts/expr`: `ExprError` is the root; `MalformedPlan` names the offending node.
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
