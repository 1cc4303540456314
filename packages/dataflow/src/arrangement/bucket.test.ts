import type { Row } from "@mzts/repr";
import { describe, expect, it } from "vitest";
import { prng } from "../../test/harness.js";
import { Arrangement } from "./arrangement.js";

const show = (row: Row) => row.map(String).join(",");
const sorted = (xs: Array<[Row, number]>) => xs.map(([r, n]) => `${show(r)}×${n}`).sort();

/** The naive model: every update kept, reads summed from scratch. */
function modelAsOf(all: ReadonlyArray<[Row, bigint, number]>, t: bigint, key?: bigint): string[] {
  const sums = new Map<string, [Row, number]>();
  for (const [row, at, d] of all) {
    if (at > t || (key !== undefined && row[0] !== key)) continue;
    const k = show(row);
    const s = sums.get(k);
    if (s) s[1] += d;
    else sums.set(k, [row, d]);
  }
  return sorted([...sums.values()].filter(([, n]) => n !== 0));
}

describe("Arrangement key buckets (arrays, then a map past SMALL_BUCKET entries)", () => {
  it("agree with a naive model while keys grow past 32 rows and shrink back under compaction", () => {
    // Few keys, many rows per key (up to 80 distinct values): buckets pass from one entry to
    // arrays, to a map, and lose entries to compaction in every position (oldest, newest, middle).
    for (let seed = 1; seed <= 8; seed++) {
      const r = prng(seed);
      const a = new Arrangement("b", [0]);
      const all: Array<[Row, bigint, number]> = [];
      /** Live rows by their text (a retraction passes the very object inserted). */
      const live = new Map<string, Row>();
      let since = 0n;
      let t = 0n;
      const width = seed <= 4 ? 40 : 80;
      for (let step = 0; step < 400; step++) {
        const x = r();
        if (x < 0.75) {
          const row: Row = [BigInt(Math.floor(r() * 3)), BigInt(Math.floor(r() * width))];
          const held = live.get(show(row));
          if (held !== undefined && r() < 0.5) {
            a.insert(held, t, -1);
            all.push([held, t, -1]);
            live.delete(show(row));
          } else if (held === undefined) {
            a.insert(row, t, 1);
            all.push([row, t, 1]);
            live.set(show(row), row);
          }
        } else if (x < 0.92) t += 1n;
        else if (since < t) {
          since += BigInt(Math.ceil(r() * Number(t - since)));
          a.allowCompaction(since);
        }
        a.advanceUpper(t + 1n);
        const read = since + BigInt(Math.floor(r() * Number(t - since + 1n)));
        const where = `seed ${seed} step ${step} read ${read}`;
        expect(sorted(a.asOf(read)), where).toEqual(modelAsOf(all, read));
        const k = BigInt(Math.floor(r() * 3));
        expect(sorted(a.lookup([k], read)), where).toEqual(modelAsOf(all, read, k));
        expect(sorted(a.current()), where).toEqual(modelAsOf(all, t));
        expect(a.count, where).toBe(all.reduce((s, [, , d]) => s + d, 0));
      }
      expect(a.size).toBeGreaterThan(0);
    }
  });

  it("keep a row's updates on one entry when its value comes back (arrays and map)", () => {
    const a = new Arrangement("b", [0]);
    // 40 rows of key 1 (a map past 32), then the first row again: the same entry, no second pair.
    for (let v = 0n; v < 40n; v++) a.insert([1n, v], v, 1);
    a.insert([1n, 0n], 40n, 1);
    a.advanceUpper(41n);
    expect(a.size).toBe(40);
    expect(sorted(a.lookup([1n], 40n)).filter((s) => s.startsWith("1,0×"))).toEqual(["1,0×2"]);
    // Every entry cancelled and compacted away: the key is gone.
    for (let v = 0n; v < 40n; v++) a.insert([1n, v], 41n, v === 0n ? -2 : -1);
    a.advanceUpper(42n);
    a.allowCompaction(41n);
    expect(a.size).toBe(0);
    expect(a.keyCount).toBe(0);
  });
});
