/**
 * The subscribe sink's batches: consolidated, contiguous, and — when the buffered updates are
 * already strictly in (time, row) order (issue 16) — the very updates it buffered, not a
 * re-consolidated copy.
 */
import { createGraph, createInput } from "@mzts/dataflow";
import type { SubscribeResponse } from "@mzts/protocol";
import { consolidateUpdates } from "@mzts/repr";
import { describe, expect, it, vi } from "vitest";
import { SubscribeSink } from "./subscribe-sink.js";

vi.mock("@mzts/repr", async (original) => {
  const repr = await original<typeof import("@mzts/repr")>();
  return { ...repr, consolidateUpdates: vi.fn(repr.consolidateUpdates) };
});

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
    vi.mocked(consolidateUpdates).mockClear();
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
    g.run();
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
    expect(consolidateUpdates).toHaveBeenCalledTimes(1);
  });

  it("emits strictly ordered updates as they are, without re-consolidating them", () => {
    vi.mocked(consolidateUpdates).mockClear();
    const { g, input, out } = sink();
    input.send([
      [["a", 1n], 1n, -1],
      [["a", 2n], 1n, 1],
      [["b", 1n], 1n, -1],
    ]);
    input.advanceTo(2n);
    g.run();
    expect(updatesOf(out[0])).toEqual([
      [["a", 1n], 1n, -1],
      [["a", 2n], 1n, 1],
      [["b", 1n], 1n, -1],
    ]);
    input.send([[["c"], 2n, 1]]);
    input.advanceTo(3n);
    g.run();
    expect(updatesOf(out[1])).toEqual([[["c"], 2n, 1]]);
    expect(consolidateUpdates).not.toHaveBeenCalled();
  });
});
