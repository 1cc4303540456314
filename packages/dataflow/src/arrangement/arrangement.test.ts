import { describe, expect, it } from "vitest";
import { NotYetAvailable, SinceViolation } from "../errors.js";
import { createGraph } from "../graph.js";
import { arrangeBy } from "../operators/arrange-by.js";
import { createInput } from "../operators/input.js";
import { rows } from "../testdata/helpers.js";
import { Arrangement } from "./arrangement.js";

function filled(): Arrangement {
  const a = new Arrangement("t", [0]);
  a.insert(["k", 1n], 1n, 1);
  a.insert(["k", 2n], 2n, 1);
  a.insert(["k", 1n], 3n, -1);
  a.insert(["j", 9n], 3n, 2);
  a.insert(["k", 1n], 5n, 1);
  a.advanceUpper(6n);
  return a;
}

describe("Arrangement", () => {
  it("answers as-of reads and key lookups in [since, upper)", () => {
    const a = filled();
    expect(rows(a.asOf(1n))).toEqual([[["k", 1n], 1]]);
    expect(rows(a.asOf(3n))).toEqual([
      [["j", 9n], 2],
      [["k", 2n], 1],
    ]);
    expect(rows(a.lookup(["k"], 5n))).toEqual([
      [["k", 1n], 1],
      [["k", 2n], 1],
    ]);
    expect(rows(a.current())).toEqual(rows(a.asOf(5n)));
    expect(() => a.asOf(6n)).toThrow(NotYetAvailable);
  });

  it("compacts: reads at or beyond the since agree, earlier ones are refused", () => {
    const a = filled();
    const before = [3n, 4n, 5n].map((t) => rows(a.asOf(t)));
    a.allowCompaction(3n);
    expect([3n, 4n, 5n].map((t) => rows(a.asOf(t)))).toEqual(before);
    expect(() => a.asOf(2n)).toThrow(SinceViolation);
    // ["k", 1] had +1@1, -1@3, +1@5: the first two cancel at the since.
    expect(a.updates().filter(([r]) => r[1] === 1n)).toEqual([[["k", 1n], 5n, 1]]);
    a.allowCompaction(5n);
    expect(a.size).toBe(3);
    expect(() => a.allowCompaction(4n)).toThrow();
    a.allowCompaction(null);
    expect(a.size).toBe(0);
  });

  it("forwards inserts below the since", () => {
    const a = new Arrangement("t", []);
    a.allowCompaction(10n);
    a.insert(["x"], 3n, 1);
    a.advanceUpper(11n);
    expect(a.updates()).toEqual([[["x"], 10n, 1]]);
  });

  it("is maintained by arrangeBy as the input frontier advances", () => {
    const g = createGraph();
    const input = createInput(g);
    const op = arrangeBy(input.output, [1]);
    input.send([
      [[1n, "a"], 0n, 1],
      [[2n, "a"], 4n, 1],
    ]);
    input.advanceTo(2n);
    g.run();
    expect(op.arrangement.upper).toBe(2n);
    expect(rows(op.arrangement.lookup(["a"], 1n))).toEqual([[[1n, "a"], 1]]);
    expect(() => op.arrangement.asOf(4n)).toThrow(NotYetAvailable);
    input.close();
    g.run();
    expect(rows(op.arrangement.lookup(["a"], 4n))).toHaveLength(2);
  });
});
