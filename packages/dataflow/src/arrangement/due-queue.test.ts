import { describe, expect, it } from "vitest";
import { prng as rng } from "../../test/harness.js";
import { DueQueue } from "./due-queue.js";

describe("DueQueue", () => {
  it("pops in key order, keys mostly ascending with some out of order (against a sorted reference)", () => {
    for (let seed = 1; seed <= 20; seed++) {
      const r = rng(seed);
      const q = new DueQueue<number>();
      const ref: Array<[bigint, number]> = [];
      let now = 0n;
      for (let step = 0; step < 3000; step++) {
        const x = r();
        if (x < 0.55) {
          // At the current time (the run), behind it (the heap) or ahead of it.
          const y = r();
          const k =
            y < 0.75
              ? now
              : y < 0.9
                ? now - BigInt(Math.floor(r() * 20))
                : now + BigInt(Math.floor(r() * 5));
          q.push(k, step);
          ref.push([k, step]);
        } else if (x < 0.65) now += 1n;
        else {
          let want: bigint | undefined;
          for (const [k] of ref) if (want === undefined || k < want) want = k;
          expect(q.peekKey(), `seed ${seed} step ${step}`).toBe(want);
          const v = q.pop();
          if (want === undefined) expect(v).toBeUndefined();
          else {
            // Ties pop in any order: the value must be one of the smallest key's.
            const i = ref.findIndex(([k, w]) => k === want && w === v);
            expect(i, `seed ${seed} step ${step}`).toBeGreaterThanOrEqual(0);
            ref.splice(i, 1);
          }
        }
        expect(q.size).toBe(ref.length);
      }
      q.clear();
      expect([q.size, q.peekKey(), q.pop()]).toEqual([0, undefined, undefined]);
    }
  });

  it("drains a long ascending run in order, interleaved with pushes (its dead front dropped)", () => {
    const q = new DueQueue<bigint>();
    let next = 0n;
    for (let t = 0n; t < 5000n; t++) {
      q.push(t, t);
      q.push(t, t);
      if (t % 3n === 2n) {
        for (let i = 0; i < 5; i++) {
          expect(q.pop()).toBe(next / 2n);
          next++;
        }
      }
    }
    expect(q.size).toBe(10_000 - Number(next));
  });
});
