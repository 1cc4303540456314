import { type Row, rowKey } from "@mzts/repr";
import { describe, expect, it } from "vitest";
import { prng as rng } from "../../test/harness.js";
import { keyFunction } from "../operators/key.js";
import { Arrangement } from "./arrangement.js";
import { bucketBytes, entryBytes, UPDATE_BYTES } from "./size.js";

/** The bytes recomputed from the history: every entry and key bucket once, every update. */
function recountBytes(a: Arrangement): number {
  const keyOf = keyFunction([0]);
  const rows = new Map<string, Row>();
  const keys = new Set<string | number>();
  for (const [row] of a.updates()) {
    rows.set(rowKey(row), row);
    keys.add(keyOf(row));
  }
  let n = a.updates().length * UPDATE_BYTES;
  for (const row of rows.values()) n += entryBytes(row, a.rowKeyOf(row));
  for (const k of keys) n += bucketBytes(k);
  return n;
}

describe("Arrangement sizes", () => {
  it("counts held updates, distinct times (forwarded to the since) and bytes", () => {
    const a = new Arrangement("t", [0]);
    expect([a.updateCount, a.timeCount, a.sizeBytes]).toEqual([0, 0, 0]);
    a.insert(["k", 1n], 1n, 1);
    a.insert(["k", 2n], 1n, 1);
    a.insert(["k", 1n], 2n, -1);
    a.insert(["j", "x"], 3n, 2);
    a.advanceUpper(4n);
    expect(a.updateCount).toBe(4);
    expect(a.timeCount).toBe(3);
    expect(a.sizeBytes).toBe(recountBytes(a));
    // Compaction to 2: ["k",1n] collapses to nothing, times 1 and 2 become one.
    a.allowCompaction(2n);
    expect(a.updateCount).toBe(2);
    expect(a.timeCount).toBe(2);
    a.insert(["j", "x"], 5n, -2);
    a.insert(["k", 2n], 5n, -1);
    a.advanceUpper(6n);
    a.allowCompaction(6n);
    expect([a.updateCount, a.timeCount, a.sizeBytes, a.size]).toEqual([0, 0, 0, 0]);
  });

  it("keeps the counters equal to a recount over random inserts and compactions", () => {
    for (let seed = 1; seed <= 20; seed++) {
      const r = rng(seed);
      const a = new Arrangement("t", [0]);
      let t = 0n;
      let since = 0n;
      for (let step = 0; step < 300; step++) {
        const x = r();
        if (x < 0.75) {
          const row = [BigInt(Math.floor(r() * 6)), r() < 0.5 ? "a" : `s${Math.floor(r() * 3)}`];
          a.insert(row, t, r() < 0.6 ? 1 : -1);
        } else if (x < 0.9) {
          t += BigInt(1 + Math.floor(r() * 2));
          a.advanceUpper(t);
        } else {
          since += BigInt(Math.floor(r() * 3));
          if (since > t) since = t;
          a.allowCompaction(since);
        }
        const held = a.updates();
        expect(a.updateCount).toBe(held.length);
        expect(a.timeCount).toBe(new Set(held.map(([, tt]) => tt)).size);
        expect(a.sizeBytes).toBe(recountBytes(a));
        expect(a.count).toBe(held.reduce((n, [, , d]) => n + d, 0));
      }
      expect(a.sizeBytes).toBe(recountBytes(a));
      a.allowCompaction(null);
      expect([a.updateCount, a.timeCount, a.sizeBytes]).toEqual([0, 0, 0]);
    }
  });

  it("estimates an entry from its row: wider and longer rows cost more", () => {
    expect(entryBytes([1n, "abc"], "k")).toBeLessThan(entryBytes([1n, "abcdef"], "k"));
    expect(entryBytes([1n], "k")).toBeLessThan(entryBytes([1n, 2n], "k"));
    expect(entryBytes([null, true], "k")).toBe(entryBytes([false, null], "k"));
  });
});
