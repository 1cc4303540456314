/**
 * A from-scratch reference evaluator for plans over multisets — slow and obviously correct —
 * against which the engine is checked (`render.property.test.ts`).
 *
 * It shares nothing with the engine's operators or expression compiler: expressions are
 * interpreted by a direct tree walk that implements null propagation, three-valued logic and
 * laziness itself; only the primitive functions on non-null values (`applyUnary`/`applyBinary`,
 * tested on their own in `functions.test.ts`) and `compareValues` are reused.
 * A collection is `Array<[Row, count]>`, consolidated with `@mzts/repr`'s `consolidateRows`.
 */
import type { Expr, OrderKey, Plan } from "@mzts/expr";
import { compareRows, consolidateRows, Datum, datumKey, type Row, rowKey } from "@mzts/repr";
import { applyBinary, applyUnary, compareValues, EvaluationError } from "../src/index.js";

export type Collection = Array<[Row, number]>;

export interface Result {
  readonly oks: Collection;
  readonly errs: Collection;
}

/** Interprets `e` on `row`. @throws EvaluationError */
export function evalExpr(e: Expr, row: Row): Datum {
  switch (e.kind) {
    case "column":
      return row[e.index] as Datum;
    case "literal":
      return e.value;
    case "unary": {
      const v = evalExpr(e.arg, row);
      if (e.op === "isNull") return v === null;
      if (e.op === "isNotNull") return v !== null;
      if (e.op === "isTrue") return v === true;
      return v === null ? null : applyUnary(e.op, v);
    }
    case "binary": {
      if (e.op === "and" || e.op === "or") {
        const decisive = e.op === "or";
        const a = evalExpr(e.left, row);
        if (a === decisive) return decisive;
        if (a !== null && typeof a !== "boolean") throw new EvaluationError("type_mismatch", "bad");
        const b = evalExpr(e.right, row);
        if (b === decisive) return decisive;
        if (b !== null && typeof b !== "boolean") throw new EvaluationError("type_mismatch", "bad");
        return a === null || b === null ? null : !decisive;
      }
      const a = evalExpr(e.left, row);
      const b = evalExpr(e.right, row);
      return a === null || b === null ? null : applyBinary(e.op, a, b);
    }
    case "variadic": {
      if (e.op === "coalesce") {
        for (const a of e.args) {
          const v = evalExpr(a, row);
          if (v !== null) return v;
        }
        return null;
      }
      const vs = e.args.map((a) => evalExpr(a, row)).filter((v) => v !== null);
      if (e.op === "concat") {
        return vs
          .map((v) => (typeof v === "string" ? v : (applyUnary("castText", v) as string)))
          .join("");
      }
      if (vs.length === 0) return null;
      let best = vs[0]!;
      for (const v of vs.slice(1)) {
        const c = compareValues(v, best);
        if (e.op === "greatest" ? c > 0 : c < 0) best = v;
      }
      return best;
    }
    case "if":
      return evalExpr(e.cond, row) === true ? evalExpr(e.ifTrue, row) : evalExpr(e.ifFalse, row);
  }
}

function errRow(e: unknown): Row {
  if (e instanceof EvaluationError) return [e.code, e.detail];
  throw e;
}

/** Evaluates `plan` on `inputs` (each import's collection). */
export function evaluate(plan: Plan, inputs: ReadonlyMap<string, Collection>): Result {
  const errs: Collection = [];
  const go = (p: Plan): Collection => consolidateRows(go0(p));
  const go0 = (p: Plan): Collection => {
    switch (p.kind) {
      case "constant":
        return consolidateRows(p.rows);
      case "get":
        return inputs.get(p.id) ?? [];
      case "map": {
        const out: Collection = [];
        for (const [r, m] of go(p.input)) {
          try {
            const row = [...r];
            for (const e of p.exprs) row.push(evalExpr(e, row));
            out.push([row, m]);
          } catch (e) {
            errs.push([errRow(e), m]);
          }
        }
        return consolidateRows(out);
      }
      case "filter": {
        const out: Collection = [];
        for (const [r, m] of go(p.input)) {
          try {
            if (p.predicates.every((e) => evalExpr(e, r) === true)) out.push([r, m]);
          } catch (e) {
            errs.push([errRow(e), m]);
          }
        }
        return out;
      }
      case "project":
        return consolidateRows(
          go(p.input).map(([r, m]) => [p.columns.map((c) => r[c] as Datum), m]),
        );
      case "union":
        return consolidateRows(p.inputs.flatMap(go));
      case "negate":
        return go(p.input).map(([r, m]) => [r, -m]);
      case "join": {
        const ins = p.inputs.map(go);
        let combos: Array<[Row[], number]> = [[[], 1]];
        for (const c of ins) {
          const next: Array<[Row[], number]> = [];
          for (const [rows, m] of combos) for (const [r, n] of c) next.push([[...rows, r], m * n]);
          combos = next;
        }
        const out: Collection = [];
        for (const [rows, m] of combos) {
          const ok = p.equivalences.every((cls) => {
            const vals = cls.map(([i, c]) => rows[i]![c] as Datum);
            return vals.every((v) => v !== null && Datum.compare(v, vals[0]!) === 0);
          });
          if (ok) out.push([rows.flat(), m]);
        }
        return consolidateRows(out);
      }
      case "reduce": {
        const groups = new Map<string, Collection>();
        for (const [r, m] of go(p.input)) {
          const k = rowKey(p.groupKey.map((c) => r[c] as Datum));
          const g = groups.get(k) ?? [];
          g.push([r, m]);
          groups.set(k, g);
        }
        const out: Collection = [];
        for (const g of groups.values()) {
          const n = g.reduce((s, [, m]) => s + m, 0);
          if (n < 0) {
            errs.push([["negative_multiplicity", "negative multiplicity in reduce"], 1]);
            continue;
          }
          if (n === 0) continue;
          try {
            const key = p.groupKey.map((c) => g[0]![0][c] as Datum);
            const vals = p.aggregates.map((a) => aggregate(a.func, a.column, g));
            out.push([[...key, ...vals], 1]);
          } catch (e) {
            errs.push([errRow(e), 1]);
          }
        }
        return consolidateRows(out);
      }
      case "distinct":
        return go(p.input)
          .filter(([, m]) => m > 0)
          .map(([r]) => [r, 1]);
      case "threshold":
        return go(p.input).filter(([, m]) => m > 0);
      case "topK": {
        const groups = new Map<string, Collection>();
        for (const [r, m] of go(p.input)) {
          const k = rowKey(p.groupKey.map((c) => r[c] as Datum));
          groups.set(k, [...(groups.get(k) ?? []), [r, m]]);
        }
        const out: Collection = [];
        for (const g of groups.values()) {
          if (g.some(([, m]) => m < 0)) {
            errs.push([["negative_multiplicity", "negative multiplicity in topK"], 1]);
            continue;
          }
          // Ranks [pos, pos + m) belong to a row of count m; keep their overlap with the window.
          g.sort((a, b) => orderCompare(p.orderBy, a[0], b[0]));
          const end = p.limit === undefined ? Number.POSITIVE_INFINITY : p.offset + p.limit;
          let pos = 0;
          for (const [r, m] of g) {
            const n = Math.min(pos + m, end) - Math.max(pos, p.offset);
            if (n > 0) out.push([r, n]);
            pos += m;
          }
        }
        return consolidateRows(out);
      }
      case "arrangeBy":
        return go(p.input);
    }
  };
  const oks = consolidateRows(go(plan));
  return { oks, errs: consolidateRows(errs) };
}

function orderCompare(orderBy: readonly OrderKey[], a: Row, b: Row): number {
  for (const o of orderBy) {
    const x = a[o.column] as Datum;
    const y = b[o.column] as Datum;
    if (x === null && y === null) continue;
    if (x === null) return o.nullsLast ? 1 : -1;
    if (y === null) return o.nullsLast ? -1 : 1;
    const c = Datum.compare(x, y);
    if (c !== 0) return o.desc ? -c : c;
  }
  return compareRows(a, b);
}

const INT64_MIN = -(1n << 63n);
const INT64_MAX = (1n << 63n) - 1n;

function aggregate(func: string, column: number | undefined, g: Collection): Datum {
  if (func === "count") {
    let n = 0;
    for (const [r, m] of g) if (column === undefined || r[column] !== null) n += m;
    return BigInt(n);
  }
  const vals: Array<[[Datum], number]> = g.map(([r, m]) => [[r[column!] as Datum], m]);
  const present = consolidateRows(vals.filter(([[v]]) => v !== null));
  if (func === "sum") {
    const nonNumber = present
      .filter(([[v]]) => typeof v !== "bigint")
      .reduce((s, [, m]) => s + m, 0);
    if (nonNumber !== 0) throw new EvaluationError("type_mismatch", "sum of a non-numeric value");
    let nonNull = 0;
    for (const [[v], m] of vals) if (v !== null) nonNull += m;
    if (nonNull === 0) return null;
    let s = 0n;
    for (const [[v], m] of present) s += (v as bigint) * BigInt(m);
    if (s < INT64_MIN || s > INT64_MAX)
      throw new EvaluationError("out_of_range", "int64 out of range in sum");
    return s;
  }
  // min / max over values with positive net count.
  const byKey = new Map<string, [Datum, number]>();
  for (const [[v], m] of vals) {
    if (v === null) continue;
    const k = datumKey(v);
    const e = byKey.get(k);
    byKey.set(k, [v, (e?.[1] ?? 0) + m]);
  }
  let best: Datum | undefined;
  for (const [v, n] of byKey.values()) {
    if (n <= 0) continue;
    if (
      best === undefined ||
      (func === "max" ? Datum.compare(v, best) > 0 : Datum.compare(v, best) < 0)
    )
      best = v;
  }
  return best ?? null;
}
