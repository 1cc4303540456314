/**
 * Phase 3 (replicas): the same scenario through environmentd with `cluster-unification-replicas`
 * off (the legacy compute and storage replica tasks) and on (controller-unified's `ReplicaTask`
 * for both): kill -9 of one of two replicas under peeks with no failed peek and the rehydrated
 * replica answering the same, SIGSTOP detection (measured; the unified goal is ≤ 2 s), the
 * history bound after 400 peeks, environmentd kill -9 + restart (replicas adopted, every dataflow
 * reused, none replaced), and the same observable results off and on
 * (`src/suites/phase3-replicas.suite.ts`, checks in `phase3-replicas.expect.ts`; phase 4 runs the
 * same suite with `cluster-unification-client` on).
 */
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { liveCount, stopAll } from "../src/harness/processes.js";
import {
  describeRun,
  expectPhase3Run,
  expectSameObservations,
} from "../src/suites/phase3-replicas.expect.js";
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
    console.log(describeRun(`phase 3 ${name}`, o));
    expectPhase3Run(o, on);
  }, 90_000);
});

describe("phase 3 replicas, off vs on", () => {
  it("observes the same results and the same metric names", () => {
    expectSameObservations(runs.off, runs.on);
  });
});
