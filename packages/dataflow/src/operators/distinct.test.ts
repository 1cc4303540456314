import { describe, expect, it } from "vitest";
import { asOf, harness } from "../testdata/helpers.js";
import { DistinctOperator } from "./distinct.js";
import { ThresholdOperator } from "./threshold.js";

describe("DistinctOperator and ThresholdOperator", () => {
  it("distinct: multiplicity 1 where positive", () => {
    const { graph, input, out } = harness((s, g) => new DistinctOperator(g, s).output);
    input.send([
      [["a"], 0n, 3],
      [["b"], 0n, -1],
      [["a"], 1n, -3],
    ]);
    input.advanceTo(2n);
    graph.run();
    expect(asOf(out, 0n)).toEqual([[["a"], 1]]);
    expect(asOf(out, 1n)).toEqual([]);
  });

  it("threshold: clamps negative multiplicities at zero", () => {
    const { graph, input, out } = harness((s, g) => new ThresholdOperator(g, s).output);
    input.send([
      [["a"], 0n, 3],
      [["b"], 0n, -1],
      [["b"], 1n, 2],
    ]);
    input.advanceTo(2n);
    graph.run();
    expect(asOf(out, 0n)).toEqual([[["a"], 3]]);
    expect(asOf(out, 1n)).toEqual([
      [["a"], 3],
      [["b"], 1],
    ]);
  });
});
