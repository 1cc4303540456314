import { describe, expect, it } from "vitest";
import { Batch } from "./batch.js";
import { PendingUpdates } from "./pending.js";

const batch = (...us: Array<[string, bigint, number]>) =>
  Batch.fromUpdates(us.map(([r, t, d]) => [[r], t, d]));

describe("PendingUpdates", () => {
  it("hands ready single-time batches over as they are, and nothing when none is held", () => {
    const p = new PendingUpdates();
    expect(p.takeReady(5n)).toHaveLength(0);
    // Nothing ready allocates nothing: the same (frozen) empty answer every time.
    expect(p.takeReady(5n)).toBe(p.takeReady(9n));
    const a = batch(["a", 3n, 1]);
    const b = batch(["b", 3n, 1], ["c", 3n, -1]);
    p.push(a);
    p.push(b);
    const groups = p.takeReady(4n);
    expect(groups).toHaveLength(1);
    expect(groups[0]!.time).toBe(3n);
    expect(groups[0]!.batches[0]).toBe(a);
    expect(groups[0]!.batches[1]).toBe(b);
    expect(p.size).toBe(0);
    expect(p.takeReady(10n)).toHaveLength(0);
  });

  it("keeps what is not ready, splits straddling batches and groups by time, ascending", () => {
    const p = new PendingUpdates();
    p.push(batch(["a", 7n, 1], ["b", 2n, 1]));
    p.push(batch(["c", 9n, 1]));
    p.push(batch(["d", 2n, 1], ["e", 5n, 1]));
    const groups = p.takeReady(6n);
    expect(groups.map((g) => g.time)).toEqual([2n, 5n]);
    expect(groups[0]!.batches.flatMap((b) => b.toUpdates())).toEqual([
      [["b"], 2n, 1],
      [["d"], 2n, 1],
    ]);
    expect(groups[1]!.batches.flatMap((b) => b.toUpdates())).toEqual([[["e"], 5n, 1]]);
    expect(p.size).toBe(2);
    // Ready at one time after the split: one group of the split-off part.
    const next = p.takeReady(8n);
    expect(next.map((g) => g.time)).toEqual([7n]);
    expect(next[0]!.batches.flatMap((b) => b.toUpdates())).toEqual([[["a"], 7n, 1]]);
    const rest = p.takeReady(null);
    expect(rest.map((g) => g.time)).toEqual([9n]);
    expect(p.size).toBe(0);
  });

  it("answers one ready batch a tick in a reused group, right every tick", () => {
    const p = new PendingUpdates();
    const seen: string[] = [];
    let first: unknown;
    for (let t = 0n; t < 5n; t++) {
      const b = batch([`r${t}`, t, 1]);
      p.push(b);
      const groups = p.takeReady(t + 1n);
      first ??= groups;
      // The same (reused) answer each tick, holding this tick's batch.
      expect(groups).toBe(first);
      expect(groups).toHaveLength(1);
      expect(groups[0]!.time).toBe(t);
      expect(groups[0]!.batches).toHaveLength(1);
      expect(groups[0]!.batches[0]).toBe(b);
      for (const g of groups) for (const x of g.batches) seen.push(String(x.rows[0]![0]));
      expect(p.size).toBe(0);
    }
    expect(seen).toEqual(["r0", "r1", "r2", "r3", "r4"]);
  });
});
