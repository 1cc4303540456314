import { describe, expect, it } from "vitest";
import { collectionAsOf, consolidateUpdates, type Update } from "./update.js";

describe("consolidation", () => {
  it("sums equal (row, time) pairs, drops zeros and sorts by time then row", () => {
    const u: Update[] = [
      [["b"], 2n, 1],
      [["a"], 2n, 1],
      [["a"], 1n, 2],
      [["a"], 1n, -2],
      [["b"], 2n, 3],
    ];
    expect(consolidateUpdates(u)).toEqual([
      [["a"], 2n, 1],
      [["b"], 2n, 4],
    ]);
  });

  it("computes a collection as of a time", () => {
    const u: Update[] = [
      [["x"], 1n, 1],
      [["y"], 2n, 1],
      [["x"], 3n, -1],
    ];
    expect(collectionAsOf(u, 2n)).toEqual([
      [["x"], 1],
      [["y"], 1],
    ]);
    expect(collectionAsOf(u, 3n)).toEqual([[["y"], 1]]);
  });
});
