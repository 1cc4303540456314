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
  const s = new SubscribeSink(g, input.output, {
    id: "t1",
    asOf: 0n,
    until: null,
    emit: (r) => out.push(r),
  });
  return { g, input, out, sink: s };
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

  it("fail ends it with one error batch [lower, ∅); nothing follows, not even droppedAt", () => {
    const { g, input, out, sink: s } = sink();
    input.send([[["a"], 0n, 1]]);
    input.advanceTo(2n);
    g.run();
    input.send([[["b"], 2n, 1]]);
    expect(s.fail("its dataflow is stalled: source u1 stopped")).toBe(true);
    expect(out[1]).toEqual({
      kind: "batch",
      lower: 2n,
      upper: null,
      result: { kind: "error", message: "its dataflow is stalled: source u1 stopped" },
    });
    // A failed subscribe is not complete: its frontier stays at its last batch of updates.
    expect(s.frontier).toBe(2n);
    expect(s.done).toBe(true);
    input.send([[["c"], 3n, 1]]);
    input.advanceTo(5n);
    g.run();
    s.drop();
    expect(s.fail("again")).toBe(false);
    expect(out).toHaveLength(2);
  });

  it("fail after the final batch sends nothing", () => {
    const { g, input, out, sink: s } = sink();
    input.close();
    g.run();
    expect(out).toHaveLength(1);
    expect(s.fail("late")).toBe(false);
    expect(out).toHaveLength(1);
  });
});
