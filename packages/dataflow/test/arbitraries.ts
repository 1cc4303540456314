/**
 * Arbitraries for the property tests: typed random plans (always valid, with correct arities)
 * covering every operator and most expression functions including nulls, and random update
 * streams with retractions, several times and frontier advances.
 *
 * Plans are generated with `fc.gen()` over a small type system (int64 / text / bool columns) so
 * that every expression is well typed; evaluation errors still occur on purpose (division and
 * modulo by zero, int64 overflow near the bounds, sum overflow).
 */

import type { Aggregate, BinaryOp, Expr, JoinColumn, OrderKey, Plan } from "@mzts/expr";
import type { Datum, Row, Timestamp, Update } from "@mzts/repr";
import fc from "fast-check";

/** An `if` node. */
function ifE(cond: Expr, t: Expr, e: Expr): Expr {
  return { kind: "if", cond, ifTrue: t, ifFalse: e };
}

export type Type = "int" | "text" | "bool";
type Gen = fc.GeneratorValue;

export const IMPORTS: Record<string, Type[]> = {
  u1: ["int", "int", "text"],
  u2: ["int", "bool"],
};

const BIG = (1n << 63n) - 1n;

export function genDatum(g: Gen, t: Type): Datum {
  switch (t) {
    case "int":
      return g(fc.constantFrom, 0n, 1n, 2n, -1n, 3n, null, 4n, -2n, BIG, -BIG);
    case "text":
      return g(fc.constantFrom, "a", "b", null, "B", "ab", "", "a_b");
    case "bool":
      return g(fc.constantFrom, true, false, null);
  }
}

export function genRow(g: Gen, types: readonly Type[]): Row {
  return types.map((t) => genDatum(g, t));
}

function pick<T>(g: Gen, xs: readonly T[]): T {
  return xs[g(fc.integer, { min: 0, max: xs.length - 1 })]!;
}

function columnsOf(types: readonly Type[], t: Type): number[] {
  return types.flatMap((x, i) => (x === t ? [i] : []));
}

const lit = (value: Datum): Expr => ({ kind: "literal", value });
const bin = (op: BinaryOp, left: Expr, right: Expr): Expr => ({ kind: "binary", op, left, right });

/** A well-typed expression of type `want` over columns `types`. */
export function genExpr(g: Gen, types: readonly Type[], want: Type, depth: number): Expr {
  const cols = columnsOf(types, want);
  const leaf = (): Expr =>
    cols.length > 0 && g(fc.boolean)
      ? { kind: "column", index: pick(g, cols) }
      : lit(genDatum(g, want));
  if (depth <= 0) return leaf();
  const sub = (t: Type) => genExpr(g, types, t, depth - 1);
  const choice = g(fc.integer, { min: 0, max: 9 });
  if (choice < 3) return leaf();
  switch (want) {
    case "int":
      switch (g(fc.integer, { min: 0, max: 7 })) {
        case 0:
          return bin(pick(g, ["add", "sub", "mul"] as const), sub("int"), sub("int"));
        case 1:
          return bin(pick(g, ["div", "mod"] as const), sub("int"), sub("int"));
        case 2:
          return { kind: "unary", op: pick(g, ["neg", "abs"] as const), arg: sub("int") };
        case 3:
          return { kind: "unary", op: "length", arg: sub("text") };
        case 4:
          return { kind: "unary", op: "castInt64", arg: sub(pick(g, ["bool", "int"] as const)) };
        case 5:
          return {
            kind: "variadic",
            op: pick(g, ["coalesce", "greatest", "least"] as const),
            args: [sub("int"), sub("int")],
          };
        case 6:
          return ifE(sub("bool"), sub("int"), sub("int"));
        default:
          return {
            kind: "unary",
            op: "castInt64",
            arg: { kind: "unary", op: "castText", arg: sub("int") },
          };
      }
    case "bool":
      switch (g(fc.integer, { min: 0, max: 6 })) {
        case 0: {
          const t = pick(g, ["int", "text", "bool"] as const);
          return bin(pick(g, ["eq", "neq", "lt", "lte", "gt", "gte"] as const), sub(t), sub(t));
        }
        case 1:
          return bin(pick(g, ["and", "or"] as const), sub("bool"), sub("bool"));
        case 2:
          return { kind: "unary", op: "not", arg: sub("bool") };
        case 3:
          return {
            kind: "unary",
            op: pick(g, ["isNull", "isNotNull"] as const),
            arg: sub(pick(g, ["int", "text", "bool"] as const)),
          };
        case 4:
          return { kind: "unary", op: "isTrue", arg: sub("bool") };
        case 5:
          return bin("like", sub("text"), lit(pick(g, ["a%", "_", "%b", "a\\_b", "%", null])));
        default:
          return ifE(sub("bool"), sub("bool"), sub("bool"));
      }
    case "text":
      switch (g(fc.integer, { min: 0, max: 4 })) {
        case 0:
          return { kind: "unary", op: pick(g, ["lower", "upper"] as const), arg: sub("text") };
        case 1:
          return bin("concat", sub("text"), sub("text"));
        case 2:
          return { kind: "unary", op: "castText", arg: sub(pick(g, ["int", "bool"] as const)) };
        case 3:
          return {
            kind: "variadic",
            op: pick(g, ["concat", "coalesce"] as const),
            args: [sub("text"), sub("int")]
              .slice(0, pick(g, [1, 2]))
              .map((e, i) => (i === 1 ? { kind: "unary", op: "castText", arg: e } : e)) as Expr[],
          };
        default:
          return ifE(sub("bool"), sub("text"), sub("text"));
      }
  }
}

export interface TypedPlan {
  readonly plan: Plan;
  readonly types: Type[];
}

function subset(g: Gen, n: number, max: number): number[] {
  const k = g(fc.integer, { min: 0, max: Math.min(max, n) });
  const out: number[] = [];
  for (let i = 0; i < k; i++) out.push(g(fc.integer, { min: 0, max: n - 1 }));
  return out;
}

/** A random valid plan of bounded depth. */
export function genPlan(g: Gen, depth: number, allowJoin = true): TypedPlan {
  if (depth <= 0 || g(fc.integer, { min: 0, max: 7 }) === 0) return genLeaf(g);
  const kinds = [
    "map",
    "filter",
    "project",
    "union",
    "negate",
    "join",
    "reduce",
    "distinct",
    "topK",
    "threshold",
    "arrangeBy",
  ] as const;
  const kind = g(fc.constantFrom, ...kinds.filter((k) => allowJoin || k !== "join"));
  switch (kind) {
    case "map": {
      const { plan, types } = genPlan(g, depth - 1, allowJoin);
      const exprs: Expr[] = [];
      const ts = [...types];
      const n = g(fc.integer, { min: 1, max: 2 });
      for (let i = 0; i < n; i++) {
        const t = pick(g, ["int", "text", "bool"] as const);
        exprs.push(genExpr(g, ts, t, 2));
        ts.push(t);
      }
      return { plan: { kind: "map", input: plan, exprs }, types: ts };
    }
    case "filter": {
      const { plan, types } = genPlan(g, depth - 1, allowJoin);
      const predicates = Array.from({ length: g(fc.integer, { min: 1, max: 2 }) }, () =>
        genExpr(g, types, "bool", 2),
      );
      return { plan: { kind: "filter", input: plan, predicates }, types };
    }
    case "project": {
      const { plan, types } = genPlan(g, depth - 1, allowJoin);
      const columns = subset(g, types.length, 4);
      if (columns.length === 0) columns.push(0);
      return {
        plan: { kind: "project", input: plan, columns },
        types: columns.map((c) => types[c]!),
      };
    }
    case "union": {
      const a = genPlan(g, depth - 1, allowJoin);
      const variant = g(fc.integer, { min: 0, max: 3 });
      const b: Plan =
        variant === 0
          ? a.plan
          : variant === 1
            ? { kind: "negate", input: a.plan }
            : variant === 2
              ? { kind: "filter", input: a.plan, predicates: [genExpr(g, a.types, "bool", 1)] }
              : { kind: "distinct", input: a.plan };
      return { plan: { kind: "union", inputs: [a.plan, b] }, types: a.types };
    }
    case "negate": {
      const a = genPlan(g, depth - 1, allowJoin);
      return { plan: { kind: "negate", input: a.plan }, types: a.types };
    }
    case "join": {
      const n = g(fc.integer, { min: 2, max: 3 });
      // Join inputs contain no join, so cross products stay small.
      const ins = Array.from({ length: n }, () => genPlan(g, Math.min(depth - 1, 2), false));
      const equivalences: JoinColumn[][] = [];
      const classes = g(fc.integer, { min: 0, max: 2 });
      for (let c = 0; c < classes; c++) {
        const t = pick(g, ["int", "text", "bool"] as const);
        const members: JoinColumn[] = [];
        ins.forEach((inp, i) => {
          const cols = columnsOf(inp.types, t);
          if (cols.length > 0 && g(fc.boolean)) members.push([i, pick(g, cols)]);
        });
        if (members.length >= 2) equivalences.push(members);
      }
      return {
        plan: { kind: "join", inputs: ins.map((x) => x.plan), equivalences },
        types: ins.flatMap((x) => x.types),
      };
    }
    case "reduce": {
      const { plan, types } = genPlan(g, depth - 1, allowJoin);
      const groupKey = subset(g, types.length, 2);
      const aggregates: Aggregate[] = [];
      const out: Type[] = groupKey.map((c) => types[c]!);
      const k = g(fc.integer, { min: 0, max: 3 });
      const ints = columnsOf(types, "int");
      for (let i = 0; i < k; i++) {
        const f = g(fc.constantFrom, "count*", "count", "sum", "min", "max");
        if (f === "count*") {
          aggregates.push({ func: "count" });
          out.push("int");
        } else if (f === "sum") {
          if (ints.length === 0) continue;
          aggregates.push({ func: "sum", column: pick(g, ints) });
          out.push("int");
        } else {
          const column = g(fc.integer, { min: 0, max: types.length - 1 });
          aggregates.push({ func: f, column });
          out.push(f === "count" ? "int" : types[column]!);
        }
      }
      if (out.length === 0) {
        // Keep every plan's arity positive.
        aggregates.push({ func: "count" });
        out.push("int");
      }
      return { plan: { kind: "reduce", input: plan, groupKey, aggregates }, types: out };
    }
    case "distinct":
    case "threshold": {
      const a = genPlan(g, depth - 1, allowJoin);
      return { plan: { kind, input: a.plan }, types: a.types };
    }
    case "topK": {
      const { plan, types } = genPlan(g, depth - 1, allowJoin);
      const orderBy: OrderKey[] = subset(g, types.length, 2).map((column) => ({
        column,
        desc: g(fc.boolean),
        nullsLast: g(fc.boolean),
      }));
      const limit = g(fc.option, fc.integer({ min: 0, max: 3 }), { nil: undefined });
      const offset = g(fc.integer, { min: 0, max: 2 });
      const groupKey = subset(g, types.length, 1);
      const p: Plan =
        limit === undefined
          ? { kind: "topK", input: plan, groupKey, orderBy, offset }
          : { kind: "topK", input: plan, groupKey, orderBy, offset, limit };
      return { plan: p, types };
    }
    default: {
      const { plan, types } = genPlan(g, depth - 1, allowJoin);
      return { plan: { kind: "arrangeBy", input: plan, key: subset(g, types.length, 2) }, types };
    }
  }
}

function genLeaf(g: Gen): TypedPlan {
  if (g(fc.integer, { min: 0, max: 4 }) === 0) {
    const types = Array.from({ length: g(fc.integer, { min: 1, max: 2 }) }, () =>
      pick(g, ["int", "text", "bool"] as const),
    );
    const rows: Array<[Row, number]> = Array.from(
      { length: g(fc.integer, { min: 0, max: 4 }) },
      () => [genRow(g, types), g(fc.constantFrom, 1, 2, -1)],
    );
    return { plan: { kind: "constant", rows, arity: types.length }, types };
  }
  const id = pick(g, Object.keys(IMPORTS));
  const types = IMPORTS[id]!;
  return { plan: { kind: "get", id, arity: types.length }, types: [...types] };
}

/** One step of an input stream: updates (at times >= the frontier), then a frontier advance. */
export interface Step {
  readonly id: string;
  readonly updates: Update[];
  /** The frontier after the step (>= the previous one). */
  readonly advanceTo: Timestamp;
}

/** Random update streams for every import: insertions, retractions of earlier rows, several times. */
export function genSteps(g: Gen, maxSteps: number): Step[] {
  const steps: Step[] = [];
  const frontier: Record<string, Timestamp> = {};
  const sent: Record<string, Row[]> = {};
  for (const id of Object.keys(IMPORTS)) {
    frontier[id] = 0n;
    sent[id] = [];
  }
  const n = g(fc.integer, { min: 1, max: maxSteps });
  for (let s = 0; s < n; s++) {
    const id = pick(g, Object.keys(IMPORTS));
    const f = frontier[id]!;
    const updates: Update[] = [];
    const k = g(fc.integer, { min: 0, max: 6 });
    for (let i = 0; i < k; i++) {
      const time = f + BigInt(g(fc.integer, { min: 0, max: 2 }));
      const old = sent[id]!;
      if (old.length > 0 && g(fc.integer, { min: 0, max: 2 }) === 0) {
        updates.push([pick(g, old), time, -1]);
      } else {
        const row = genRow(g, IMPORTS[id]!);
        old.push(row);
        updates.push([row, time, g(fc.constantFrom, 1, 1, 2)]);
      }
    }
    const advanceTo = f + BigInt(g(fc.integer, { min: 0, max: 2 }));
    frontier[id] = advanceTo;
    steps.push({ id, updates, advanceTo });
  }
  return steps;
}
