import { describe, expect, it } from "vitest";
import { prng as rng } from "../../test/harness.js";
import { TimeHeap } from "./time-heap.js";

describe("TimeHeap", () => {
  it("pops in key order, interleaved with pushes (against a sorted reference)", () => {
    for (let seed = 1; seed <= 20; seed++) {
      const r = rng(seed);
      const heap = new TimeHeap<number>();
      const ref: Array<[bigint, number]> = [];
      for (let step = 0; step < 500; step++) {
        if (r() < 0.6) {
          const k = BigInt(Math.floor(r() * 50));
          heap.push(k, step);
          ref.push([k, step]);
        } else {
          ref.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
          const want = ref[0]?.[0];
          expect(heap.peekKey()).toBe(want);
          const v = heap.pop();
          if (want === undefined) expect(v).toBeUndefined();
          else {
            // Ties pop in any order: the value must be one of the smallest key's.
            const i = ref.findIndex(([k, x]) => k === want && x === v);
            expect(i).toBeGreaterThanOrEqual(0);
            ref.splice(i, 1);
          }
        }
        expect(heap.size).toBe(ref.length);
      }
      heap.clear();
      expect([heap.size, heap.peekKey(), heap.pop()]).toEqual([0, undefined, undefined]);
    }
  });
});
