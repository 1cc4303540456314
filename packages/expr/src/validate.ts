/**
 * Plan validation and arity inference.
 *
 * `validatePlan(plan, importArity)` walks a plan once, checks every column reference, operator
 * name, arity and numeric parameter, and returns the plan's output arity. It throws
 * `MalformedPlan` naming the path to the first bad node. Every consumer (protocol codecs, the
 * replica before rendering, environmentd on create) calls it, so the engine may assume a valid plan.
 *
 * It also enforces the limits of `limits.ts` (`LimitExceeded`, a `MalformedPlan`): nesting depth
 * (plan levels plus the expression levels under them), node count, row width and constant rows.
 * The walk stops at the first limit crossed, so a hostile plan costs at most the limit's work.
 */
import { Datum } from "@mzts/repr";
import { LimitExceeded, MalformedPlan } from "./errors.js";
import { MAX_CONSTANT_ROWS, MAX_NESTING_DEPTH, MAX_PLAN_NODES, MAX_ROW_WIDTH } from "./limits.js";
import type { AggregateFunc, BinaryOp, Expr, Plan, UnaryOp, VariadicOp } from "./plan.js";

const UNARY: ReadonlySet<UnaryOp> = new Set<UnaryOp>([
  "not",
  "neg",
  "isNull",
  "isNotNull",
  "isTrue",
  "abs",
  "lower",
  "upper",
  "length",
  "castInt64",
  "castFloat64",
  "castNumeric",
  "castText",
]);
const BINARY: ReadonlySet<BinaryOp> = new Set<BinaryOp>([
  "add",
  "sub",
  "mul",
  "div",
  "mod",
  "eq",
  "neq",
  "lt",
  "lte",
  "gt",
  "gte",
  "and",
  "or",
  "concat",
  "like",
]);
const VARIADIC: ReadonlySet<VariadicOp> = new Set<VariadicOp>([
  "coalesce",
  "greatest",
  "least",
  "concat",
]);
const AGGREGATES: ReadonlySet<AggregateFunc> = new Set<AggregateFunc>([
  "count",
  "sum",
  "min",
  "max",
]);

/** Import arity lookup: the arity of an imported collection, or undefined if unknown. */
export type ImportArity = (id: string) => number | undefined;

/** The walk's budget: nodes seen so far (shared by a plan and its expressions). */
interface Walk {
  nodes: number;
}

/** Counts one node at `depth` (1 = the root) against the node and depth limits. */
function visit(w: Walk, depth: number, path: string): void {
  if (++w.nodes > MAX_PLAN_NODES) {
    throw new LimitExceeded(path, "MAX_PLAN_NODES", MAX_PLAN_NODES, "the number of nodes");
  }
  if (depth > MAX_NESTING_DEPTH) {
    throw new LimitExceeded(path, "MAX_NESTING_DEPTH", MAX_NESTING_DEPTH, `nesting depth ${depth}`);
  }
}

function checkWidth(arity: number, path: string): number {
  if (arity > MAX_ROW_WIDTH) {
    throw new LimitExceeded(path, "MAX_ROW_WIDTH", MAX_ROW_WIDTH, `a row of ${arity} columns`);
  }
  return arity;
}

/**
 * Checks `plan` and returns its output arity.
 * @throws MalformedPlan naming the first bad node (`LimitExceeded` for a limit crossed).
 */
export function validatePlan(plan: Plan, importArity?: ImportArity, path = "plan"): number {
  return checkWidth(walkPlan(plan, importArity, path, { nodes: 0 }, 1), path);
}

function walkPlan(
  plan: Plan,
  importArity: ImportArity | undefined,
  path: string,
  w: Walk,
  depth: number,
): number {
  if (plan === null || typeof plan !== "object") throw new MalformedPlan(path, "not a plan node");
  const at = `${path}.${plan.kind}`;
  visit(w, depth, at);
  const sub = (p: Plan, subPath: string): number =>
    checkWidth(walkPlan(p, importArity, subPath, w, depth + 1), subPath);
  const expr = (e: Expr, arity: number, exprPath: string): void => {
    walkExpr(e, arity, exprPath, w, depth + 1);
  };
  switch (plan.kind) {
    case "constant": {
      checkCount(plan.arity, at, "arity");
      checkWidth(plan.arity, at);
      if (plan.rows.length > MAX_CONSTANT_ROWS) {
        throw new LimitExceeded(
          at,
          "MAX_CONSTANT_ROWS",
          MAX_CONSTANT_ROWS,
          `${plan.rows.length} constant rows`,
        );
      }
      plan.rows.forEach(([row, diff], i) => {
        if (!Array.isArray(row) || row.length !== plan.arity) {
          throw new MalformedPlan(
            `${at}.rows[${i}]`,
            `row has ${row?.length} columns, arity is ${plan.arity}`,
          );
        }
        for (const d of row) checkDatum(d, `${at}.rows[${i}]`);
        if (!Number.isSafeInteger(diff))
          throw new MalformedPlan(`${at}.rows[${i}]`, "diff must be a safe integer");
      });
      return plan.arity;
    }
    case "get": {
      checkCount(plan.arity, at, "arity");
      if (typeof plan.id !== "string" || plan.id === "")
        throw new MalformedPlan(at, "get needs an id");
      if (importArity) {
        const a = importArity(plan.id);
        if (a === undefined) throw new MalformedPlan(at, `unknown import ${plan.id}`);
        if (a !== plan.arity)
          throw new MalformedPlan(at, `import ${plan.id} has arity ${a}, get says ${plan.arity}`);
      }
      return plan.arity;
    }
    case "map": {
      let arity = sub(plan.input, `${at}.input`);
      plan.exprs.forEach((e, i) => {
        expr(e, arity, `${at}.exprs[${i}]`);
        arity = checkWidth(arity + 1, `${at}.exprs[${i}]`);
      });
      return arity;
    }
    case "filter": {
      const arity = sub(plan.input, `${at}.input`);
      plan.predicates.forEach((e, i) => {
        expr(e, arity, `${at}.predicates[${i}]`);
      });
      return arity;
    }
    case "project": {
      const arity = sub(plan.input, `${at}.input`);
      plan.columns.forEach((c, i) => {
        checkColumn(c, arity, `${at}.columns[${i}]`);
      });
      return plan.columns.length;
    }
    case "union": {
      if (plan.inputs.length === 0) throw new MalformedPlan(at, "union needs at least one input");
      const arities = plan.inputs.map((p, i) => sub(p, `${at}.inputs[${i}]`));
      const a0 = arities[0]!;
      arities.forEach((a, i) => {
        if (a !== a0)
          throw new MalformedPlan(`${at}.inputs[${i}]`, `arity ${a} differs from input 0's ${a0}`);
      });
      return a0;
    }
    case "negate":
    case "distinct":
    case "threshold":
      return sub(plan.input, `${at}.input`);
    case "join": {
      if (plan.inputs.length < 2) throw new MalformedPlan(at, "join needs at least two inputs");
      const arities = plan.inputs.map((p, i) => sub(p, `${at}.inputs[${i}]`));
      plan.equivalences.forEach((cls, i) => {
        if (cls.length < 2)
          throw new MalformedPlan(`${at}.equivalences[${i}]`, "an equivalence needs two columns");
        cls.forEach(([input, column], j) => {
          const p = `${at}.equivalences[${i}][${j}]`;
          const a = arities[input];
          if (!Number.isInteger(input) || a === undefined)
            throw new MalformedPlan(p, `no join input ${input}`);
          checkColumn(column, a, p);
        });
      });
      return arities.reduce((s, a) => s + a, 0);
    }
    case "reduce": {
      const arity = sub(plan.input, `${at}.input`);
      plan.groupKey.forEach((c, i) => {
        checkColumn(c, arity, `${at}.groupKey[${i}]`);
      });
      plan.aggregates.forEach((agg, i) => {
        const p = `${at}.aggregates[${i}]`;
        if (!AGGREGATES.has(agg.func))
          throw new MalformedPlan(p, `unknown aggregate ${String(agg.func)}`);
        if (agg.column === undefined) {
          if (agg.func !== "count") throw new MalformedPlan(p, `${agg.func} needs a column`);
        } else checkColumn(agg.column, arity, p);
      });
      return plan.groupKey.length + plan.aggregates.length;
    }
    case "topK": {
      const arity = sub(plan.input, `${at}.input`);
      plan.groupKey.forEach((c, i) => {
        checkColumn(c, arity, `${at}.groupKey[${i}]`);
      });
      plan.orderBy.forEach((o, i) => {
        checkColumn(o.column, arity, `${at}.orderBy[${i}]`);
      });
      if (plan.limit !== undefined) checkCount(plan.limit, at, "limit");
      checkCount(plan.offset, at, "offset");
      return arity;
    }
    case "arrangeBy": {
      const arity = sub(plan.input, `${at}.input`);
      plan.key.forEach((c, i) => {
        checkColumn(c, arity, `${at}.key[${i}]`);
      });
      return arity;
    }
    default:
      throw new MalformedPlan(
        path,
        `unknown plan kind ${String((plan as { kind?: unknown }).kind)}`,
      );
  }
}

/**
 * Checks a scalar expression against an input of `arity` columns (a peek's map/filter/project:
 * each expression is its own root for the depth and node limits).
 * @throws MalformedPlan (`LimitExceeded` for a limit crossed)
 */
export function validateExpr(e: Expr, arity: number, path = "expr"): void {
  walkExpr(e, arity, path, { nodes: 0 }, 1);
}

function walkExpr(e: Expr, arity: number, path: string, w: Walk, depth: number): void {
  if (e === null || typeof e !== "object") throw new MalformedPlan(path, "not an expression");
  visit(w, depth, path);
  const child = (x: Expr, p: string): void => walkExpr(x, arity, p, w, depth + 1);
  switch (e.kind) {
    case "column":
      checkColumn(e.index, arity, `${path}.column`);
      return;
    case "literal":
      checkDatum(e.value, `${path}.literal`);
      return;
    case "unary":
      if (!UNARY.has(e.op)) throw new MalformedPlan(path, `unknown unary function ${String(e.op)}`);
      child(e.arg, `${path}.${e.op}`);
      return;
    case "binary":
      if (!BINARY.has(e.op))
        throw new MalformedPlan(path, `unknown binary function ${String(e.op)}`);
      child(e.left, `${path}.${e.op}.left`);
      child(e.right, `${path}.${e.op}.right`);
      return;
    case "variadic":
      if (!VARIADIC.has(e.op))
        throw new MalformedPlan(path, `unknown variadic function ${String(e.op)}`);
      if (e.args.length === 0) throw new MalformedPlan(path, `${e.op} needs at least one argument`);
      e.args.forEach((a, i) => {
        child(a, `${path}.${e.op}[${i}]`);
      });
      return;
    case "if":
      child(e.cond, `${path}.if.cond`);
      child(e.ifTrue, `${path}.if.ifTrue`);
      child(e.ifFalse, `${path}.if.ifFalse`);
      return;
    default:
      throw new MalformedPlan(
        path,
        `unknown expression kind ${String((e as { kind?: unknown }).kind)}`,
      );
  }
}

function checkDatum(d: unknown, path: string): void {
  try {
    Datum.typeOf(d as Datum);
  } catch (err) {
    throw new MalformedPlan(path, (err as Error).message);
  }
}

function checkColumn(c: number, arity: number, path: string): void {
  if (!Number.isInteger(c) || c < 0 || c >= arity) {
    throw new MalformedPlan(path, `column ${c} out of range for arity ${arity}`);
  }
}

function checkCount(n: number, path: string, what: string): void {
  if (!Number.isSafeInteger(n) || n < 0)
    throw new MalformedPlan(path, `${what} must be a non-negative integer, got ${n}`);
}
