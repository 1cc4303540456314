import { describe, expect, it } from "vitest";
import { prng as rng } from "../../test/harness.js";
import { TimeCounts } from "./time-counts.js";

/** The naive model: a map time → count, zero counts dropped, times below the since forwarded. */
class Model {
  readonly counts = new Map<bigint, number>();
  add(t: bigint, n: number): void {
    const c = (this.counts.get(t) ?? 0) + n;
    if (c === 0) this.counts.delete(t);
    else this.counts.set(t, c);
  }
  advance(since: bigint): void {
    let below = 0;
    for (const [t, n] of this.counts) {
      if (t < since) {
        below += n;
        this.counts.delete(t);
      }
    }
    if (below !== 0) this.add(since, below);
  }
}

describe("TimeCounts", () => {
  it("keeps the distinct times of a naive map model over random adds, removals and advances", () => {
    for (let seed = 1; seed <= 40; seed++) {
      const r = rng(seed);
      const tc = new TimeCounts();
      const model = new Model();
      let since = 0n;
      let t = 0n;
      for (let step = 0; step < 2000; step++) {
        const x = r();
        if (x < 0.45) {
          // Mostly at the newest time, sometimes at the since or anywhere held (out of order).
          const y = r();
          const at =
            y < 0.7
              ? t
              : y < 0.85
                ? since
                : since + BigInt(Math.floor(r() * Number(t - since + 1n)));
          const n = 1 + Math.floor(r() * 3);
          tc.add(at, n);
          model.add(at, n);
        } else if (x < 0.75) {
          // Remove some updates that are held (counts never go negative).
          const held = [...model.counts];
          if (held.length === 0) continue;
          const [at, c] = held[Math.floor(r() * held.length)]!;
          const n = r() < 0.5 ? c : 1 + Math.floor(r() * c);
          tc.add(at, -n);
          model.add(at, -n);
        } else if (x < 0.92) t += BigInt(1 + Math.floor(r() * 2));
        else {
          since += BigInt(Math.floor(r() * Number(t - since + 1n)));
          tc.advance(since);
          model.advance(since);
        }
        expect(tc.size, `seed ${seed} step ${step}`).toBe(model.counts.size);
      }
      tc.clear();
      expect(tc.size).toBe(0);
    }
  });

  it("drops the compacted front of a long ascending run (slots are reused)", () => {
    const tc = new TimeCounts();
    for (let t = 0n; t < 10_000n; t++) {
      tc.add(t, 1);
      if (t >= 2n) tc.advance(t - 2n);
      expect(tc.size).toBe(t >= 2n ? 3 : Number(t) + 1);
    }
  });
});
