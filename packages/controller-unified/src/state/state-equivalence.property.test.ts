/**
 * The phase 5 property (issue 14): a random sequence of DDL, peeks, compactions, frontier
 * reports, drop acknowledgements and replica churn leaves the unified `ClusterState` and the two
 * legacy controller states (compute-client's and storage-client's instances with
 * `PersistReadHolds` and environmentd's import holds, `testdata/legacy-cluster.ts`) answering
 * the same: frontiers, sinces, holds, pending peeks, replicas and replay contents
 * (`testdata/scenario.ts` lists exactly what is compared). A second test injects a difference —
 * a wrong reduction rule, a different read policy — and checks that the comparison catches it.
 */

import type { ComputeCommand } from "@mzts/protocol";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { computeReduction, type ReductionRule, storageReduction } from "./reduction-rules.js";
import { type Op, opArb, Scenario } from "./testdata/scenario.js";

const WINDOW = 3n;

async function run(
  ops: readonly Op[],
  overrides: Parameters<typeof Scenario.create>[1] = {},
): Promise<string[]> {
  const s = await Scenario.create(WINDOW, overrides);
  try {
    for (const op of ops) {
      await s.apply(op);
      if (s.differences.length > 0) break;
    }
    if (s.differences.length === 0) await s.reconnectAll();
    return s.differences;
  } finally {
    await s.close();
  }
}

/** A prefix that exercises every part: a source, an index and a view, two replicas, traffic. */
const WARMUP: Op[] = [
  { kind: "addReplica" },
  { kind: "createSource", exports: 2 },
  { kind: "createIndex", on: 0, bump: 0 },
  { kind: "createView", on: [0, 1], bump: 1 },
  { kind: "addReplica" },
  { kind: "report", pick: 0, replica: 0, delta: 5, input: true },
  { kind: "report", pick: 1, replica: 1, delta: 4, input: true },
];

describe("ClusterState vs the legacy compute + storage states", () => {
  it("answer the same under random DDL, peeks, compactions, reports and replica churn", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(opArb, { minLength: 30, maxLength: 80 }), async (ops) => {
        const differences = await run([...WARMUP, ...ops]);
        expect(differences).toEqual([]);
      }),
      { numRuns: 40 },
    );
    // CPU time only (no timers inside): ~5 s alone, more on a shared machine.
  }, 120_000);

  it("agree on a late upper after a drop (the late replica owes a droppedId too)", async () => {
    const ops: Op[] = [
      { kind: "addReplica" },
      { kind: "addReplica" },
      { kind: "createSource", exports: 1 },
      { kind: "report", pick: 1, replica: 0, delta: 2, input: false },
      { kind: "drop", pick: 0 },
      { kind: "report", pick: 1, replica: 1, delta: 3, input: false },
      { kind: "ack", pick: 1, replica: 0 },
      { kind: "ack", pick: 1, replica: 1 },
    ];
    expect(await run(ops)).toEqual([]);
  });

  it("catches an injected difference: a compute reduction that ignores compactions", async () => {
    const noCompaction: ReductionRule<ComputeCommand> = {
      reduce: (commands, retired) =>
        computeReduction.reduce(
          commands.filter((c) => c.kind !== "allowCompaction"),
          retired,
        ),
    };
    const ops: Op[] = [
      ...WARMUP,
      { kind: "report", pick: 3, replica: 0, delta: 6, input: true },
      { kind: "report", pick: 3, replica: 1, delta: 6, input: true },
      { kind: "reconnect", pick: 0 },
    ];
    expect(await run(ops)).toEqual([]);
    const caught = await run(ops, { rules: { compute: noCompaction, storage: storageReduction } });
    expect(caught.join("\n")).toMatch(/compute replay of u1/);
  });

  it("catches an injected difference: a different read policy (compaction window)", async () => {
    const ops: Op[] = [
      ...WARMUP,
      { kind: "report", pick: 3, replica: 0, delta: 6, input: true },
      { kind: "report", pick: 3, replica: 1, delta: 6, input: true },
    ];
    expect(await run(ops)).toEqual([]);
    const caught = await run(ops, { compactionWindowMs: WINDOW + 1n });
    expect(caught.join("\n")).toMatch(/compute u103: .*since/);
  });

  it("legacy leaks a dropped index once every replica restarted; the unified state forgets it", async () => {
    const s = await Scenario.create(WINDOW);
    try {
      for (const op of [...WARMUP, { kind: "drop", pick: 0 } as Op]) await s.apply(op);
      await s.reconnectAll();
      expect(s.differences).toEqual([]);
      expect([...s.leaks]).toEqual(["u103"]);
      expect(s.unified.has("u103")).toBe(false);
      expect(s.legacy.compute.frontiers("u103").since).toBeNull(); // still held by compute-client
    } finally {
      await s.close();
    }
  });
});
