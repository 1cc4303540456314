import { Datum } from "@mzts/repr";
import { describe, expect, it } from "vitest";
import { asOf, harness, renderOne } from "../testdata/helpers.js";
import { ReduceOperator } from "./reduce.js";

describe("ReduceOperator", () => {
  it("counts, sums, min and max incrementally per group", () => {
    const { graph, input, out } = harness(
      (s, g) =>
        new ReduceOperator(
          g,
          s,
          [0],
          [
            { func: "count" },
            { func: "sum", column: 1 },
            { func: "min", column: 1 },
            { func: "max", column: 1 },
          ],
        ).output,
    );
    input.send([
      [["a", 1n], 1n, 1],
      [["a", 5n], 1n, 1],
      [["b", 2n], 1n, 2],
      [["a", null], 2n, 1],
    ]);
    input.advanceTo(2n);
    graph.run();
    expect(asOf(out, 1n)).toEqual([
      [["a", 2n, 6n, 1n, 5n], 1],
      [["b", 2n, 4n, 2n, 2n], 1],
    ]);
    input.send([[["a", 5n], 3n, -1]]);
    input.advanceTo(4n);
    graph.run();
    // Time 2 (a null) and 3 (retract 5) are now complete.
    expect(asOf(out, 2n)).toEqual([
      [["a", 3n, 6n, 1n, 5n], 1],
      [["b", 2n, 4n, 2n, 2n], 1],
    ]);
    expect(asOf(out, 3n)).toEqual([
      [["a", 2n, 1n, 1n, 1n], 1],
      [["b", 2n, 4n, 2n, 2n], 1],
    ]);
  });

  it("emits nothing before the frontier passes a time", () => {
    const { graph, input, out } = harness(
      (s, g) => new ReduceOperator(g, s, [0], [{ func: "count" }]).output,
    );
    input.send([[["a"], 5n, 1]]);
    input.advanceTo(5n);
    graph.run();
    expect(out.updates).toEqual([]);
    expect(out.frontier).toBe(5n);
    input.advanceTo(6n);
    graph.run();
    expect(out.updates).toEqual([[["a", 1n], 5n, 1]]);
    input.close();
    graph.run();
    expect(out.frontier).toBeNull();
  });

  it("sums numerics exactly and reports int64 overflow and negative counts as error rows", () => {
    const max = (1n << 63n) - 1n;
    const { graph, u1, oks, errs } = renderOne({
      kind: "reduce",
      input: { kind: "get", id: "u1", arity: 2 },
      groupKey: [0],
      aggregates: [{ func: "sum", column: 1 }],
    });
    u1.send([
      [["n", Datum.numeric("0.1")], 0n, 1],
      [["n", Datum.numeric("0.25")], 0n, 1],
      [["o", max], 0n, 1],
      [["o", 1n], 0n, 1],
      [["neg", 1n], 0n, -1],
    ]);
    u1.advanceTo(1n);
    graph.run();
    expect(asOf(oks, 0n)).toEqual([[["n", Datum.numeric("0.35")], 1]]);
    expect(asOf(errs, 0n)).toEqual([
      [["negative_multiplicity", "negative multiplicity in reduce"], 1],
      [["out_of_range", "int64 out of range in sum"], 1],
    ]);
    // Retracting the overflowing value clears the error and produces the row.
    u1.send([[["o", 1n], 1n, -1]]);
    u1.advanceTo(2n);
    graph.run();
    expect(asOf(oks, 1n)).toContainEqual([["o", max], 1]);
    expect(asOf(errs, 1n)).toEqual([
      [["negative_multiplicity", "negative multiplicity in reduce"], 1],
    ]);
  });

  it("drops a group whose rows are all retracted", () => {
    const { graph, input, out } = harness(
      (s, g) => new ReduceOperator(g, s, [], [{ func: "count" }]).output,
    );
    input.send([[["x"], 0n, 1]]);
    input.advanceTo(1n);
    input.send([[["x"], 1n, -1]]);
    input.advanceTo(2n);
    graph.run();
    expect(asOf(out, 0n)).toEqual([[[1n], 1]]);
    expect(asOf(out, 1n)).toEqual([]);
  });
});
