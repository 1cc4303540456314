import { describe, expect, it } from "vitest";
import { createGraph } from "../graph.js";
import { asOf, renderOne } from "../testdata/helpers.js";
import { capture } from "./capture.js";
import { createInput } from "./input.js";
import { JoinOperator } from "./join.js";

describe("JoinOperator", () => {
  it("joins deltas of both sides at each time, in time order", () => {
    const graph = createGraph();
    const l = createInput(graph, "l");
    const r = createInput(graph, "r");
    const out = capture(new JoinOperator(graph, l.output, r.output, [0], [0]).output);
    l.send([
      [[1n, "a"], 0n, 1],
      [[2n, "b"], 1n, 1],
    ]);
    r.send([
      [[1n, "x"], 0n, 1],
      [[2n, "y"], 0n, 2],
      [[null, "z"], 0n, 1],
    ]);
    l.advanceTo(2n);
    graph.run();
    // The right input has not passed time 0: nothing yet.
    expect(out.updates).toEqual([]);
    r.advanceTo(2n);
    graph.run();
    expect(asOf(out, 0n)).toEqual([[[1n, "a", 1n, "x"], 1]]);
    expect(asOf(out, 1n)).toEqual([
      [[1n, "a", 1n, "x"], 1],
      [[2n, "b", 2n, "y"], 2],
    ]);
    r.send([[[1n, "x"], 2n, -1]]);
    l.send([[[null, "n"], 2n, 1]]);
    l.close();
    r.close();
    graph.run();
    expect(asOf(out, 2n)).toEqual([[[2n, "b", 2n, "y"], 2]]);
    expect(out.frontier).toBeNull();
  });

  it("renders n-way joins with equivalence classes, including same-input classes", () => {
    const { graph, u1, u2, oks } = renderOne({
      kind: "join",
      inputs: [
        { kind: "get", id: "u1", arity: 2 },
        { kind: "get", id: "u2", arity: 2 },
        { kind: "get", id: "u1", arity: 2 },
      ],
      equivalences: [
        [
          [0, 0],
          [1, 0],
          [1, 1],
        ],
        [
          [0, 1],
          [2, 1],
        ],
      ],
    });
    u1.send([
      [[1n, "p"], 0n, 1],
      [[2n, "p"], 0n, 1],
    ]);
    u2.send([
      [[1n, 1n], 0n, 1],
      [[2n, 3n], 0n, 1],
    ]);
    u1.close();
    u2.close();
    graph.run();
    // u2 row (2, 3) fails the same-input equality; u1 × u1 pairs on column 1 = "p".
    expect(asOf(oks, 0n)).toEqual([
      [[1n, "p", 1n, 1n, 1n, "p"], 1],
      [[1n, "p", 1n, 1n, 2n, "p"], 1],
    ]);
  });
});
