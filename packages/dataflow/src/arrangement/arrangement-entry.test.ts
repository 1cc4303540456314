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

/**
 * A naive arrangement for the reuse test: every row's (time → diff) map, times at or below the
 * since forwarded to it and merged eagerly (zero sums dropped): what an `Arrangement`'s reads
 * and counts must show, built without any of its code.
 */
class NaiveHistory {
  readonly #rows = new Map<string, { row: Row; at: Map<bigint, number> }>();
  #since = 0n;

  insert(row: Row, time: bigint, diff: number): void {
    const k = show(row);
    let r = this.#rows.get(k);
    if (r === undefined) this.#rows.set(k, (r = { row, at: new Map() }));
    const t = time < this.#since ? this.#since : time;
    const d = (r.at.get(t) ?? 0) + diff;
    if (d === 0) r.at.delete(t);
    else r.at.set(t, d);
    if (r.at.size === 0) this.#rows.delete(k);
  }

  allowCompaction(since: bigint): void {
    this.#since = since;
    for (const [k, r] of [...this.#rows]) {
      let below = 0;
      for (const [t, d] of [...r.at]) {
        if (t > since) continue;
        below += d;
        r.at.delete(t);
      }
      if (below !== 0) r.at.set(since, below);
      if (r.at.size === 0) this.#rows.delete(k);
    }
  }

  snapshot(reads: bigint[]) {
    const sorted = (xs: string[]) => xs.sort();
    const asOf = (t: bigint) => {
      const out: string[] = [];
      for (const r of this.#rows.values()) {
        let n = 0;
        for (const [u, d] of r.at) if (u <= t) n += d;
        if (n !== 0) out.push(`${show(r.row)}×${n}`);
      }
      return sorted(out);
    };
    const history: string[] = [];
    const times = new Set<bigint>();
    let count = 0;
    let updates = 0;
    const keys = new Set<string>();
    const current: string[] = [];
    for (const r of this.#rows.values()) {
      let n = 0;
      for (const [t, d] of r.at) {
        history.push(`${show(r.row)}@${t}:${d}`);
        times.add(t);
        n += d;
        updates++;
      }
      count += n;
      keys.add(show(r.row.slice(0, 2)));
      if (n !== 0) current.push(`${show(r.row)}×${n}`);
    }
    return {
      history: sorted(history),
      current: sorted(current),
      reads: reads.map(asOf),
      count,
      size: this.#rows.size,
      keys: keys.size,
      updates,
      times: times.size,
    };
  }
}

describe("Arrangement entry refs (insertEntry / updateEntry)", () => {
  it("leave the arrangement exactly as plain inserts do, refs kept while their row's count is not zero", () => {
    // Log-table shaped (a key's row replaced now and then, values coming back) plus random
    // updates, out-of-order times and compactions: every path of `updateEntry` (inline, arrays,
    // an entry compacted or cancelled away and its row inserted again, entries reused). A ref is
    // dropped when its row's count goes to zero, as `EntryRef` says.
    for (let seed = 1; seed <= 25; seed++) {
      const r = prng(seed);
      const plain = new Arrangement("plain", [0]);
      const refs = new Arrangement("refs", [0]);
      const held = new Map<string, EntryRef | undefined>();
      const counts = new Map<string, number>();
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
          const count = (counts.get(k) ?? 0) + d;
          counts.set(k, count);
          if (count !== 0) held.set(k, got);
          else held.delete(k);
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

  it("reuse removed entries for new rows: a log table's history reads as a naive model of it does", () => {
    // Every tick each key's row is replaced (the old one retracted through its ref, as the
    // legacy log tables do) and the since trails by a few ticks, so compaction removes as many
    // entries as the tick adds; values come back now and then (entries with three or more
    // times, arrays). Checked against a naive model of the history (not an `Arrangement`) after every tick; entries must be reused.
    for (let seed = 1; seed <= 10; seed++) {
      const r = prng(seed);
      const plain = new NaiveHistory();
      const refs = new Arrangement("refs", [0, 1]);
      const keys = 12;
      const rows: Array<Row | undefined> = [];
      const held: Array<EntryRef | undefined> = [];
      const seen = new Set<EntryRef>();
      let reused = 0;
      for (let t = 0n; t < 60n; t++) {
        for (let k = 0; k < keys; k++) {
          const old = rows[k];
          if (r() < 0.1) {
            // Deleted (or left alone when already deleted).
            if (old !== undefined) {
              plain.insert(old, t, -1);
              refs.updateEntry(held[k]!, t, -1);
            }
            rows[k] = undefined;
            held[k] = undefined;
            continue;
          }
          // Mostly a new value (a log row: a frontier, an elapsed time), now and then an old one.
          const v = r() < 0.2 ? BigInt(Math.floor(r() * 3)) : t * 100n + BigInt(k);
          const row: Row = [BigInt(k % 3), BigInt(k), v];
          if (old !== undefined && old[2] === row[2]) continue;
          if (old !== undefined) {
            plain.insert(old, t, -1);
            refs.updateEntry(held[k]!, t, -1);
          }
          plain.insert(row, t, 1);
          const ref = refs.insertEntry(row, t, 1, refs.keyOf(row), refs.rowKeyOf(row))!;
          if (seen.has(ref)) reused++;
          seen.add(ref);
          rows[k] = row;
          held[k] = ref;
        }
        refs.advanceUpper(t + 1n);
        if (t >= 3n) {
          plain.allowCompaction(t - 3n);
          refs.allowCompaction(t - 3n);
        }
        const reads = t >= 3n ? [t - 3n, t - 1n, t] : [0n, t];
        const { bytes: _b, ...got } = snapshot(refs, reads);
        expect(got, `seed ${seed} tick ${t}`).toEqual(plain.snapshot(reads));
      }
      expect(reused, `seed ${seed}: entries reused`).toBeGreaterThan(0);
    }
  });

  it("an update through a ref whose entry was removed and reused throws, naming the misuse", () => {
    const a = new Arrangement("t", [0]);
    const row = [1n, 2n];
    const ref = a.insertEntry(row, 1n, 1, a.keyOf(row), a.rowKeyOf(row))!;
    a.updateEntry(ref, 2n, -1);
    a.advanceUpper(3n);
    a.allowCompaction(2n);
    expect(a.size).toBe(0);
    expect(() => a.updateEntry(ref, 3n, 1)).toThrow(/count went to zero/);
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
