import type { Row } from "@mzts/repr";
import { describe, expect, it } from "vitest";
import { prng } from "../../test/harness.js";
import { Arrangement, type EntryRef } from "./arrangement.js";

const show = (row: Row) => row.map(String).join(",");

/** Everything a reader can see of an arrangement, order-independent. */
function snapshot(a: Arrangement, reads: bigint[]) {
  const sorted = (xs: Array<[Row, number]>) => xs.map(([r, n]) => `${show(r)}×${n}`).sort();
  return {
    history: a
      .updates()
      .map(([r, t, d]) => `${show(r)}@${t}:${d}`)
      .sort(),
    current: sorted(a.current()),
    reads: reads.map((t) => sorted(a.asOf(t))),
    count: a.count,
    size: a.size,
    keys: a.keyCount,
    updates: a.updateCount,
    times: a.timeCount,
    bytes: a.sizeBytes,
  };
}

describe("Arrangement entry refs (insertEntry / updateEntry)", () => {
  it("leave the arrangement exactly as plain inserts do, whatever happened to the entry meanwhile", () => {
    // Log-table shaped (a key's row replaced now and then, values coming back) plus random
    // updates through stale refs (entries compacted away or cancelled), out-of-order times and
    // compactions: every path of `updateEntry` (live entry, removed entry, inline, arrays).
    for (let seed = 1; seed <= 25; seed++) {
      const r = prng(seed);
      const plain = new Arrangement("plain", [0]);
      const refs = new Arrangement("refs", [0]);
      const held = new Map<string, EntryRef | undefined>();
      let since = 0n;
      let t = 0n;
      for (let step = 0; step < 400; step++) {
        const x = r();
        if (x < 0.7) {
          const at =
            r() < 0.8 || t === since ? t : since + BigInt(Math.floor(r() * Number(t - since)));
          const row: Row = [BigInt(Math.floor(r() * 3)), BigInt(Math.floor(r() * 4))];
          const d = r() < 0.55 ? 1 : -1;
          plain.insert(row, at, d);
          const k = show(row);
          const ref = held.get(k);
          const got =
            ref !== undefined && r() < 0.8
              ? refs.updateEntry(ref, at, d)
              : refs.insertEntry(row, at, d, refs.keyOf(row), refs.rowKeyOf(row));
          held.set(k, got);
        } else if (x < 0.85) t += 1n;
        else if (since < t) {
          since += BigInt(Math.ceil(r() * Number(t - since)));
          plain.allowCompaction(since);
          refs.allowCompaction(since);
        }
        plain.advanceUpper(t + 1n);
        refs.advanceUpper(t + 1n);
        const reads = [since, t];
        expect(snapshot(refs, reads), `seed ${seed} step ${step}`).toEqual(snapshot(plain, reads));
      }
    }
  });

  it("trackRows: finds a held row's entry by identity and leaves the arrangement as plain inserts do", () => {
    // Key [0]; rows are retracted as the same object (the log tables' shape), as an equal copy
    // (found by key), or never inserted at all (a negative count), under compactions.
    for (let seed = 1; seed <= 25; seed++) {
      const r = prng(seed);
      const plain = new Arrangement("plain", [0]);
      const tracked = new Arrangement("tracked", [0]);
      tracked.trackRows([1]);
      const objects: Row[] = [];
      let since = 0n;
      let t = 0n;
      for (let step = 0; step < 400; step++) {
        const x = r();
        if (x < 0.7) {
          const at =
            r() < 0.8 || t === since ? t : since + BigInt(Math.floor(r() * Number(t - since)));
          const fresh: Row = [BigInt(Math.floor(r() * 3)), BigInt(Math.floor(r() * 4))];
          const row =
            objects.length > 0 && r() < 0.6 ? objects[Math.floor(r() * objects.length)]! : fresh;
          if (row === fresh) objects.push(fresh);
          const copy = r() < 0.2 ? row.slice() : row;
          const d = r() < 0.5 ? 1 : -1;
          plain.insert(copy, at, d);
          tracked.insert(copy, at, d);
        } else if (x < 0.85) t += 1n;
        else if (since < t) {
          since += BigInt(Math.ceil(r() * Number(t - since)));
          plain.allowCompaction(since);
          tracked.allowCompaction(since);
        }
        plain.advanceUpper(t + 1n);
        tracked.advanceUpper(t + 1n);
        const reads = [since, t];
        // The row keys are shorter (value columns only): the byte estimate differs, nothing else.
        const { bytes: _a, ...want } = snapshot(plain, reads);
        const { bytes: _b, ...got } = snapshot(tracked, reads);
        expect(got, `seed ${seed} step ${step}`).toEqual(want);
      }
    }
  });

  it("an update through a ref after the arrangement was released changes nothing", () => {
    const a = new Arrangement("t", [0]);
    const ref = a.insertEntry([1n, 2n], 1n, 1, a.keyOf([1n, 2n]), a.rowKeyOf([1n, 2n]))!;
    a.allowCompaction(null);
    expect(a.updateEntry(ref, 2n, -1)).toBeUndefined();
    expect(a.size).toBe(0);
    expect(a.count).toBe(0);
  });
});
