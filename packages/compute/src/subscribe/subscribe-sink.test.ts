/**
 * The subscribe sink's batches: consolidated, contiguous, and — when the buffered updates are
 * already strictly in (time, row) order (issue 16) — the very updates it buffered, not a
 * re-consolidated copy.
 */
import { createGraph, createInput } from "@mzts/dataflow";
import type { SubscribeResponse } from "@mzts/protocol";
import { describe, expect, it, vi } from "vitest";
import { SubscribeSink } from "./subscribe-sink.js";

/**
 * How many arrays of updates (`[row, time, diff]` tuples) were sorted while `f` ran. Consolidation
 * sorts every batch it builds; a batch emitted as buffered is never sorted. (Observed on
 * `Array.prototype.sort`, restored at once, rather than by mocking `@mzts/repr`: the package's
 * files share one module cache, where a module mock would not reliably apply.)
 */
function updateSortsDuring(f: () => void): number {
  const sort = vi.spyOn(Array.prototype, "sort");
  try {
    f();
    return sort.mock.contexts.filter(
      (c) =>
        Array.isArray(c) && Array.isArray(c[0]) && c[0].length === 3 && typeof c[0][1] === "bigint",
    ).length;
  } finally {
    sort.mockRestore();
  }
}

function sink() {
  const g = createGraph();
  const input = createInput(g);
  const out: SubscribeResponse[] = [];
  new SubscribeSink(g, input.output, {
    id: "t1",
    asOf: 0n,
    until: null,
    emit: (r) => out.push(r),
  });
  return { g, input, out };
}

const updatesOf = (r: SubscribeResponse | undefined) =>
  r?.kind === "batch" && r.result.kind === "updates" ? r.result.updates : undefined;

describe("SubscribeSink", () => {
  it("consolidates an unordered batch (sums, drops zeros, sorts by time then row)", () => {
    const { g, input, out } = sink();
    input.send([
      [["b"], 1n, 1],
      [["a"], 1n, 1],
      [["b"], 1n, 1],
      [["c"], 0n, 1],
      [["c"], 0n, -1],
      [["z"], 0n, 2],
    ]);
    input.advanceTo(2n);
    expect(updateSortsDuring(() => g.run())).toBe(1);
    expect(out).toEqual([
      {
        kind: "batch",
        lower: 0n,
        upper: 2n,
        result: {
          kind: "updates",
          updates: [
            [["z"], 0n, 2],
            [["a"], 1n, 1],
            [["b"], 1n, 2],
          ],
        },
      },
    ]);
  });

  it("emits strictly ordered updates as they are, without re-consolidating them", () => {
    const { g, input, out } = sink();
    input.send([
      [["a", 1n], 1n, -1],
      [["a", 2n], 1n, 1],
      [["b", 1n], 1n, -1],
    ]);
    input.advanceTo(2n);
    let sorts = updateSortsDuring(() => g.run());
    expect(updatesOf(out[0])).toEqual([
      [["a", 1n], 1n, -1],
      [["a", 2n], 1n, 1],
      [["b", 1n], 1n, -1],
    ]);
    input.send([[["c"], 2n, 1]]);
    input.advanceTo(3n);
    sorts += updateSortsDuring(() => g.run());
    expect(updatesOf(out[1])).toEqual([[["c"], 2n, 1]]);
    expect(sorts).toBe(0);
  });
});
