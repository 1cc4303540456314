/**
 * Phase 5 (state): the phase 3 failure scenario (`src/suites/phase3-replicas.suite.ts`: kill -9
 * of one of two replicas under peeks with 0 failed or differing peeks, SIGSTOP detection, the
 * history bound, environmentd kill -9 + restart with adoption) through environmentd with phases
 * 3 and 4 on and `cluster-unification-state` off (a compute and a storage controller instance per
 * cluster behind the legacy `ClusterController` adapter) and on (one `UnifiedClusterController`
 * over one `ClusterState` per cluster). Both runs must pass the same checks, observe the same
 * answers at fixed times, the same closed frontiers, the same controller metric names and, after
 * the restart, reuse every dataflow on every replica (reused = dataflows × replicas, replaced = 0:
 * the unified state's replay is byte-identical to what the replicas already run).
 */
import { expect } from "vitest";
import { describePhase3Runs } from "../src/suites/phase3-replicas.expect.js";

describePhase3Runs({
  title: "phase 5 state",
  runs: [
    ["off", { replicas: true, client: true, state: false }],
    ["on", { replicas: true, client: true, state: true }],
  ],
  test: "survives kill -9 and SIGSTOP of a replica under peeks and an environmentd restart",
  timeoutMs: 120_000,
  check(o, flags) {
    const state = flags.state === true;
    expect(o.paths.find((p) => p.seam === "state")?.path).toBe(state ? "unified" : "legacy");
    expect(o.restart.paths.find((p) => p.seam === "state")?.path).toBe(
      state ? "unified" : "legacy",
    );
  },
});
