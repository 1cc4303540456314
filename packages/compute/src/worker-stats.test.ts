/**
 * A worker's statistics are kept as counts (issue 16: no walk over every dataflow per tick): the
 * live exports by kind at create and drop, the arrangement entries recounted only for dataflows
 * whose graph ran or that were compacted. In process, real persist: the counts follow input,
 * compaction (entries whose diffs cancel go), an export dropped from a dataflow that lives on,
 * and a dataflow dropped whole — read at any time, before `maintain()` too.
 */
import { afterEach, describe, expect, it } from "vitest";
import {
  append,
  INSTANCE,
  indexOfIndex,
  runCleanups,
  shards,
  sourceIndex,
  Workers,
} from "./testdata/in-process-workers.js";

afterEach(runCleanups);

describe("ComputeState statistics", () => {
  it("counts exports and arrangement entries through input, compaction and drops", async () => {
    const { dir, shards: s } = await shards(["a", "b"]);
    await append(s.a!, 1n, 0n);
    await append(s.b!, 10n, 0n);
    const w = new Workers(1, dir);
    const state = w.states[0]!;
    const twoIndexes = sourceIndex("ua", "a");
    w.apply(
      INSTANCE,
      {
        kind: "createDataflow",
        dataflow: {
          ...twoIndexes,
          indexExports: [...twoIndexes.indexExports, { id: "ua-b", objectId: "ua-obj", key: [] }],
        },
      },
      { kind: "createDataflow", dataflow: sourceIndex("ub", "b") },
      { kind: "createDataflow", dataflow: indexOfIndex("ub2", "ub") },
      { kind: "initializationComplete" },
    );
    await w.until(() => ["ua", "ub", "ub2"].every((id) => w.write(id) === 1n), "frontiers at 1");
    expect(state.stats()).toMatchObject({ dataflows: 3, indexes: 4, arrangementRecords: 4 });

    // Input: counted once the graph ran, before any maintenance too.
    await append(s.a!, 2n, 1n);
    await s.a!.compareAndAppend([[[1n], 2n, -1]], 2n, 3n);
    await w.until(() => w.write("ua") === 3n, "ua at 3");
    await append(s.a!, 3n, 3n);
    const before = w.out[0]!.length;
    while (!(w.write("ua") === 4n && w.out[0]!.length > before)) {
      for (let i = 0; i < 100 && state.step(); i++);
      if (w.write("ua") !== 4n) state.maintain();
      await new Promise((r) => setTimeout(r, 2));
    }
    // ua, ua-b: 3 entries each (1 with its retraction, 2, 3); ub, ub2: 1 each.
    expect(state.stats().arrangementRecords).toBe(8);

    // Compaction past the retraction consolidates value 1 away (in both indexes).
    w.apply({ kind: "allowCompaction", id: "ua", frontier: 3n });
    expect(state.stats().arrangementRecords).toBe(7);
    w.apply({ kind: "allowCompaction", id: "ua-b", frontier: 3n });
    expect(state.stats().arrangementRecords).toBe(6);

    // (Maintenance forgets what it recounted: the drops below are counted by themselves.)
    state.maintain();
    // One export of a dataflow that lives on: its arrangement is released.
    w.apply({ kind: "allowCompaction", id: "ua-b", frontier: null });
    expect(state.stats()).toMatchObject({ dataflows: 3, indexes: 3, arrangementRecords: 4 });
    // A dataflow dropped whole.
    w.apply({ kind: "allowCompaction", id: "ub2", frontier: null });
    expect(state.stats()).toMatchObject({ dataflows: 2, indexes: 2, arrangementRecords: 3 });
    await w.turn();
    expect(state.stats()).toMatchObject({ dataflows: 2, indexes: 2, arrangementRecords: 3 });
    w.apply(
      { kind: "allowCompaction", id: "ua", frontier: null },
      { kind: "allowCompaction", id: "ub", frontier: null },
    );
    expect(state.stats()).toMatchObject({ dataflows: 0, indexes: 0, arrangementRecords: 0 });
  });
});
