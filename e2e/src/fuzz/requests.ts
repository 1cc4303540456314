/**
 * Random API requests generated from a seed (fast-check, over `@mzts/protocol/arbitraries`), shared
 * by the API fuzzer (`api-fuzz.ts`, which also sends them at nonsense times and names) and the
 * flag-consistency run (`evaluate/consistency.ts`, which sends each to both clusters and compares):
 * - `peekRequest`: a peek of one object with random literal constraints (rows of width 0, the
 *   key's, one more; random datums), map/filter/project (random and, sometimes, 30–60 nested
 *   `not`s) and finishing (columns possibly out of range);
 * - `viewDefinition`: a random plan over the given inputs (sometimes under a deep filter) and a
 *   random index key for it.
 */
import type { Expr, Plan } from "@mzts/expr";
import type { PeekRequest } from "@mzts/protocol";
import { expr, plan, row } from "@mzts/protocol/arbitraries";
import fc from "fast-check";

/** `not(not(…(column 0 = column 0)))`, `depth` levels. */
export function deepExpr(depth: number): Expr {
  let e: Expr = {
    kind: "binary",
    op: "eq",
    left: { kind: "column", index: 0 },
    right: { kind: "column", index: 0 },
  } as Expr;
  for (let i = 0; i < depth; i++) e = { kind: "unary", op: "not", arg: e } as Expr;
  return e;
}

const cols = (arity: number) => fc.array(fc.integer({ min: 0, max: arity + 1 }), { maxLength: 3 });

const predicate = (arity: number) =>
  fc.oneof(
    { arbitrary: expr(Math.max(arity, 1), 2), weight: 5 },
    { arbitrary: fc.integer({ min: 30, max: 60 }).map(deepExpr), weight: 1 },
  );

/** A peek of `o` (see the file comment); `keyWidth` is its index key's width. */
export function peekRequest(
  o: { readonly name: string; readonly arity: number },
  keyWidth: number,
  timestamp: fc.Arbitrary<bigint | undefined>,
): fc.Arbitrary<PeekRequest> {
  return fc
    .record({
      timestamp,
      literalConstraints: fc.option(
        fc
          .constantFrom(0, keyWidth, keyWidth + 1)
          .chain((w) => fc.array(row(w), { minLength: 1, maxLength: 3 })),
        { nil: undefined, freq: 3 },
      ),
      mapFilterProject: fc.option(
        fc.record({
          exprs: fc.array(expr(Math.max(o.arity, 1), 1), { maxLength: 1 }),
          predicates: fc.array(predicate(o.arity), { maxLength: 2 }),
          projection: cols(o.arity),
        }),
        { nil: undefined, freq: 2 },
      ),
      finishing: fc.option(
        fc.record({
          orderBy: fc.array(
            fc.record({
              column: fc.integer({ min: 0, max: o.arity + 1 }),
              desc: fc.boolean(),
              nullsLast: fc.boolean(),
            }),
            { maxLength: 2 },
          ),
          offset: fc.nat(5),
          project: cols(o.arity),
          limit: fc.option(fc.nat(10), { nil: undefined }),
        }),
        { nil: undefined, freq: 3 },
      ),
    })
    .map(({ timestamp: t, literalConstraints, mapFilterProject, finishing }): PeekRequest => {
      const { limit, ...f } = finishing ?? { orderBy: [], offset: 0, project: [] };
      return {
        object: o.name,
        timeoutMs: 3000,
        ...(t === undefined ? {} : { timestamp: t }),
        ...(literalConstraints === undefined ? {} : { literalConstraints }),
        ...(mapFilterProject === undefined ? {} : { mapFilterProject }),
        ...(finishing === undefined
          ? {}
          : { finishing: limit === undefined ? f : { ...f, limit } }),
      };
    });
}

/** A view over `inputs` (id → arity) and an index key for it (see the file comment). */
export function viewDefinition(
  inputs: ReadonlyArray<readonly [string, number]>,
): fc.Arbitrary<{ readonly plan: Plan; readonly indexKey: number[] }> {
  return fc
    .tuple(
      plan(inputs, 2),
      fc.option(fc.integer({ min: 30, max: 60 }), { nil: undefined, freq: 5 }),
      fc.array(fc.nat(3), { maxLength: 2 }),
    )
    .map(([[p, arity], deep, indexKey]) => ({
      plan:
        deep === undefined || arity === 0
          ? p
          : { kind: "filter", input: p, predicates: [deepExpr(deep)] },
      indexKey,
    }));
}
