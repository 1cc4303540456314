/**
 * Pure state transitions: batch appends, the since as the meet of readers, compaction planning
 * (size-tiered runs) and replacement, and the invariant checker.
 */
import { InvariantViolation } from "@mzts/repr";
import { describe, expect, it } from "vitest";
import {
  type BatchMeta,
  checkState,
  compactablePrefix,
  initialState,
  planCompaction,
  planMerge,
  replaceBatches,
  type ShardState,
  sinceFromReaders,
  uncompactedTail,
  wantsCompaction,
  withBatch,
} from "./state.js";

const batch = (
  lower: bigint,
  upper: bigint | null,
  bytes: number,
  key: string | null = `s/${lower}`,
): BatchMeta => ({
  key,
  lower,
  upper,
  count: bytes,
  bytes,
});

function stateOf(sizes: number[], since: bigint): ShardState {
  let s = initialState("s", 0);
  sizes.forEach((size, i) => {
    s = withBatch(s, batch(BigInt(i), BigInt(i + 1), size));
  });
  return { ...s, since };
}

describe("withBatch", () => {
  it("appends and moves the upper; consecutive empty batches merge", () => {
    let s = initialState("s", 0);
    s = withBatch(s, batch(0n, 5n, 10));
    s = withBatch(s, batch(5n, 7n, 0, null));
    s = withBatch(s, batch(7n, 9n, 0, null));
    expect(s.upper).toBe(9n);
    expect(s.batches.map((b) => [b.lower, b.upper])).toEqual([
      [0n, 5n],
      [5n, 9n],
    ]);
    checkState(s);
  });
});

describe("sinceFromReaders", () => {
  it("is the meet of the readers, never behind the current since, unchanged without readers", () => {
    const h = (since: bigint | null) => ({ since, heartbeatMs: 0 });
    expect(sinceFromReaders(5n, { a: h(9n), b: h(7n) })).toBe(7n);
    expect(sinceFromReaders(5n, { a: h(null) })).toBe(null);
    expect(sinceFromReaders(8n, { a: h(7n) })).toBe(8n);
    expect(sinceFromReaders(5n, {})).toBe(5n);
  });
});

describe("planCompaction", () => {
  it("only considers batches entirely below the since", () => {
    const s = stateOf([10, 10, 10, 10], 2n);
    expect(compactablePrefix(s)).toHaveLength(2);
    expect(planCompaction(s, 64)?.map((b) => b.lower)).toEqual([0n, 1n]);
    expect(planCompaction(stateOf([10, 10], 1n), 64)).toBeUndefined();
  });

  it("merges similar sizes and leaves a much larger old batch alone", () => {
    expect(planCompaction(stateOf([10, 10, 10, 10], 4n), 64)).toHaveLength(4);
    const tiered = planCompaction(stateOf([10_000, 10, 10, 10], 4n), 64);
    expect(tiered?.map((b) => b.lower)).toEqual([1n, 2n, 3n]);
    // Once the new data is comparable, the old batch joins.
    expect(planCompaction(stateOf([100, 40, 30, 20, 10], 5n), 64)).toHaveLength(5);
  });

  it("bounds a run by maxBatches, keeping the newest", () => {
    expect(planCompaction(stateOf([1, 1, 1, 1, 1, 1], 6n), 3)?.map((b) => b.lower)).toEqual([
      3n,
      4n,
      5n,
    ]);
  });

  it("merging repeatedly rewrites each update O(log n) times", () => {
    let s = initialState("s", 0);
    let rewritten = 0;
    const n = 512;
    for (let i = 0; i < n; i++) {
      s = { ...withBatch(s, batch(BigInt(i), BigInt(i + 1), 1)), since: BigInt(i + 1) };
      for (;;) {
        const run = planCompaction(s, 64);
        if (run === undefined || run.length < 2) break;
        const bytes = run.reduce((a, b) => a + b.bytes, 0);
        rewritten += bytes;
        const merged = {
          ...batch(run[0]!.lower, run[run.length - 1]!.upper, bytes),
          since: s.since as bigint,
        };
        s = replaceBatches(s, run, merged)!;
      }
    }
    expect(rewritten / n).toBeLessThan(2 * Math.log2(n));
    expect(s.batches.length).toBeLessThanOrEqual(2 * Math.log2(n));
  });
});

describe("planMerge", () => {
  it("merges the tail beyond the since only once it is long, leaving the prefix alone", () => {
    // 2 batches below the since (4 ≤ 2), 15 beyond: short of 4 × 4.
    const short = stateOf([10, 10, ...Array<number>(15).fill(1)], 2n);
    expect(uncompactedTail(short)).toHaveLength(15);
    expect(planMerge(short, 64, 4)).toBeUndefined();
    expect(wantsCompaction(short, 4)).toBe(false);
    const long = stateOf([10, 10, ...Array<number>(16).fill(1)], 2n);
    expect(wantsCompaction(long, 4)).toBe(true);
    const run = planMerge(long, 64, 4)!;
    expect(run.map((b) => b.lower)).toEqual(Array.from({ length: 16 }, (_, i) => BigInt(i + 2)));
    // The prefix (below the since) still triggers on its own.
    expect(wantsCompaction(stateOf([1, 1, 1, 1, 1], 4n), 4)).toBe(true);
  });
});

describe("replaceBatches", () => {
  it("replaces a present run and reports a run that is gone", () => {
    const s = stateOf([1, 1, 1], 3n);
    const run = s.batches.slice(0, 2);
    const merged = { ...batch(0n, 2n, 2, "s/m"), since: 3n };
    const next = replaceBatches(s, run, merged)!;
    expect(next.batches.map((b) => b.key)).toEqual(["s/m", "s/2"]);
    checkState(next);
    expect(replaceBatches(next, run, merged)).toBeUndefined();
  });
});

describe("checkState", () => {
  it("catches gaps, bad uppers and a since beyond the upper", () => {
    const s = stateOf([1, 1], 0n);
    expect(() => checkState({ ...s, batches: [s.batches[1]!] })).toThrow(InvariantViolation);
    expect(() => checkState({ ...s, upper: 5n })).toThrow(InvariantViolation);
    expect(() => checkState({ ...s, since: 3n })).toThrow(InvariantViolation);
    expect(() => checkState({ ...s, dropped: true })).toThrow(InvariantViolation);
  });
});
