/**
 * Phase 3 (replicas): the same scenario through environmentd with `cluster-unification-replicas`
 * off (the legacy compute and storage replica tasks) and on (controller-unified's `ReplicaTask`
 * for both): kill -9 of one of two replicas under peeks with no failed peek and the rehydrated
 * replica answering the same, SIGSTOP detection (measured; the unified goal is ≤ 2 s), the
 * history bound after 400 peeks, environmentd kill -9 + restart (replicas adopted, every dataflow
 * reused, none replaced), and the same observable results off and on
 * (`src/suites/phase3-replicas.suite.ts`).
 */
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { liveCount, stopAll } from "../src/harness/processes.js";
import { type Phase3Observations, runPhase3Scenario } from "../src/suites/phase3-replicas.suite.js";

afterEach(stopAll);
afterAll(() => {
  expect(liveCount()).toBe(0);
});

const runs: Record<string, Phase3Observations> = {};

describe.each([
  ["off", false],
  ["on", true],
])("phase 3 replicas, flag %s", (name, on) => {
  it("survives kill -9 and SIGSTOP of a replica under peeks; history bounded", async () => {
    const o = await runPhase3Scenario({ replicas: on });
    runs[name] = o;
    const d = o.detection;
    console.log(
      `phase 3 ${name}: r1 back after ${o.failover.restartMs} ms, ${o.failover.ok} peeks ` +
        `(${o.failover.okDuringOutage} during the outage); SIGSTOP detected by compute ` +
        `${d.computeMs ?? "never"} ms, storage ${d.storageMs ?? "never"} ms, status ` +
        `${d.statusMs ?? "never"} ms; history ${o.historyAfterPeeks} commands after 400 peeks; ` +
        `connects compute ${o.connects.compute}, storage ${o.connects.storage}; after an ` +
        `environmentd restart reused ${o.restart.reused}, replaced ${o.restart.replaced}`,
    );
    const path = on ? "unified" : "legacy";
    expect(o.paths.filter((p) => p.seam.endsWith("-replicas")).map((p) => p.path)).toEqual([
      path,
      path,
    ]);
    expect(o.failover.errors).toEqual([]);
    expect(o.failover.mismatches).toEqual([]);
    expect(o.failover.okDuringOutage).toBeGreaterThan(0);
    expect(o.failover.monotone).toBe(true);
    expect(o.survivedStop).toBe(true);
    expect(o.rehydrated).toEqual(o.atT);
    expect(o.final).toEqual(o.atT);
    expect(d.computeMs).toBeLessThanOrEqual(10_000);
    expect(d.storageMs).toBeLessThanOrEqual(10_000);
    expect(d.statusMs).toBeLessThanOrEqual(10_000);
    if (on) {
      // The unified task's keepalive: 250 ms PINGs, 1.5 s timeout (≤ 1.75 s), plus the polling.
      expect(d.computeMs).toBeLessThanOrEqual(2500);
      expect(d.storageMs).toBeLessThanOrEqual(2500);
    }
    expect(o.historyAfterPeeks).toBeGreaterThan(0);
    expect(o.historyAfterPeeks).toBeLessThan(100);
    expect(o.atT.bids).toEqual(o.reference.bids);
    expect(o.atT.winning).toEqual(o.reference.winning);
    // Both controllers rehydrated r1 after the kill and r2 after the stop.
    expect(o.connects.compute).toBeGreaterThanOrEqual(4);
    expect(o.connects.storage).toBeGreaterThanOrEqual(4);
    // environmentd restarted: adopted and reconciled replicas, the same paths and answers.
    const r = o.restart;
    expect(r.nextGeneration).toBe(true);
    expect(r.adopted).toBe(true);
    expect({ reused: r.reused, replaced: r.replaced }).toEqual({ reused: r.expected, replaced: 0 });
    expect(r.paths).toEqual(o.paths);
    expect(r.answers).toEqual(o.atT);
  }, 90_000);
});

describe("phase 3 replicas, off vs on", () => {
  it("observes the same results and the same metric names", () => {
    const off = runs.off;
    const on = runs.on;
    expect(off && on, "both runs completed").toBeTruthy();
    if (off === undefined || on === undefined) return;
    expect(on.atT).toEqual(off.atT);
    expect(on.final).toEqual(off.final);
    expect(on.restart.answers).toEqual(off.restart.answers);
    expect(on.rehydrated).toEqual(off.rehydrated);
    expect(on.reference).toEqual(off.reference);
    expect(on.closedFrontiers).toEqual(off.closedFrontiers);
    expect(on.metricNames).toEqual(off.metricNames);
    expect(on.metricNames.length).toBeGreaterThan(5);
  });
});
