/**
 * Unit tests of the counter generator: the values each tick inserts and retracts, with and
 * without `maxCardinality`, and its single int64 output.
 */
import { collectionAsOf, type Row } from "@mzts/repr";
import { describe, expect, it } from "vitest";
import { InvalidTick } from "../../errors.js";
import { updatesBetween } from "./render.js";
import { createLoadGenerator } from "./spec.js";

const clock = { startMs: 0n, intervalMs: 1n };

describe("counter generator", () => {
  it("has one output `counter` with one int64 column", () => {
    const gen = createLoadGenerator({ kind: "counter" }, clock);
    expect(gen.outputs).toEqual([
      { name: "counter", columns: [{ name: "counter", type: "int64", nullable: false }], key: [0] },
    ]);
  });

  it("tick n inserts n + 1 and retracts nothing when unbounded", () => {
    const gen = createLoadGenerator({ kind: "counter" }, clock);
    expect(gen.updatesAt(0n)).toEqual([{ output: 0, row: [1n], diff: 1 }]);
    expect(gen.updatesAt(41n)).toEqual([{ output: 0, row: [42n], diff: 1 }]);
  });

  it("with maxCardinality m, tick n retracts n + 1 - m once it is >= 1", () => {
    const gen = createLoadGenerator({ kind: "counter", maxCardinality: 3 }, clock);
    expect(gen.updatesAt(1n)).toEqual([{ output: 0, row: [2n], diff: 1 }]);
    expect(gen.updatesAt(2n)).toEqual([{ output: 0, row: [3n], diff: 1 }]);
    expect(gen.updatesAt(3n)).toEqual([
      { output: 0, row: [4n], diff: 1 },
      { output: 0, row: [1n], diff: -1 },
    ]);
    expect(gen.updatesAt(9n)).toEqual([
      { output: 0, row: [10n], diff: 1 },
      { output: 0, row: [7n], diff: -1 },
    ]);
  });

  it("keeps exactly the last m values live (m = 1 keeps only the newest)", () => {
    const gen = createLoadGenerator({ kind: "counter", maxCardinality: 1 }, clock);
    const updates = updatesBetween(gen, 0n, 5n).get(0)!;
    const rows = (t: bigint): Array<[Row, number]> => collectionAsOf(updates, t);
    expect(rows(0n)).toEqual([[[1n], 1]]);
    expect(rows(4n)).toEqual([[[5n], 1]]);
  });

  it("rejects negative ticks", () => {
    const gen = createLoadGenerator({ kind: "counter" }, clock);
    expect(() => gen.updatesAt(-1n)).toThrow(InvalidTick);
  });
});
