/**
 * `render()`: builds the operator graph of a `Plan` on one worker's `Graph`.
 *
 * Every worker renders the same plan on its own graph (same operators in the same order, hence
 * the same exchange channels). The result has two collections, as in Materialize:
 * - `oks`: the plan's output;
 * - `errs`: the union of every evaluation error (`[code, message]` rows, see errors.ts) raised
 *   by map, filter, reduce and topK. Errors do not stop the dataflow and pass untouched through
 *   later operators (negate does not negate them, joins do not join them).
 *
 * ## Rendering rules
 * - Chains of map/filter/project nodes are fused into one `MfpOperator` (one pass per row).
 * - Keyed operators get an exchange in front (bypassed with one worker): reduce and topK on the
 *   group key, distinct and threshold on the whole row, arrangeBy on its key, each join input on
 *   its join key.
 * - An n-way join is a left-deep chain of binary joins. For input `i` the key pairs one column
 *   of every equivalence class that has members both in inputs `< i` and in input `i`; classes
 *   with several members inside one input become an equality filter on that input first. Since
 *   `eq` on null is null, such filters (and the joins) drop rows with null keys.
 * - Constants are split between workers; imports (`get`) are streams the caller provides, one
 *   per worker, each carrying that worker's share of the data.
 *
 * @throws MalformedPlan (from @mzts/expr) when the plan does not validate; UnknownImport when a
 *   `get` names an import missing from `imports`.
 */
import type { Expr, JoinColumn, Plan } from "@mzts/expr";
import { validatePlan } from "@mzts/expr";
import { UnknownImport } from "./errors.js";
import type { Graph } from "./graph.js";
import { ArrangeByOperator } from "./operators/arrange-by.js";
import { ConstantOperator } from "./operators/constant.js";
import { DistinctOperator } from "./operators/distinct.js";
import { exchange } from "./operators/exchange.js";
import { FilterOperator } from "./operators/filter.js";
import { JoinOperator } from "./operators/join.js";
import { MfpOperator, type MfpStep } from "./operators/mfp.js";
import { NegateOperator } from "./operators/negate.js";
import { ReduceOperator } from "./operators/reduce.js";
import { ThresholdOperator } from "./operators/threshold.js";
import { TopKOperator } from "./operators/top-k.js";
import { UnionOperator } from "./operators/union.js";
import type { Stream } from "./stream.js";

export interface RenderOptions {
  /** The stream of each import id (`get`), for this worker. */
  readonly imports: ReadonlyMap<string, Stream> | Readonly<Record<string, Stream>>;
}

export interface Rendered {
  /** The plan's output collection. */
  readonly oks: Stream;
  /** The dataflow's error collection: `[code, message]` rows. */
  readonly errs: Stream;
  /** The arrangements built for `arrangeBy` nodes, in render order. */
  readonly arrangements: readonly ArrangeByOperator[];
}

/** Renders `plan` on `graph`. See the file doc for the rules. */
export function render(graph: Graph, plan: Plan, options: RenderOptions): Rendered {
  const arity = validatePlan(plan);
  void arity;
  const { imports } = options;
  const lookup = (id: string): Stream | undefined =>
    imports instanceof Map ? imports.get(id) : (imports as Record<string, Stream>)[id];
  const errs: Stream[] = [];
  const arrangements: ArrangeByOperator[] = [];

  const go = (p: Plan): Stream => {
    switch (p.kind) {
      case "constant":
        return new ConstantOperator(graph, p.rows).output;
      case "get": {
        const s = lookup(p.id);
        if (!s) throw new UnknownImport(p.id);
        return s;
      }
      case "map":
      case "filter":
      case "project": {
        // Fuse the whole chain of map/filter/project nodes into one operator.
        const steps: MfpStep[] = [];
        let q: Plan = p;
        let fallible = false;
        while (q.kind === "map" || q.kind === "filter" || q.kind === "project") {
          if (q.kind === "map") steps.push({ kind: "map", exprs: q.exprs });
          else if (q.kind === "filter") steps.push({ kind: "filter", predicates: q.predicates });
          else steps.push({ kind: "project", columns: q.columns });
          fallible ||= q.kind !== "project";
          q = q.input;
        }
        steps.reverse();
        const op = new MfpOperator(graph, go(q), steps);
        if (fallible) errs.push(op.errors);
        return op.output;
      }
      case "union": {
        const inputs = p.inputs.map(go);
        return inputs.length === 1 ? inputs[0]! : new UnionOperator(graph, inputs).output;
      }
      case "negate":
        return new NegateOperator(graph, go(p.input)).output;
      case "join":
        return renderJoin(p.inputs.map(go), p.inputs.map(arityOf), p.equivalences);
      case "reduce": {
        const input = exchange(p.groupKey)(go(p.input));
        const op = new ReduceOperator(graph, input, p.groupKey, p.aggregates);
        errs.push(op.errors);
        return op.output;
      }
      case "distinct":
        return new DistinctOperator(graph, exchange(null)(go(p.input))).output;
      case "threshold":
        return new ThresholdOperator(graph, exchange(null)(go(p.input))).output;
      case "topK": {
        const input = exchange(p.groupKey)(go(p.input));
        const spec = {
          groupKey: p.groupKey,
          orderBy: p.orderBy,
          offset: p.offset,
          ...(p.limit === undefined ? {} : { limit: p.limit }),
        };
        const op = new TopKOperator(graph, input, spec);
        errs.push(op.errors);
        return op.output;
      }
      case "arrangeBy": {
        const op = new ArrangeByOperator(graph, exchange(p.key)(go(p.input)), p.key);
        arrangements.push(op);
        return op.output;
      }
    }
  };

  const renderJoin = (
    inputs: Stream[],
    arities: number[],
    equivalences: ReadonlyArray<readonly JoinColumn[]>,
  ): Stream => {
    // Equality filters for classes with several members in one input.
    const filtered = inputs.map((s, i) => {
      const preds: Expr[] = [];
      for (const cls of equivalences) {
        const mine = cls.filter(([inp]) => inp === i).map(([, c]) => c);
        for (let j = 1; j < mine.length; j++) {
          preds.push({
            kind: "binary",
            op: "eq",
            left: { kind: "column", index: mine[0]! },
            right: { kind: "column", index: mine[j]! },
          });
        }
        // A lone member in a class whose other members are all in this input is covered above.
      }
      if (preds.length === 0) return s;
      const op = new FilterOperator(graph, s, preds, "join.filter");
      errs.push(op.errors);
      return op.output;
    });
    const offsets: number[] = [];
    let acc = 0;
    for (const a of arities) {
      offsets.push(acc);
      acc += a;
    }
    let left = filtered[0]!;
    for (let i = 1; i < filtered.length; i++) {
      const leftKey: number[] = [];
      const rightKey: number[] = [];
      for (const cls of equivalences) {
        const l = cls.find(([inp]) => inp < i);
        const r = cls.find(([inp]) => inp === i);
        if (l && r) {
          leftKey.push(offsets[l[0]]! + l[1]);
          rightKey.push(r[1]);
        }
      }
      const le = exchange(leftKey)(left);
      const re = exchange(rightKey)(filtered[i]!);
      left = new JoinOperator(graph, le, re, leftKey, rightKey).output;
    }
    return left;
  };

  const oks = go(plan);
  const errStream =
    errs.length === 0
      ? new ConstantOperator(graph, [], "errs").output
      : errs.length === 1
        ? errs[0]!
        : new UnionOperator(graph, errs, "errs").output;
  return { oks, errs: errStream, arrangements };
}

function arityOf(p: Plan): number {
  return validatePlan(p);
}
