/**
 * `SendCoalescer`'s cap (issue 16: 256 API peeks in flight left in one message per replica at the
 * end of environmentd's turn, and travelled as one convoy): a turn that adds more than
 * `maxBatch` commands flushes every `maxBatch` at once, in order; the rest at the end of the turn.
 */
import { describe, expect, it } from "vitest";
import { SEND_BATCH_MAX, SendCoalescer } from "./send-coalescer.js";

const turn = () => new Promise<void>((r) => setImmediate(r));

describe("SendCoalescer cap", () => {
  it("flushes every maxBatch commands at once, the rest at the end of the turn", async () => {
    const flushed: number[][] = [];
    const c = new SendCoalescer<number>((cs) => flushed.push([...cs]));
    for (let i = 0; i < 2 * SEND_BATCH_MAX + 22; i++) c.add([i]);
    expect(flushed.map((b) => b.length)).toEqual([SEND_BATCH_MAX, SEND_BATCH_MAX]);
    expect(c.pending).toBe(22);
    await turn();
    expect(flushed.map((b) => b.length)).toEqual([SEND_BATCH_MAX, SEND_BATCH_MAX, 22]);
    expect(flushed.flat()).toEqual(Array.from({ length: 2 * SEND_BATCH_MAX + 22 }, (_, i) => i));
  });

  it("keeps one add's commands together; a smaller cap; refuses a cap below 1", async () => {
    const flushed: number[][] = [];
    const c = new SendCoalescer<number>((cs) => flushed.push([...cs]), 3);
    c.add([1, 2]);
    c.add([3, 4]); // reaches 4 ≥ 3: flushed now, whole
    expect(flushed).toEqual([[1, 2, 3, 4]]);
    c.add([5]);
    await turn();
    expect(flushed).toEqual([[1, 2, 3, 4], [5]]);
    expect(() => new SendCoalescer<number>(() => {}, 0)).toThrow(RangeError);
  });
});
