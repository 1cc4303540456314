import type { RowSetFinishing } from "@mzts/protocol";
import type { Row } from "@mzts/repr";
import { describe, expect, it } from "vitest";
import { applyFinishing, preLimit } from "./finishing.js";

const rows: Array<[Row, number]> = [
  [["b", 2n], 2],
  [["a", 5n], 1],
  [["c", 1n], 3],
];

describe("finishing", () => {
  it("orders, skips and limits by multiplicity, then projects", () => {
    const f: RowSetFinishing = {
      orderBy: [{ column: 1, desc: true, nullsLast: false }],
      offset: 2,
      limit: 3,
      project: [0],
    };
    expect(applyFinishing(rows, f)).toEqual([
      [["b"], 1],
      [["c"], 2],
    ]);
  });

  it("pre-limits per worker to offset + limit without changing the final answer", () => {
    const f: RowSetFinishing = { orderBy: [], offset: 1, limit: 2, project: [0, 1] };
    const parts: Array<Array<[Row, number]>> = [[rows[0]!], [rows[1]!, rows[2]!]];
    const merged = parts.flatMap((p) => preLimit(p, f));
    expect(applyFinishing(merged, f)).toEqual(applyFinishing(rows, f));
    expect(preLimit(rows, f).reduce((n, [, c]) => n + c, 0)).toBe(3);
  });

  it("without order by, sorts by the whole row (deterministic answers)", () => {
    const f: RowSetFinishing = { orderBy: [], offset: 0, project: [0] };
    expect(applyFinishing(rows, f).map(([r]) => r[0])).toEqual(["a", "b", "c"]);
  });

  it("orderBy and limit without a project return every column (an unset projection)", () => {
    const f: RowSetFinishing = {
      orderBy: [{ column: 1, desc: false, nullsLast: true }],
      offset: 0,
      limit: 2,
      project: [],
    };
    expect(applyFinishing(rows, f)).toEqual([[["c", 1n], 2]]);
    const g: RowSetFinishing = { ...f, limit: 4 };
    expect(applyFinishing(rows, g)).toEqual([
      [["c", 1n], 3],
      [["b", 2n], 1],
    ]);
  });
});
