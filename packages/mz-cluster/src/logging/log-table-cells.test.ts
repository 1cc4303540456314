/** `LogTable.upsertCell`: writing through a cached slot is writing by key (issue 16). */
import { logRelation } from "@mzts/protocol";
import { prng, type Row, type Timestamp } from "@mzts/repr";
import { describe, expect, it } from "vitest";
import { LogTable } from "./log-table.js";
import type { KeyCell } from "./row-keys.js";

const show = (row: Row) => row.map(String).join(",");

function table(clock: () => Timestamp) {
  const sums = new Map<string, number>();
  const t = new LogTable(logRelation("scheduling_elapsed")!, clock, (row, _at, diff) =>
    sums.set(show(row), (sums.get(show(row)) ?? 0) + diff),
  );
  const net = () =>
    [...sums]
      .filter(([, n]) => n !== 0)
      .map(([k, n]) => `${k}×${n}`)
      .sort();
  return { t, net };
}

describe("LogTable key cells", () => {
  it("a table written through cells emits what one written by key emits (against a model)", () => {
    // Cells outlive their slots (keys removed alone or by group leave the map at the flush, and
    // come back); one cell is also used on another table (it must not write into the first's).
    for (let seed = 1; seed <= 20; seed++) {
      const r = prng(seed);
      let time = 1n;
      const byCell = table(() => time);
      const byKey = table(() => time);
      const other = table(() => time);
      const model = new Map<string, Row>();
      const otherModel = new Map<string, Row>();
      const cells = new Map<string, KeyCell>();
      for (let step = 0; step < 300; step++) {
        const x = r();
        const df = BigInt(Math.floor(r() * 3));
        const op = BigInt(Math.floor(r() * 2));
        const k = `${df},${op}`;
        if (x < 0.6) {
          const row: Row = [df, op, 0n, BigInt(Math.floor(r() * 4))];
          let cell = cells.get(k);
          if (cell === undefined)
            cells.set(k, (cell = { key: byCell.t.keyOf(row), slot: undefined }));
          byCell.t.upsertCell([...row], cell);
          byKey.t.upsert([...row]);
          model.set(k, row);
          if (r() < 0.2) {
            other.t.upsertCell([...row], cell);
            otherModel.set(k, row);
          }
        } else if (x < 0.7) {
          byCell.t.remove([df, op, 0n]);
          byKey.t.remove([df, op, 0n]);
          model.delete(k);
        } else if (x < 0.75) {
          byCell.t.removeGroup(df, 0n);
          byKey.t.removeGroup(df, 0n);
          for (const m of [...model.keys()]) if (m.startsWith(`${df},`)) model.delete(m);
        } else {
          if (r() < 0.5) {
            byCell.t.flush();
            byKey.t.flush();
            other.t.flush();
          }
          time += 1n;
        }
        expect(byCell.t.size, `seed ${seed} step ${step}`).toBe(model.size);
      }
      byCell.t.flush();
      byKey.t.flush();
      other.t.flush();
      const want = [...model.values()].map((row) => `${show(row)}×1`).sort();
      expect(byCell.net(), `seed ${seed}`).toEqual(want);
      expect(byKey.net(), `seed ${seed}`).toEqual(want);
      expect(other.net()).toEqual([...otherModel.values()].map((row) => `${show(row)}×1`).sort());
    }
  });
});
