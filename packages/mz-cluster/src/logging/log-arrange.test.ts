/** `LogArrangeOperator`: holds updates until their time is complete, then arranges them by key. */
import { createGraph } from "@mzts/dataflow";
import { describe, expect, it } from "vitest";
import { LogArrangeOperator, LogUpdateTooLate } from "./log-arrange.js";

function operator() {
  const graph = createGraph({ name: "t" });
  const op = new LogArrangeOperator(graph, [0, 1], "log:test");
  op.arrangement.trackRows([2]);
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
});
