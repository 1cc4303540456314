/** `LogTable`: per-key coalescing at one log time, exact state at every time, no-op changes. */
import { logRelation } from "@mzts/protocol";
import type { Row, Timestamp } from "@mzts/repr";
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
});
