// PHASE(logging): legacy — delete when cluster-unification-logging is retired

import { prng } from "@mzts/mz-cluster/testing";
import { logRelation } from "@mzts/protocol";
import type { Row, Update } from "@mzts/repr";
import { describe, expect, it } from "vitest";
import { LogTable } from "./log-table.js";

const show = (row: Row) => row.map(String).join(",");
const sorted = (xs: Array<[Row, number]>) => xs.map(([r, n]) => `${show(r)}×${n}`).sort();

describe("legacy LogTable", () => {
  it("holds exactly the current rows at every time, and its feed sees the same changes (against a model)", () => {
    // scheduling_elapsed: key (dataflow, operator, worker), one value column; a few keys whose
    // values move, come back, are deleted alone or by group, and change several times per time.
    const relation = logRelation("scheduling_elapsed")!;
    for (let seed = 1; seed <= 20; seed++) {
      const r = prng(seed);
      const table = new LogTable("x1", relation);
      const model = new Map<string, Row>();
      const states = new Map<bigint, string[]>();
      const fed: Update[] = [];
      let time = 1n;
      let upper = 1n;
      let since = 0n;
      const attachAt = 5 + Math.floor(r() * 30);
      for (let step = 0; step < 300; step++) {
        if (step === attachAt) {
          table.attach({ send: (us) => fed.push(...us), advance: () => {} });
        }
        const x = r();
        const df = BigInt(Math.floor(r() * 3));
        const op = BigInt(Math.floor(r() * 2));
        if (x < 0.6) {
          const row: Row = [df, op, 0n, BigInt(Math.floor(r() * 4))];
          table.upsert(row, time);
          model.set(`${df},${op}`, row);
        } else if (x < 0.7) {
          table.delete([df, op, 0n], time);
          model.delete(`${df},${op}`);
        } else if (x < 0.75) {
          table.deleteGroup(df, time);
          for (const k of [...model.keys()]) if (k.startsWith(`${df},`)) model.delete(k);
        } else {
          // The time moves on: what the model holds now is the collection at `time`.
          states.set(time, sorted([...model.values()].map((row): [Row, number] => [row, 1])));
          if (r() < 0.5) {
            upper = time + 1n;
            if (r() < 0.3 && time > 4n) since = time - 3n;
            table.advance(upper, since);
          }
          time += 1n;
        }
        expect(table.size).toBe(model.size);
      }
      states.set(time, sorted([...model.values()].map((row): [Row, number] => [row, 1])));
      table.advance(time + 1n, since);
      let last: string[] = [];
      for (let t = 0n; t <= time; t++) {
        if (states.has(t)) last = states.get(t)!;
        if (t < since) continue;
        expect(sorted(table.arrangement.asOf(t)), `seed ${seed} t ${t}`).toEqual(last);
      }
      // The feed (history at attach, then changes) sums to the same collection.
      const sums = new Map<string, number>();
      for (const [row, , d] of fed) sums.set(show(row), (sums.get(show(row)) ?? 0) + d);
      const feedRows = [...sums].filter(([, n]) => n !== 0).map(([k, n]) => `${k}×${n}`);
      expect(feedRows.sort(), `seed ${seed} feed`).toEqual(last);
      // No entry of a negative count: every retraction found the entry of its row.
      for (const [, n] of table.arrangement.current()) expect(n).toBe(1);
    }
  });
});
