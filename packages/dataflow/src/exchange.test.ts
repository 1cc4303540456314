import { describe, expect, it } from "vitest";
import { createInMemoryExchange, runWorkers } from "./exchange.js";
import { createGraph } from "./graph.js";
import { capture } from "./operators/capture.js";
import { exchange } from "./operators/exchange.js";
import { createInput } from "./operators/input.js";
import { asOf } from "./testdata/helpers.js";

describe("exchange", () => {
  it("with one worker returns its input (bypass)", () => {
    const g = createGraph();
    const i = createInput(g);
    expect(exchange([0])(i.output)).toBe(i.output);
  });

  it("routes by key and advances the output frontier to the meet over senders", () => {
    const ex = createInMemoryExchange(3, { immediate: false, clone: true });
    const graphs = [0, 1, 2].map((w) => createGraph({ allocator: ex.allocator(w) }));
    const inputs = graphs.map((g) => createInput(g));
    const outs = graphs.map((_g, w) => capture(exchange([0])(inputs[w]!.output)));
    inputs.forEach((inp, w) => {
      inp.send([
        [[BigInt(w), "x"], 0n, 1],
        [[7n, w], 0n, 1],
      ]);
    });
    inputs[0]!.advanceTo(5n);
    inputs[1]!.advanceTo(3n);
    runWorkers(graphs, ex);
    // Worker 2 has not advanced: nobody's output frontier may pass 0.
    for (const o of outs) expect(o.frontier).toBe(0n);
    inputs[2]!.advanceTo(9n);
    runWorkers(graphs, ex);
    for (const o of outs) expect(o.frontier).toBe(3n);
    // Every key lives on exactly one worker, and nothing is lost.
    const where = new Map<string, number>();
    outs.forEach((o, w) => {
      for (const [row] of asOf(o, 0n)) {
        const k = String(row[0]);
        expect(where.get(k) ?? w).toBe(w);
        where.set(k, w);
      }
    });
    expect(outs.flatMap((o) => asOf(o, 0n)).length).toBe(6);
    for (const inp of inputs) inp.close();
    runWorkers(graphs, ex, { random: Math.random });
    for (const o of outs) expect(o.frontier).toBeNull();
  });

  it("holds messages in flight until delivered, FIFO per sender", () => {
    const ex = createInMemoryExchange(2, { immediate: false });
    const a = ex.allocator(0).channel(0);
    const b = ex.allocator(1).channel(0);
    a.send(1, { kind: "progress", frontier: 1n });
    a.send(1, { kind: "progress", frontier: 2n });
    const seen: unknown[] = [];
    expect(b.drain((from, m) => seen.push([from, m]))).toBe(0);
    expect(ex.inFlight).toBe(2);
    ex.deliver();
    b.drain((from, m) => seen.push([from, m]));
    expect(seen).toEqual([
      [0, { kind: "progress", frontier: 1n }],
      [0, { kind: "progress", frontier: 2n }],
    ]);
  });
});
