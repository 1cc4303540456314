/**
 * The explicit limits on what a request may ask of a cluster, in one place.
 *
 * environmentd checks every plan, expression and key row against these **before** it commits to
 * the catalog or sends a command (`validatePlan` enforces the plan and expression limits; the
 * peek checks in environmentd the key-row ones), and answers InvalidArgument naming the limit.
 * Each limit sits below anything a replica can fail on, with headroom for the envelopes.
 *
 * ## Why these numbers (measured with protobuf-es 2.13, whose binary reader stops at a recursion
 * depth of 100 messages)
 * - Every expression level costs **2** message levels on the wire (`Expr` → `Expr.Unary` →
 *   `Expr`), and so does every plan level (`Plan` → `Plan.Filter` → `Plan`).
 * - The envelopes: a `CreateDataflow` decodes with a filter over a `get` nesting at most **45**
 *   `not`s on the unified stream (`ControlRequest` → `ClusterCommand` → `ComputeCommand` →
 *   `CreateDataflow` → `DataflowDescription` → `BuildDesc` → …) and 46 on the legacy one (one
 *   level shorter); a chain of `negate`s over a `get` with at most 46; a peek's map/filter/project
 *   predicate with at most 47 `not`s (both streams). environmentd's own API decodes a view
 *   nesting 48 `not`s — hence the 47-deep view it used to accept and commit.
 * - In depth units as counted here (plan levels plus the expression levels under them, a leaf
 *   counting 1: a filter over 45 `not`s of a column has depth 47), replicas fail to decode from
 *   depth **48** on (unified dataflow), 49 on the other paths.
 * - `MAX_NESTING_DEPTH = 40` leaves 7 depth units (14 message levels) of headroom for a longer
 *   envelope; a plan's depth and the depth of any expression inside it add up.
 */

/** Plan levels plus expression levels along any path from the root (a leaf counts 1). */
export const MAX_NESTING_DEPTH = 40;

/** Plan nodes plus expression nodes in one plan (or one peek's map/filter/project). */
export const MAX_PLAN_NODES = 10_000;

/** Columns of any row a plan produces or a request carries (arity, key width). */
export const MAX_ROW_WIDTH = 1_024;

/** Rows of a constant plan. */
export const MAX_CONSTANT_ROWS = 10_000;

/** Key rows of one peek's `literalConstraints`. */
export const MAX_KEY_ROWS = 10_000;

/**
 * Encoded bytes of one plan or one peek's key rows and map/filter/project. The replica ports'
 * read limits must stay well above this, so that no single accepted command reaches them.
 */
export const MAX_ENCODED_BYTES = 1_048_576;

/** All of the above, for messages and docs. */
export const LIMITS = Object.freeze({
  MAX_NESTING_DEPTH,
  MAX_PLAN_NODES,
  MAX_ROW_WIDTH,
  MAX_CONSTANT_ROWS,
  MAX_KEY_ROWS,
  MAX_ENCODED_BYTES,
});
