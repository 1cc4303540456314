/**
 * The CI slice of `pnpm evaluate consistency`: a seeded random workload (random views, indexes,
 * peeks with constraints and finishing, subscribes, drops, replica adds/drops, kill -9s) sent to
 * a cluster with every phase off and one with every built phase on (servers, replicas, logging:
 * the candidate's replicas run the unified server and logging, its controller the unified
 * replica tasks — checked before the first step) must get the same answers,
 * and must have compared real answers (rows), not only errors alike.
 */
import { BUILT_PHASES, PHASES } from "@mzts/flags";
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
  // Every built phase, server-side and controller-side, on the candidate; none on the baseline.
  expect(r.phases.baseline).toEqual([]);
  expect(r.phases.candidate).toEqual(PHASES.filter((p) => BUILT_PHASES.includes(p)));
  expect(r.phases.candidate).toEqual(expect.arrayContaining(["servers", "replicas", "logging"]));
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
