import { afterEach, describe, expect, it, vi } from "vitest";
import { Batch } from "./batch.js";
import { createGraph, type Graph, Operator } from "./graph.js";
import { arrangeBy } from "./operators/arrange-by.js";
import { capture } from "./operators/capture.js";
import { constant } from "./operators/constant.js";
import { createInput } from "./operators/input.js";
import { type InputPort, Stream } from "./stream.js";

afterEach(() => vi.restoreAllMocks());

function pipeline() {
  const g = createGraph();
  const input = createInput(g);
  const op = arrangeBy(input.output, [0]);
  return { g, input, op };
}

describe("Graph operator timing", () => {
  it("is off by default: no clock reads, no totals", () => {
    const { g, input } = pipeline();
    const now = vi.spyOn(performance, "now");
    input.send([[[1n], 0n, 1]]);
    input.advanceTo(1n);
    g.run();
    expect(now).not.toHaveBeenCalled();
    expect(g.timing).toBe(false);
    expect(g.operatorElapsedNs).toEqual([]);
  });

  it("adds each operator's run() time to its total once enabled", () => {
    const { g, input, op } = pipeline();
    g.enableTiming();
    g.enableTiming();
    input.send([[[1n], 0n, 1]]);
    input.advanceTo(1n);
    g.run();
    const first = [...g.operatorElapsedNs];
    expect(first).toHaveLength(g.operators.length);
    expect(first.every((ns) => ns === undefined || ns >= 0)).toBe(true);
    // A slow run() shows up in that operator's total only.
    const run = op.run.bind(op);
    vi.spyOn(op, "run").mockImplementation(() => {
      const until = performance.now() + 2;
      while (performance.now() < until) {}
      return run();
    });
    input.send([[[2n], 1n, 1]]);
    input.advanceTo(2n);
    g.step();
    const second = g.operatorElapsedNs;
    expect(second[op.id]! - (first[op.id] ?? 0)).toBeGreaterThanOrEqual(2e6);
    expect((second[0] ?? 0) - (first[0] ?? 0)).toBeLessThan(2e6);
  });

  it("reads the clock once per idle step", () => {
    const { g } = pipeline();
    g.enableTiming();
    g.run();
    const now = vi.spyOn(performance, "now");
    g.step();
    g.step();
    expect(now).toHaveBeenCalledTimes(2);
  });
});

describe("Graph activation", () => {
  it("skips a quiet graph until input arrives, and then produces the output", () => {
    const { g, input, op } = pipeline();
    expect(g.activated).toBe(true); // built: must run once
    while (g.stepIfActivated());
    expect(g.activated).toBe(false);
    const run = vi.spyOn(op, "run");
    expect(g.stepIfActivated()).toBe(false);
    expect(run).not.toHaveBeenCalled();
    // Input from outside activates the graph; it runs until quiet and the data arrives.
    input.send([[[7n], 3n, 1]]);
    expect(g.activated).toBe(true);
    input.advanceTo(4n);
    let steps = 0;
    while (g.stepIfActivated()) steps++;
    expect(steps).toBeGreaterThan(0);
    expect(op.arrangement.upper).toBe(4n);
    expect(op.arrangement.updates()).toEqual([[[7n], 3n, 1]]);
    expect(g.activated).toBe(false);
  });

  it("a frontier move alone activates the graph", () => {
    const { g, input, op } = pipeline();
    while (g.stepIfActivated());
    input.advanceTo(9n);
    while (g.stepIfActivated());
    expect(op.arrangement.upper).toBe(9n);
  });

  it("activate() wakes a graph whose work arrived another way", () => {
    const { g } = pipeline();
    while (g.stepIfActivated());
    const step = vi.spyOn(g, "step");
    g.stepIfActivated();
    expect(step).not.toHaveBeenCalled();
    g.activate();
    g.stepIfActivated();
    expect(step).toHaveBeenCalledTimes(1);
  });

  it("a new graph runs once, so constants are emitted", () => {
    const g = createGraph({ asOf: 5n });
    const out = capture(constant(g, [[[1n], 1]]));
    while (g.stepIfActivated());
    expect(out.updates).toEqual([[[1n], 5n, 1]]);
    expect(out.frontier).toBe(null);
  });
});

describe("Graph activation inside a step (issue 16)", () => {
  /** Sends one batch on `out` in its first run (a reader registered before it: a back edge). */
  class Emitter extends Operator {
    readonly out: Stream;
    #sent = false;
    constructor(g: Graph, out: Stream) {
      super(g, "emitter");
      this.out = out;
    }
    run(): boolean {
      if (this.#sent) return false;
      this.#sent = true;
      const b = new Batch();
      b.push([1n], 0n, 1);
      this.out.send(b);
      return true;
    }
  }
  /** Drains `port` (connected with `owner`, or without one) and counts the rows. */
  class Reader extends Operator {
    readonly port: InputPort;
    rows = 0;
    constructor(g: Graph, s: Stream, withOwner: boolean) {
      super(g, "reader");
      this.port = withOwner ? s.connect(this.id) : s.connect();
    }
    run(): boolean {
      if (!this.port.pending) return false;
      for (const b of this.port.takeBatches()) this.rows += b.length;
      this.port.takeFrontier();
      return true;
    }
  }

  it("a step that drains what its operators sent leaves the graph quiet: one step per input", () => {
    const onActivate = vi.fn();
    const g = createGraph({ onActivate });
    const input = createInput(g);
    const op = arrangeBy(input.output, [0]);
    const out = capture(op.output);
    while (g.stepIfActivated());
    input.send([[[7n], 3n, 1]]);
    input.advanceTo(4n);
    expect(onActivate).toHaveBeenCalledTimes(1);
    const step = vi.spyOn(g, "step");
    while (g.stepIfActivated());
    // The sends and frontier moves inside the step reached readers later in the order: no
    // second (idle) step, no activation.
    expect(step).toHaveBeenCalledTimes(1);
    expect(onActivate).toHaveBeenCalledTimes(1);
    expect(g.activated).toBe(false);
    expect(out.updates).toEqual([[[7n], 3n, 1]]);
    expect(out.frontier).toBe(4n);
  });

  it("a send to a reader that already ran in the step activates the graph again", () => {
    for (const withOwner of [true, false]) {
      const g = createGraph();
      const back = new Stream(g, "back");
      const reader = new Reader(g, back, withOwner);
      new Emitter(g, back);
      expect(g.stepIfActivated()).toBe(true);
      expect(reader.rows).toBe(0);
      expect(g.activated).toBe(true);
      while (g.stepIfActivated());
      expect(reader.rows).toBe(1);
      expect(g.activated).toBe(false);
    }
  });

  it("a reader without an owner id is woken by every send inside a step", () => {
    const g = createGraph();
    const s = new Stream(g, "s");
    new Emitter(g, s);
    const reader = new Reader(g, s, false);
    g.stepIfActivated();
    expect(reader.rows).toBe(1);
    // It ran after the send, but an unknown owner is taken as already run: one more step.
    expect(g.activated).toBe(true);
  });
});
