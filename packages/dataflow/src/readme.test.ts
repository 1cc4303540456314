/** README examples, run as tests (style §12). */
import type { Plan } from "@mzts/expr";
import { collectionAsOf } from "@mzts/repr";
import { describe, expect, it } from "vitest";
import { createInMemoryExchange, runWorkers } from "./exchange.js";
import { createGraph } from "./graph.js";
import { capture } from "./operators/capture.js";
import { filter } from "./operators/filter.js";
import { createInput } from "./operators/input.js";
import { map } from "./operators/map.js";
import { reduce } from "./operators/reduce.js";
import { render } from "./render.js";

describe("README", () => {
  it("createGraph / createInput / operators", () => {
    const graph = createGraph();
    const input = createInput(graph, "orders");
    const counts = input.output.pipe(
      map([
        {
          kind: "binary",
          op: "mul",
          left: { kind: "column", index: 1 },
          right: { kind: "literal", value: 2n },
        },
      ]),
      filter([
        {
          kind: "binary",
          op: "gt",
          left: { kind: "column", index: 2 },
          right: { kind: "literal", value: 4n },
        },
      ]),
      reduce([0], [{ func: "count" }, { func: "sum", column: 1 }]),
    );
    const out = capture(counts);
    input.send([
      [["a", 3n], 1n, 1],
      [["a", 5n], 1n, 1],
      [["b", 1n], 1n, 1],
    ]);
    input.advanceTo(2n);
    graph.run();
    expect(out.updates).toEqual([[["a", 2n, 8n], 1n, 1]]);
    expect(out.frontier).toBe(2n);
  });

  it("W workers with the in-memory exchange, then an arrangement read", () => {
    const plan: Plan = { kind: "arrangeBy", key: [0], input: { kind: "get", id: "u1", arity: 2 } };
    const W = 4;
    const exchange = createInMemoryExchange(W);
    const workers = Array.from({ length: W }, (_, w) => {
      const graph = createGraph({ allocator: exchange.allocator(w) });
      const input = createInput(graph, "u1");
      const rendered = render(graph, plan, { imports: { u1: input.output } });
      return { graph, input, rendered };
    });
    workers[0]!.input.send([[["k", 1n], 0n, 1]]);
    workers[3]!.input.send([[["j", 2n], 0n, 1]]);
    for (const w of workers) w.input.advanceTo(1n);
    runWorkers(
      workers.map((w) => w.graph),
      exchange,
    );
    const lookups = workers.flatMap((w) =>
      w.rendered.arrangements[0]!.arrangement.lookup(["k"], 0n),
    );
    expect(lookups).toEqual([[["k", 1n], 1]]);
    const all = workers.flatMap((w) => w.rendered.arrangements[0]!.arrangement.asOf(0n));
    expect(
      collectionAsOf(
        all.map(([r, n]) => [r, 0n, n] as const),
        0n,
      ),
    ).toEqual([
      [["j", 2n], 1],
      [["k", 1n], 1],
    ]);
  });
});
