/**
 * Test helpers: a one-input graph harness (build → send → run → expect) and collection readers.
 */
import type { Plan } from "@mzts/expr";
import { collectionAsOf, consolidateRows, type Row, type Update } from "@mzts/repr";
import { createGraph, type Graph } from "../graph.js";
import { type CaptureOperator, capture } from "../operators/capture.js";
import { createInput, type InputHandle } from "../operators/input.js";
import { render } from "../render.js";
import type { Stream } from "../stream.js";

/** A graph with one input `u1` and a capture of `build(input)`. */
export function harness(build: (input: Stream, graph: Graph) => Stream): {
  graph: Graph;
  input: InputHandle;
  out: CaptureOperator;
} {
  const graph = createGraph();
  const input = createInput(graph, "u1");
  const out = capture(build(input.output, graph));
  return { graph, input, out };
}

/** Renders `plan` on one worker with imports `u1`, `u2`; returns inputs and captures. */
export function renderOne(plan: Plan) {
  const graph = createGraph();
  const u1 = createInput(graph, "u1");
  const u2 = createInput(graph, "u2");
  const r = render(graph, plan, { imports: { u1: u1.output, u2: u2.output } });
  return { graph, u1, u2, oks: capture(r.oks), errs: capture(r.errs), rendered: r };
}

/** The captured collection as of `t`, sorted. */
export function asOf(c: CaptureOperator, t: bigint): Array<[Row, number]> {
  return collectionAsOf(c.updates, t);
}

/** Consolidated, sorted updates (for exact comparisons of what was emitted). */
export function rows(updates: Iterable<readonly [Row, number]>): Array<[Row, number]> {
  return consolidateRows(updates);
}

export function upd(row: Row, time: bigint, diff = 1): Update {
  return [row, time, diff];
}
