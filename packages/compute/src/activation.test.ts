/**
 * Activation (issue 16): a worker step runs only the dataflows whose graph was activated, and
 * `maintain()` looks only at dataflows touched since the last tick — exactly, so nothing is
 * missed. In process, real persist on a temp directory, one or two `ComputeState`s (two over an
 * in-memory mesh, so keyed exchanges cross workers):
 * - after a quiet period no graph is stepped, no dataflow is even visited by a worker step, and
 *   no frontier or statistics message is sent;
 * - a skipped dataflow that then gets source input produces it (peeks right), and a dataflow
 *   importing its index follows through the index tap; an unrelated quiet dataflow stays skipped;
 * - frontier reports still arrive for every index after the quiet period;
 * - with two workers, rows exchanged to the other worker arrive after a quiet period (exchange
 *   arrivals activate the receiving dataflow).
 */
import { Graph } from "@mzts/dataflow";
import { afterEach, describe, expect, it, vi } from "vitest";
import { DataflowInstance } from "./render/dataflow.js";
import {
  append,
  INSTANCE,
  indexOfIndex,
  runCleanups,
  shards,
  sourceIndex,
  Workers,
} from "./testdata/in-process-workers.js";

afterEach(async () => {
  vi.restoreAllMocks();
  await runCleanups();
});

/** Counts `Graph.step()` calls per graph name. */
function countSteps(): Map<string, number> {
  const counts = new Map<string, number>();
  const step = Graph.prototype.step;
  vi.spyOn(Graph.prototype, "step").mockImplementation(function (this: Graph) {
    counts.set(this.name, (counts.get(this.name) ?? 0) + 1);
    return step.call(this);
  });
  return counts;
}

describe("ComputeState activation", () => {
  it("skips quiet dataflows exactly: input after a quiet period is produced, reports still arrive", async () => {
    const { dir, shards: s } = await shards(["a", "b"]);
    await append(s.a!, 1n, 0n);
    await append(s.b!, 10n, 0n);
    const w = new Workers(1, dir);
    w.apply(
      INSTANCE,
      { kind: "createDataflow", dataflow: sourceIndex("ua", "a") },
      { kind: "createDataflow", dataflow: indexOfIndex("ua2", "ua") },
      { kind: "createDataflow", dataflow: sourceIndex("ub", "b") },
      { kind: "initializationComplete" },
    );
    await w.until(() => ["ua", "ua2", "ub"].every((id) => w.write(id) === 1n), "frontiers at 1");
    expect(await w.peek("ua2", 0n)).toEqual(["1"]);

    // Quiet: no graph is stepped, nothing is reported (frontiers and statistics unchanged).
    for (let i = 0; i < 5; i++) await w.turn();
    const steps = countSteps();
    const visits = vi.spyOn(DataflowInstance.prototype, "step");
    w.clearOut();
    for (let i = 0; i < 20; i++) await w.turn();
    expect(Object.fromEntries(steps)).toEqual({});
    expect(w.out[0]).toEqual([]);
    // Not even looked at: a worker step visits only the dataflows it was told became active.
    expect(visits).not.toHaveBeenCalled();

    // Input to `a` only: its dataflow and the one importing its index run and produce it; the
    // frontiers of both are reported; `b`'s dataflow stays skipped.
    await append(s.a!, 2n, 1n);
    await w.until(() => w.write("ua") === 2n && w.write("ua2") === 2n, "ua, ua2 reported at 2");
    expect(await w.peek("ua", 1n)).toEqual(["1", "2"]);
    expect(await w.peek("ua2", 1n)).toEqual(["1", "2"]);
    expect(steps.get("src ua")).toBeGreaterThan(0);
    expect(steps.get("idx ua2")).toBeGreaterThan(0);
    expect(steps.get("src ub")).toBeUndefined();
    expect(w.write("ub")).toBeUndefined(); // nothing reported for it since the quiet period

    // Then `b`, after its long quiet period: produced and reported.
    await append(s.b!, 20n, 1n);
    await append(s.b!, 30n, 2n);
    await w.until(() => w.write("ub") === 3n, "ub reported at 3");
    expect(await w.peek("ub", 2n)).toEqual(["10", "20", "30"]);
    expect(steps.get("src ub")).toBeGreaterThan(0);
    // Statistics are sent again once something changed.
    expect(w.out[0]!.some((r) => r.kind === "workerStats")).toBe(true);
  });

  it("two workers: rows exchanged to the other worker after a quiet period arrive", async () => {
    const { dir, shards: s } = await shards(["a"]);
    await append(s.a!, 0n, 0n);
    const w = new Workers(2, dir);
    w.apply(
      INSTANCE,
      { kind: "createDataflow", dataflow: sourceIndex("ua", "a") },
      { kind: "initializationComplete" },
    );
    await w.until(() => w.write("ua") === 1n, "ua at 1");
    for (let i = 0; i < 10; i++) await w.turn();
    const steps = countSteps();
    for (let i = 0; i < 10; i++) await w.turn();
    expect(Object.fromEntries(steps)).toEqual({});
    // Many values: both workers read some and exchange most by key.
    for (let t = 1n; t <= 20n; t++) await append(s.a!, t, t);
    await w.until(() => w.write("ua") === 21n, "ua at 21");
    const want = Array.from({ length: 21 }, (_, i) => String(i)).sort();
    expect(await w.peek("ua", 20n)).toEqual(want);
  });
});
