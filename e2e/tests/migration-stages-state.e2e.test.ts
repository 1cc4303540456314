/**
 * Phase 5 `state` in a migration stage, end to end (docs/design/20261207_migration_stages.md,
 * "Phase 5"): a two-replica cluster (its prerequisites servers, replicas and client complete)
 * runs `cluster-unification-state` in `shadow`, then — a live flip, which rebuilds the cluster's
 * controller with the other side authoritative — in `live`:
 * - both controllers run: the authoritative one (legacy in shadow, unified in live) drives the
 *   replicas, the other runs on mirrored traffic; status shows the stage with its comparisons;
 * - peeks at a fixed time answer exactly what the all-off cluster answers;
 * - the derived states (frontiers, sinces, per-replica frontiers, failures, replays) and each
 *   peek's two answers are compared: the deterministic workload counts only consistent
 *   comparisons, and a difference injected into the shadow's snapshot (the comparator's test
 *   hook) is counted exactly once;
 * - a restart adopts the cluster's replicas and builds both controllers again (live: the
 *   unified one authoritative), with the same answers and no inconsistency.
 */
import type { MigrationStatus } from "@mzts/protocol";
import { describe, expect, it } from "vitest";
import { T } from "../src/harness/auction-workload.js";
import { sortRows, waitFor } from "../src/harness/environment.js";
import { type StageFlags as Flags, stageEnvironment } from "../src/harness/stage-base.js";

const stateFlags = (stage: "shadow" | "live"): Flags => ({
  servers: true,
  replicas: true,
  client: true,
  state: stage,
});
const ROUNDS = 3;

const perturbed = new Set<string>();
const suite = stageEnvironment("mzts-state-stage-", {
  controllerAbsentTimeoutMs: 20_000,
  readHoldTickMs: 250,
  stages: {
    perturbState: (clusterId, s) =>
      perturbed.has(clusterId)
        ? { ...s, failures: new Map([...s.failures, ["u-injected", "an injected difference"]]) }
        : s,
  },
});

async function stateMigration(cluster: string): Promise<MigrationStatus | undefined> {
  const s = await suite.env.status({ cluster });
  return s.clusters[0]?.migrations?.find((m) => m.flag === "cluster-unification-state");
}

/** Peeks both indexes at T `ROUNDS` times; each answer is the all-off cluster's. */
async function peekRounds(suffix: string): Promise<void> {
  for (let i = 0; i < ROUNDS; i++) {
    for (const object of ["bids", "winning"]) {
      const res = await suite.env.peek({
        object: `${object}_${suffix}`,
        timestamp: T,
        timeoutMs: 30_000,
      });
      expect(sortRows(res.rows), `${object}_${suffix} at T`).toEqual(suite.baseline.get(object));
    }
  }
}

/**
 * Waits until the cluster's `state` stage compared `peeks` peeks (each path answered them: the
 * shadow's answers come through the mirrored, uuid-paired responses) and counted at least `n`
 * consistent comparisons (peeks and derived-state ticks).
 */
async function compared(cluster: string, peeks: number, n: number): Promise<MigrationStatus> {
  return waitFor(
    `${peeks} peeks and ${n} consistent state comparisons on ${cluster}`,
    async () => {
      const m = await stateMigration(cluster);
      const answered = m?.paths.every((p) => p.answers >= peeks) ?? false;
      return m !== undefined && answered && m.consistent >= n ? m : undefined;
    },
    20_000,
    100,
  );
}

describe("migration stages: phase 5 state", () => {
  it("shadow then live: same answers, zero inconsistencies, an injected difference counted once", async () => {
    const name = "p_state";
    suite.pending = stateFlags("shadow");
    const { id } = await suite.env.createCluster({ name });
    suite.flagsById.set(id, suite.pending);
    await suite.env.createReplica({ cluster: name, name: "r1", size: 1 });
    await suite.env.createReplica({ cluster: name, name: "r2", size: 1 });
    suite.observe();
    await suite.env.createIndex({
      name: "bids_state",
      cluster: name,
      on: "auction_bids",
      key: [2],
    });
    await suite.env.createIndex({
      name: "winning_state",
      cluster: name,
      on: "winning_bids",
      key: [0],
    });

    for (const stage of ["shadow", "live"] as const) {
      if (stage === "live") {
        suite.flagsById.set(id, stateFlags("live"));
        await suite.env.flipNow(id);
      }
      await peekRounds("state");
      // Peeks (2 × ROUNDS) and a few derived-state ticks, all consistent.
      const m = await compared(name, 2 * ROUNDS, 2 * ROUNDS + 4);
      expect(m, stage).toMatchObject({
        flag: "cluster-unification-state",
        stage,
        authoritative: stage === "shadow" ? "legacy" : "unified",
        compares: true,
        slots: [{ replica: "r1" }, { replica: "r2" }],
        inconsistent: 0,
      });
      expect(m.lastInconsistency, stage).toBeUndefined();
      // The same counts on /metrics (compute-client's comparison series, phase "state").
      const series =
        (await suite.registry.getSingleMetric("mz_cluster_unification_comparisons_total")?.get())
          ?.values ?? [];
      const counted = (result: string) =>
        series
          .filter(
            (v) =>
              v.labels.instance_id === id &&
              v.labels.phase === "state" &&
              v.labels.result === result,
          )
          .reduce((n, v) => n + v.value, 0);
      expect(counted("consistent"), stage).toBeGreaterThanOrEqual(m.consistent);
      expect(counted("inconsistent"), stage).toBe(0);
      expect(
        m.paths.map((p) => [p.path, p.answers, p.errors]),
        `${stage}: each peek answered by both controllers`,
      ).toEqual([
        ["legacy", 2 * ROUNDS, 0],
        ["unified", 2 * ROUNDS, 0],
      ]);
    }

    // An injected difference (the shadow's snapshot gains a failure) is counted exactly once.
    perturbed.add(id);
    try {
      const m = await waitFor(
        "the injected difference counted",
        async () => {
          const s = await stateMigration(name);
          return s !== undefined && s.inconsistent > 0 ? s : undefined;
        },
        20_000,
        100,
      );
      expect(m.lastInconsistency).toMatch(
        /failure u-injected: unified none, legacy an injected difference/,
      );
      const before = m.consistent;
      await new Promise((r) => setTimeout(r, 2_000)); // eight more ticks, the difference persists
      const after = await stateMigration(name);
      expect(after?.inconsistent).toBe(1);
      expect(after?.consistent).toBe(before); // a tick with an open difference is no "consistent"
    } finally {
      perturbed.delete(id);
    }
  }, 90_000);

  it("a restart adopts the live cluster's replicas and runs both controllers again, consistent", async () => {
    const name = "p_state";
    const pids = [...suite.env.replicaPids()].sort();
    await suite.env.close({ keepReplicas: true });
    await suite.boot();
    expect([...suite.env.replicaPids()].sort()).toEqual(pids); // adopted, not restarted
    await peekRounds("state");
    const m = await compared(name, 2 * ROUNDS, 2 * ROUNDS + 4);
    expect(m).toMatchObject({ stage: "live", authoritative: "unified", inconsistent: 0 });
    await suite.env.dropCluster({ name, cascade: true });
  }, 60_000);
});
