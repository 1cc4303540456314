/** `LogArrangeOperator`: holds updates until their time is complete, then arranges them by key. */
import { Arrangement, createGraph } from "@mzts/dataflow";
import { logRelation } from "@mzts/protocol";
import { prng, type Row, type Timestamp } from "@mzts/repr";
import { describe, expect, it } from "vitest";
import { LogArrangeOperator, LogUpdateTooLate } from "./log-arrange.js";
import { LogTable } from "./log-table.js";

const show = (row: Row) => row.map(String).join(",");
const sorted = (xs: Array<[Row, number]>) => xs.map(([r, n]) => `${show(r)}×${n}`).sort();

function operator() {
  const graph = createGraph({ name: "t" });
  const op = new LogArrangeOperator(graph, [0, 1], "log:test");
  return { graph, op, key: (row: readonly unknown[]) => op.arrangement.keyOf(row as never) };
}

describe("LogArrangeOperator", () => {
  it("arranges only complete updates, in push order, and keeps the others held", () => {
    const { graph, op, key } = operator();
    const a = ["u1", 0n, 1n];
    const b = ["u1", 0n, 2n];
    op.push(a, 1000n, 1, key(a));
    op.push(a, 2000n, -1, key(a));
    op.push(b, 2000n, 1, key(b));
    op.advanceTo(1001n);
    graph.run();
    expect(op.arrangement.upper).toBe(1001n);
    expect(op.arrangement.asOf(1000n)).toEqual([[a, 1]]);
    expect(op.held()).toEqual([
      [a, 2000n, -1],
      [b, 2000n, 1],
    ]);
    op.advanceTo(2001n);
    graph.run();
    expect(op.arrangement.asOf(2000n)).toEqual([[b, 1]]);
    expect(op.held()).toEqual([]);
  });

  it("refuses an update before its frontier with a typed error", () => {
    const { graph, op, key } = operator();
    op.advanceTo(1001n);
    graph.run();
    const row = ["u1", 0n, 1n];
    expect(() => op.push(row, 1000n, 1, key(row))).toThrow(LogUpdateTooLate);
    expect(op.held()).toEqual([]);
  });

  it("does nothing when the frontier does not move", () => {
    const { graph, op } = operator();
    op.advanceTo(1001n);
    expect(graph.run()).toBeGreaterThan(0);
    op.advanceTo(1001n);
    op.advanceTo(500n);
    expect(op.run()).toBe(false);
    expect(op.arrangement.upper).toBe(1001n);
  });

  it("through the table's slots (entries held per key) arranges exactly what plain inserts do", () => {
    // A log table feeding the operator with each key's slot as the entry holder (as the
    // logging dataflow does) against a plain arrangement given every emitted update by key:
    // random upserts (values new or coming back), removals, group removals, several log times
    // between runs, compactions. Every read and count must agree at every run.
    for (let seed = 1; seed <= 20; seed++) {
      const r = prng(seed);
      const relation = logRelation("compute_import_frontiers")!;
      const graph = createGraph({ name: "t" });
      const op = new LogArrangeOperator(graph, relation.key, "log:test");
      const plain = new Arrangement("plain", relation.key);
      // Retractions through a held entry, against every retraction emitted.
      let viaEntry = 0;
      let retractions = 0;
      const update = op.arrangement.updateEntry.bind(op.arrangement);
      op.arrangement.updateEntry = (ref, t, diff) => {
        viaEntry++;
        return update(ref, t, diff);
      };
      let time = 1000n;
      const table = new LogTable(
        relation,
        () => time,
        (row, at, diff, key, slot) => {
          op.push(row, at, diff, key, slot);
          plain.insert(row, at, diff);
          if (diff < 0) retractions++;
        },
        op.arrangement,
      );
      let upper = 1000n;
      let since = 0n;
      for (let step = 0; step < 300; step++) {
        const x = r();
        const exp = `u${Math.floor(r() * 4)}`;
        const imp = `u${100 + Math.floor(r() * 2)}`;
        if (x < 0.6) {
          const v = r() < 0.3 ? BigInt(Math.floor(r() * 3)) : BigInt(step) * 10n;
          table.upsert([exp, imp, 0n, v]);
        } else if (x < 0.7) table.remove([exp, imp, 0n]);
        else if (x < 0.75) table.removeGroup(exp, 0n);
        else if (x < 0.9) {
          time += 1000n;
          if (r() < 0.5) table.flush();
        } else {
          table.flush();
          upper = time + 1n;
          time += 1000n;
          op.advanceTo(upper);
          graph.run();
          plain.advanceUpper(upper);
          if (r() < 0.6 && time - 2000n > since) {
            since = time - 2000n;
            op.arrangement.allowCompaction(since);
            plain.allowCompaction(since);
          }
          const a = op.arrangement;
          const at = [since, upper - 1n];
          expect(
            at.map((t: Timestamp) => sorted(a.asOf(t))),
            `seed ${seed} step ${step}`,
          ).toEqual(at.map((t: Timestamp) => sorted(plain.asOf(t))));
          expect(sorted(a.current())).toEqual(sorted(plain.current()));
          expect([a.size, a.count, a.updateCount, a.timeCount, a.sizeBytes]).toEqual([
            plain.size,
            plain.count,
            plain.updateCount,
            plain.timeCount,
            plain.sizeBytes,
          ]);
        }
      }
      // Every retraction of a row inserted through its slot goes through the entry: all but
      // those still held at the end and none before the first run.
      expect(viaEntry, `seed ${seed}`).toBeGreaterThan(retractions * 0.7);
    }
  });
});
