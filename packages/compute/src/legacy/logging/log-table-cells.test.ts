// PHASE(logging): legacy — delete when cluster-unification-logging is retired
/** `LogTable.upsertCell`: writing through a cached slot is writing by key (issue 16). */
import type { KeyCell } from "@mzts/mz-cluster/logging";
import { prng } from "@mzts/mz-cluster/testing";
import { logRelation } from "@mzts/protocol";
import type { Row } from "@mzts/repr";
import { describe, expect, it } from "vitest";
import { LogTable } from "./log-table.js";

const show = (row: Row) => row.map(String).join(",");
const sorted = (xs: Array<[Row, number]>) => xs.map(([r, n]) => `${show(r)}×${n}`).sort();

describe("legacy LogTable key cells", () => {
  it("a table written through cells holds what one written by key holds, at every time (against a model)", () => {
    // Cells outlive their slots: keys deleted alone or by group (the slot leaves the map at the
    // flush), re-inserted later, tables advanced and freed; one cell is also used on another
    // table of the same relation (it must not write into the first table's slot).
    const relation = logRelation("scheduling_elapsed")!;
    for (let seed = 1; seed <= 20; seed++) {
      const r = prng(seed);
      const byCell = new LogTable("x1", relation);
      const byKey = new LogTable("x2", relation);
      const other = new LogTable("x3", relation);
      const otherModel = new Map<string, Row>();
      const model = new Map<string, Row>();
      const cells = new Map<string, KeyCell>();
      let time = 1n;
      let since = 0n;
      for (let step = 0; step < 300; step++) {
        const x = r();
        const df = BigInt(Math.floor(r() * 3));
        const op = BigInt(Math.floor(r() * 2));
        const k = `${df},${op}`;
        if (x < 0.6) {
          const row: Row = [df, op, 0n, BigInt(Math.floor(r() * 4))];
          let cell = cells.get(k);
          if (cell === undefined) {
            cell = { key: byCell.arrangement.keyOf(row), slot: undefined };
            cells.set(k, cell);
          }
          byCell.upsertCell([...row], cell, time);
          byKey.upsert([...row], time);
          model.set(k, row);
          if (r() < 0.2) {
            other.upsertCell([...row], cell, time);
            otherModel.set(k, row);
          }
        } else if (x < 0.7) {
          byCell.delete([df, op, 0n], time);
          byKey.delete([df, op, 0n], time);
          model.delete(k);
        } else if (x < 0.75) {
          byCell.deleteGroup(df, time);
          byKey.deleteGroup(df, time);
          for (const m of [...model.keys()]) if (m.startsWith(`${df},`)) model.delete(m);
        } else {
          if (r() < 0.5) {
            if (r() < 0.3 && time > 4n) since = time - 3n;
            byCell.advance(time + 1n, since);
            byKey.advance(time + 1n, since);
            other.advance(time + 1n, since);
          }
          time += 1n;
        }
        expect(byCell.size, `seed ${seed} step ${step}`).toBe(model.size);
        for (const [m, row] of model) {
          const [d, o] = m.split(",").map(BigInt);
          expect(byCell.get([d!, o!, 0n]), `seed ${seed} step ${step}`).toEqual(row);
        }
      }
      byCell.advance(time + 1n, since);
      byKey.advance(time + 1n, since);
      other.advance(time + 1n, since);
      for (let t = since; t <= time; t++) {
        expect(sorted(byCell.arrangement.asOf(t)), `seed ${seed} t ${t}`).toEqual(
          sorted(byKey.arrangement.asOf(t)),
        );
      }
      expect(sorted(other.arrangement.current())).toEqual(
        sorted([...otherModel.values()].map((row): [Row, number] => [row, 1])),
      );
      // A freed table's slots are not reused through a cell.
      byCell.free();
      const again = new LogTable("x1", relation);
      const [k, cell] = [...cells][0]!;
      const [d, o] = k.split(",").map(BigInt);
      again.upsertCell([d!, o!, 0n, 9n], cell, time + 1n);
      expect(again.get([d!, o!, 0n])).toEqual([d, o, 0n, 9n]);
      expect(again.size).toBe(1);
    }
  });
});
