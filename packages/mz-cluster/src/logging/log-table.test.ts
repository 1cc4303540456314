/** `LogTable`: per-key coalescing at one log time, exact state at every time, no-op changes. */
import { logRelation } from "@mzts/protocol";
import { prng, type Row, type Timestamp } from "@mzts/repr";
import { describe, expect, it } from "vitest";
import { LogTable } from "./log-table.js";

function table() {
  let time = 1000n;
  const emitted: Array<[Row, Timestamp, number]> = [];
  const t = new LogTable(
    logRelation("compute_frontiers")!,
    () => time,
    (row, at, diff) => emitted.push([row, at, diff]),
  );
  return { t, emitted, at: (x: bigint) => (time = x) };
}

describe("LogTable", () => {
  it("coalesces the changes of a key at one time into one retraction and one insertion", () => {
    const { t, emitted, at } = table();
    t.upsert(["u1", 0n, 1n]);
    t.flush();
    expect(emitted).toEqual([[["u1", 0n, 1n], 1000n, 1]]);
    emitted.length = 0;
    at(2000n);
    for (let i = 2n; i < 100n; i++) t.upsert(["u1", 0n, i]);
    t.upsert(["u2", 0n, 5n]);
    t.remove(["u2", 0n]); // inserted and removed at one time: nothing
    t.flush();
    expect(emitted).toEqual([
      [["u1", 0n, 1n], 2000n, -1],
      [["u1", 0n, 99n], 2000n, 1],
    ]);
    expect(t.rows()).toEqual([["u1", 0n, 99n]]);
  });

  it("keeps every time's state: a change at a later time first emits the held one", () => {
    const { t, emitted, at } = table();
    t.upsert(["u1", 0n, 1n]);
    at(2000n);
    t.upsert(["u1", 0n, 2n]);
    at(3000n);
    t.removeGroup("u1", 0n);
    t.flush();
    expect(emitted).toEqual([
      [["u1", 0n, 1n], 1000n, 1],
      [["u1", 0n, 1n], 2000n, -1],
      [["u1", 0n, 2n], 2000n, 1],
      [["u1", 0n, 2n], 3000n, -1],
    ]);
    expect(t.size).toBe(0);
  });

  it("an unchanged row, or a change undone at the same time, emits nothing", () => {
    const { t, emitted, at } = table();
    t.upsert(["u1", 0n, 1n]);
    t.flush();
    emitted.length = 0;
    at(2000n);
    t.upsert(["u1", 0n, 1n]);
    t.upsert(["u1", 0n, 2n]);
    t.upsert(["u1", 0n, 1n]);
    t.flush();
    expect(emitted).toEqual([]);
  });

  it("its emitted updates sum to exactly the live rows at every time (against a model)", () => {
    // scheduling_elapsed: key (dataflow, operator, worker); keys whose values move, come back,
    // are removed alone or by group, and change several times per time; flushes at random.
    const show = (row: Row) => row.map(String).join(",");
    for (let seed = 1; seed <= 20; seed++) {
      const r = prng(seed);
      let time = 1n;
      const emitted: Array<[Row, Timestamp, number]> = [];
      const t = new LogTable(
        logRelation("scheduling_elapsed")!,
        () => time,
        (row, at, diff) => emitted.push([row, at, diff]),
      );
      const model = new Map<string, Row>();
      const states = new Map<bigint, string[]>();
      const state = () => [...model.values()].map(show).sort();
      for (let step = 0; step < 300; step++) {
        const x = r();
        const df = BigInt(Math.floor(r() * 3));
        const op = BigInt(Math.floor(r() * 2));
        if (x < 0.6) {
          const row: Row = [df, op, 0n, BigInt(Math.floor(r() * 4))];
          t.upsert(row);
          model.set(`${df},${op}`, [...row]);
        } else if (x < 0.7) {
          t.remove([df, op, 0n]);
          model.delete(`${df},${op}`);
        } else if (x < 0.75) {
          t.removeGroup(df, 0n);
          for (const k of [...model.keys()]) if (k.startsWith(`${df},`)) model.delete(k);
        } else {
          states.set(time, state());
          if (r() < 0.5) t.flush();
          time += 1n;
        }
        expect(t.size).toBe(model.size);
        expect(t.rows().map(show).sort()).toEqual(state());
      }
      states.set(time, state());
      t.flush();
      let last: string[] = [];
      for (let at = 1n; at <= time; at++) {
        if (states.has(at)) last = states.get(at)!;
        const sums = new Map<string, number>();
        for (const [row, when, d] of emitted) {
          if (when <= at) sums.set(show(row), (sums.get(show(row)) ?? 0) + d);
        }
        const got = [...sums].filter(([, n]) => n !== 0);
        expect(
          got.every(([, n]) => n === 1),
          `seed ${seed} t ${at}`,
        ).toBe(true);
        expect(got.map(([k]) => k).sort(), `seed ${seed} t ${at}`).toEqual(last);
      }
    }
  });
});
