/**
 * Test harness: builds a rendered plan on W workers (one thread, in-memory exchange with
 * randomised delivery and structuredClone'd messages), feeds it an update stream with random
 * worker placement and partial scheduling, and reads back results.
 */
import type { Plan } from "@mzts/expr";
import {
  collectionAsOf,
  consolidateRows,
  type Frontier,
  prng,
  type Row,
  rowKey,
  type Update,
} from "@mzts/repr";
import {
  type ArrangeByOperator,
  type CaptureOperator,
  capture,
  createGraph,
  createInMemoryExchange,
  createInput,
  type Graph,
  type InMemoryExchange,
  type InputHandle,
  render,
} from "../src/index.js";
import type { Collection } from "./reference.js";

/** The seeded PRNG of the model tests (mulberry32, `@mzts/repr`). */
export { prng };

export interface Cluster {
  readonly graphs: Graph[];
  readonly exchange: InMemoryExchange | undefined;
  /** Per worker, per import id. */
  readonly inputs: Array<Record<string, InputHandle>>;
  readonly oks: CaptureOperator[];
  readonly errs: CaptureOperator[];
  /** Per worker, the arrangements of the plan's arrangeBy nodes (render order). */
  readonly arrangements: ArrangeByOperator[][];
  /** Frontier observations: (capture, frontier, number of updates held at that moment). */
  readonly marks: Array<[CaptureOperator, Frontier, number]>;
  readonly random: () => number;
}

export function buildCluster(
  plan: Plan,
  importIds: readonly string[],
  workers: number,
  seed: number,
): Cluster {
  const random = prng(seed);
  const exchange =
    workers > 1 ? createInMemoryExchange(workers, { immediate: false, clone: true }) : undefined;
  const graphs: Graph[] = [];
  const inputs: Array<Record<string, InputHandle>> = [];
  const oks: CaptureOperator[] = [];
  const errs: CaptureOperator[] = [];
  const arrangements: ArrangeByOperator[][] = [];
  const marks: Array<[CaptureOperator, Frontier, number]> = [];
  for (let w = 0; w < workers; w++) {
    const graph = createGraph(exchange ? { allocator: exchange.allocator(w) } : {});
    const ins: Record<string, InputHandle> = {};
    for (const id of importIds) ins[id] = createInput(graph, id);
    const imports = Object.fromEntries(Object.entries(ins).map(([k, v]) => [k, v.output]));
    const r = render(graph, plan, { imports });
    const o = capture(r.oks);
    const e = capture(r.errs);
    for (const c of [o, e]) c.onFrontier = (f) => marks.push([c, f, c.updates.length]);
    graphs.push(graph);
    inputs.push(ins);
    oks.push(o);
    errs.push(e);
    arrangements.push([...r.arrangements]);
  }
  return { graphs, exchange, inputs, oks, errs, arrangements, marks, random };
}

/** Runs `rounds` rounds of partial delivery and stepping in random order (not to quiescence). */
export function stepSome(c: Cluster, rounds: number): void {
  for (let i = 0; i < rounds; i++) {
    c.exchange?.deliver(c.random);
    const order = c.graphs.map((_, j) => j).sort(() => c.random() - 0.5);
    for (const j of order) c.graphs[j]!.step();
  }
}

/** Runs every worker until nothing is left to do. */
export function quiesce(c: Cluster): void {
  for (let guard = 0; guard < 100_000; guard++) {
    const delivered = c.exchange ? c.exchange.deliver() : 0;
    let worked = false;
    for (const g of c.graphs) if (g.step()) worked = true;
    if (!worked && delivered === 0 && (c.exchange?.inFlight ?? 0) === 0) return;
  }
  throw new Error("cluster did not quiesce");
}

/** Canonical form for comparisons: sorted `[rowKey, count]` pairs. */
export function canon(c: Iterable<readonly [Row, number]>): Array<[string, number]> {
  return consolidateRows(c)
    .map(([r, n]): [string, number] => [rowKey(r), n])
    .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
}

/** The union over workers of captured updates, as of `t`. */
export function capturedAsOf(caps: readonly CaptureOperator[], t: bigint): Collection {
  const all: Update[] = caps.flatMap((c) => c.updates);
  return collectionAsOf(all, t);
}
