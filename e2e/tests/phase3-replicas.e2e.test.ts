/**
 * Phase 3 (replicas): the same scenario through environmentd with `cluster-unification-replicas`
 * off (the legacy compute and storage replica tasks) and on (controller-unified's `ReplicaTask`
 * for both): kill -9 of one of two replicas under peeks with no failed peek and the rehydrated
 * replica answering the same, SIGSTOP detection (measured; the unified goal is ≤ 2 s), the
 * history bound after 400 peeks, environmentd kill -9 + restart (replicas adopted, every dataflow
 * reused, none replaced), and the same observable results off and on
 * (`src/suites/phase3-replicas.suite.ts`, the suite factory and checks in
 * `phase3-replicas.expect.ts`; phase 4 runs the same suite with `cluster-unification-client` on).
 */
import { describePhase3Runs } from "../src/suites/phase3-replicas.expect.js";

describePhase3Runs({
  title: "phase 3 replicas",
  runs: [
    ["off", { replicas: false }],
    ["on", { replicas: true }],
  ],
  test: "survives kill -9 and SIGSTOP of a replica under peeks; history bounded",
  timeoutMs: 90_000,
});
