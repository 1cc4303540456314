/**
 * `forwardRuns`: runs of commands with bytes become one buffer each, in order; the others (and,
 * with `minRun`, runs too short) stay single.
 */
import { describe, expect, it } from "vitest";
import { forwardRuns } from "./messages.js";

const enc = new TextEncoder();
const dec = new TextDecoder();
const frameOf = (c: string) => (c.startsWith("f") ? enc.encode(c) : undefined);
type Out = { packed: string[] } | { single: string };
const packed = (bytes: Uint8Array, ends: readonly number[]): Out => ({
  packed: ends.map((end, i) => dec.decode(bytes.subarray(i === 0 ? 0 : ends[i - 1], end))),
});
const single = (c: string): Out => ({ single: c });

describe("forwardRuns", () => {
  it("packs each run of commands with bytes into one buffer, in order", () => {
    expect(forwardRuns(["f1", "f22", "o3", "f4", "o5"], frameOf, packed, single)).toEqual([
      { packed: ["f1", "f22"] },
      { single: "o3" },
      { packed: ["f4"] },
      { single: "o5" },
    ]);
    expect(forwardRuns(["f1"], undefined, packed, single)).toEqual([{ single: "f1" }]);
  });

  it("keeps runs shorter than minRun single", () => {
    expect(forwardRuns(["f1", "o2", "f3", "f4", "f5"], frameOf, packed, single, 2)).toEqual([
      { single: "f1" },
      { single: "o2" },
      { packed: ["f3", "f4", "f5"] },
    ]);
    expect(forwardRuns(["f1"], frameOf, packed, single, 2)).toEqual([{ single: "f1" }]);
  });
});
