import { describe, expect, it } from "vitest";
import { asOf, harness } from "../testdata/helpers.js";
import { TopKOperator } from "./top-k.js";

describe("TopKOperator", () => {
  it("keeps ranks [offset, offset + limit) per group, counting multiplicities", () => {
    const { graph, input, out } = harness(
      (s, g) =>
        new TopKOperator(g, s, {
          groupKey: [0],
          orderBy: [{ column: 1, desc: true, nullsLast: true }],
          limit: 2,
          offset: 1,
        }).output,
    );
    input.send([
      [["g", 5n], 0n, 1],
      [["g", 3n], 0n, 2],
      [["g", 1n], 0n, 1],
      [["g", null], 0n, 1],
      [["h", 9n], 0n, 1],
    ]);
    input.advanceTo(1n);
    graph.run();
    expect(asOf(out, 0n)).toEqual([[["g", 3n], 2]]);
    input.send([[["g", 4n], 1n, 1]]);
    input.advanceTo(2n);
    graph.run();
    expect(asOf(out, 1n)).toEqual([
      [["g", 3n], 1],
      [["g", 4n], 1],
    ]);
  });

  it("orders nulls first when nullsLast is false, and errors on negative counts", () => {
    const { graph, input, out } = harness(
      (s, g) =>
        new TopKOperator(g, s, {
          groupKey: [],
          orderBy: [{ column: 0, desc: false, nullsLast: false }],
          limit: 1,
          offset: 0,
        }).output,
    );
    input.send([
      [[1n], 0n, 1],
      [[null], 0n, 1],
    ]);
    input.advanceTo(1n);
    graph.run();
    expect(asOf(out, 0n)).toEqual([[[null], 1]]);
    input.send([[[7n], 1n, -1]]);
    input.advanceTo(2n);
    graph.run();
    expect(asOf(out, 1n)).toEqual([]);
  });
});
