/**
 * The CI slice of `pnpm evaluate consistency`: a seeded random workload (random views, indexes,
 * peeks with constraints and finishing, subscribes, drops, replica adds/drops, kill -9s) sent to
 * a cluster with every phase off and one with every built phase on must get the same answers,
 * and must have compared real answers (rows), not only errors alike.
 */
import { afterAll, expect, it } from "vitest";
import { runConsistency } from "../src/evaluate/consistency.js";
import { liveCount } from "../src/harness/processes.js";

afterAll(() => {
  expect(liveCount()).toBe(0);
});

it("seed 24, 18 steps: every built phase off and on answer alike", {
  timeout: 120_000,
}, async () => {
  const lines: string[] = [];
  const r = await runConsistency({ seed: 24, steps: 18, log: (l) => lines.push(l) });
  const text = [...r.summary, ...lines].join("\n");
  console.log(r.summary.join("\n"));
  expect(r.problems, text).toEqual([]);
  expect(r.compared).toBeGreaterThanOrEqual(15);
  // Real answers were compared, not only refusals alike.
  expect(r.compared - r.refusedAlike, text).toBeGreaterThanOrEqual(8);
  expect(r.rowsCompared, text).toBeGreaterThan(50);
  expect(r.ran.peek).toBeGreaterThan(5);
  // This seed draws every kind of disruption and DDL at least once.
  for (const k of ["view", "source", "subscribe", "replica", "kill"] as const) {
    expect(r.ran[k], k).toBeGreaterThan(0);
  }
});
