/**
 * fast-check arbitraries: expressions and plans (recursive, with correct arities). Part of the `./arbitraries` subpath
 * (`arbitraries.ts`); values are valid, as the decoders check them.
 */
import type { AggregateFunc, Expr, OrderKey, Plan } from "@mzts/expr";
import type { GlobalId } from "@mzts/repr";
import fc from "fast-check";
import { EXPR_OPERATORS } from "../codec/plan-codec.js";
import { datum, row, safeDiff } from "./arbitrary-values.js";

// ---------------------------------------------------------------------------------------------
// Expressions and plans

export const column = (arity: number) => fc.integer({ min: 0, max: arity - 1 });
export const columns = (arity: number, maxLength = 3): fc.Arbitrary<number[]> =>
  arity === 0 ? fc.constant([]) : fc.array(column(arity), { maxLength });

/** An expression over an input of `arity` columns, at most `depth` levels deep. */
export function expr(arity: number, depth = 2): fc.Arbitrary<Expr> {
  const leaves: fc.Arbitrary<Expr>[] = [datum.map((value): Expr => ({ kind: "literal", value }))];
  if (arity > 0) leaves.push(column(arity).map((index): Expr => ({ kind: "column", index })));
  const leaf = fc.oneof(...leaves);
  if (depth <= 0) return leaf;
  const sub = expr(arity, depth - 1);
  return fc.oneof(
    { arbitrary: leaf, weight: 3 },
    fc
      .tuple(fc.constantFrom(...EXPR_OPERATORS.unary), sub)
      .map(([op, arg]): Expr => ({ kind: "unary", op, arg })),
    fc
      .tuple(fc.constantFrom(...EXPR_OPERATORS.binary), sub, sub)
      .map(([op, left, right]): Expr => ({ kind: "binary", op, left, right })),
    fc
      .tuple(
        fc.constantFrom(...EXPR_OPERATORS.variadic),
        fc.array(sub, { minLength: 1, maxLength: 3 }),
      )
      .map(([op, args]): Expr => ({ kind: "variadic", op, args })),
    fc
      .tuple(sub, sub, sub)
      .map(([c, t, e]): Expr => ({ kind: "if", cond: c, ifTrue: t, ifFalse: e })),
  );
}

/** `count` exprs where expression i sees `arity + i` columns (as in map and MFP). */
export function growingExprs(arity: number, maxCount: number): fc.Arbitrary<Expr[]> {
  return fc
    .integer({ min: 0, max: maxCount })
    .chain((n) => fc.tuple(...Array.from({ length: n }, (_, i) => expr(arity + i, 1))));
}

export const orderKey = (arity: number): fc.Arbitrary<OrderKey[]> =>
  arity === 0
    ? fc.constant([])
    : fc.array(fc.record({ column: column(arity), desc: fc.boolean(), nullsLast: fc.boolean() }), {
        maxLength: 2,
      });

/** A plan with its output arity. */
export type PlanWithArity = readonly [plan: Plan, arity: number];

/** Turns a plan of arity `from` into one of arity `to` (project, or map literals from arity 0). */
export function coerce([p, from]: PlanWithArity, to: number): fc.Arbitrary<Plan> {
  if (from === to) return fc.constant(p);
  if (from > 0) {
    return fc
      .array(column(from), { minLength: to, maxLength: to })
      .map((cols): Plan => ({ kind: "project", input: p, columns: cols }));
  }
  return fc.array(datum, { minLength: to, maxLength: to }).map(
    (vs): Plan => ({
      kind: "map",
      input: p,
      exprs: vs.map((value) => ({ kind: "literal", value })),
    }),
  );
}

export const constantPlan: fc.Arbitrary<PlanWithArity> = fc
  .integer({ min: 0, max: 3 })
  .chain((arity) =>
    fc
      .array(fc.tuple(row(arity), safeDiff), { maxLength: 3 })
      .map((rows): PlanWithArity => [{ kind: "constant", rows, arity }, arity]),
  );

export const aggregate = (
  arity: number,
): fc.Arbitrary<{ func: AggregateFunc; column?: number }> => {
  const countStar = fc.constant({ func: "count" as const });
  if (arity === 0) return countStar;
  return fc.oneof(
    countStar,
    fc
      .tuple(fc.constantFrom(...EXPR_OPERATORS.aggregate), column(arity))
      .map(([func, c]) => ({ func, column: c })),
  );
};

/**
 * A valid plan over `env` (import id → arity), at most `depth` levels deep, with its arity.
 */
export function plan(
  env: ReadonlyArray<readonly [GlobalId, number]>,
  depth = 3,
): fc.Arbitrary<PlanWithArity> {
  const leaves: fc.Arbitrary<PlanWithArity>[] = [constantPlan];
  if (env.length > 0) {
    leaves.push(
      fc
        .constantFrom(...env)
        .map(([id, arity]): PlanWithArity => [{ kind: "get", id, arity }, arity]),
    );
  }
  const leaf = fc.oneof(...leaves);
  if (depth <= 0) return leaf;
  const sub = plan(env, depth - 1);
  const unaryNode = (kind: "negate" | "distinct" | "threshold") =>
    sub.map(([input, a]): PlanWithArity => [{ kind, input }, a]);
  return fc.oneof(
    { arbitrary: leaf, weight: 4 },
    sub.chain(([input, a]) =>
      growingExprs(a, 2).map(
        (exprs): PlanWithArity => [{ kind: "map", input, exprs }, a + exprs.length],
      ),
    ),
    sub.chain(([input, a]) =>
      fc
        .array(expr(a), { maxLength: 2 })
        .map((predicates): PlanWithArity => [{ kind: "filter", input, predicates }, a]),
    ),
    sub.chain(([input, a]) =>
      columns(a, 4).map(
        (cols): PlanWithArity => [{ kind: "project", input, columns: cols }, cols.length],
      ),
    ),
    sub.chain((first) =>
      fc
        .array(
          sub.chain((q) => coerce(q, first[1])),
          { maxLength: 2 },
        )
        .map((rest): PlanWithArity => [{ kind: "union", inputs: [first[0], ...rest] }, first[1]]),
    ),
    unaryNode("negate"),
    unaryNode("distinct"),
    unaryNode("threshold"),
    fc.array(sub, { minLength: 2, maxLength: 3 }).chain((inputs) => {
      const wide = inputs.map(([, a], i) => [i, a] as const).filter(([, a]) => a > 0);
      const joinColumn =
        wide.length === 0
          ? null
          : fc.constantFrom(...wide).chain(([i, a]) => column(a).map((c) => [i, c] as const));
      const equivalences =
        joinColumn === null
          ? fc.constant([])
          : fc.array(fc.array(joinColumn, { minLength: 2, maxLength: 3 }), { maxLength: 2 });
      return equivalences.map(
        (eq): PlanWithArity => [
          { kind: "join", inputs: inputs.map(([p]) => p), equivalences: eq },
          inputs.reduce((s, [, a]) => s + a, 0),
        ],
      );
    }),
    sub.chain(([input, a]) =>
      fc
        .tuple(columns(a), fc.array(aggregate(a), { maxLength: 3 }))
        .map(
          ([groupKey, aggregates]): PlanWithArity => [
            { kind: "reduce", input, groupKey, aggregates },
            groupKey.length + aggregates.length,
          ],
        ),
    ),
    sub.chain(([input, a]) =>
      fc
        .tuple(
          columns(a),
          orderKey(a),
          fc.option(fc.oneof(fc.nat(10), fc.constant(Number.MAX_SAFE_INTEGER)), { nil: undefined }),
          fc.oneof(fc.nat(10), fc.constant(Number.MAX_SAFE_INTEGER)),
        )
        .map(
          ([groupKey, orderBy, limit, offset]): PlanWithArity => [
            limit === undefined
              ? { kind: "topK", input, groupKey, orderBy, offset }
              : { kind: "topK", input, groupKey, orderBy, limit, offset },
            a,
          ],
        ),
    ),
    sub.chain(([input, a]) =>
      columns(a).map((key): PlanWithArity => [{ kind: "arrangeBy", input, key }, a]),
    ),
  );
}
