/**
 * Migration stages end to end (docs/design/20261207_migration_stages.md): for each built phase
 * whose paths split per replica — servers, logging, client (replica side) and replicas (per
 * replica task) — a two-replica cluster of one environmentd runs the phase in `shadow`, then
 * (a live flip) in `live`:
 * - each replica is launched with its slot's phases (first replica legacy, second unified: the
 *   replica's `--phases`, and for client its one-port layout), and status shows the stage, the
 *   slots and the comparisons;
 * - for replicas, the split is per replica task and seen from outside: environmentd's
 *   `mz_controller_replica_task` has r1's compute and storage connections on the legacy replica
 *   task and r2's on the unified one, in shadow and in live;
 * - peeks at a fixed time are served by the authoritative path's replica (legacy in shadow,
 *   unified in live) and answer exactly what the all-off cluster answers;
 * - every peek's other answer is compared: the deterministic workload counts only consistent
 *   comparisons, and a difference injected into the compared copy of the other path's answer
 *   (the comparator's test hook, never the replica) is counted as inconsistent, so the check
 *   can fail.
 * - off → shadow by a live flip rolls only the unified slot's replica (its successor keeps the
 *   slot and the name); the legacy one keeps running;
 * - a restart keeps the slots: the next environmentd adopts both replicas of a shadow cluster
 *   (same pids: each one's spec is still its slot's phases).
 * One environment serves every phase (one cluster at a time, dropped afterwards, so at most
 * three clusterd run); the data comes from the deterministic auction on an all-off cluster.
 */
import { readFileSync } from "node:fs";
import type { PeekOutcome } from "@mzts/compute-client";
import { type Phase, PhaseSet } from "@mzts/flags";
import type { MigrationStatus } from "@mzts/protocol";
import { describe, expect, it } from "vitest";
import { connectedReplicaTasks, expectedReplicaTasks } from "../src/evaluate/replica-tasks.js";
import { T } from "../src/harness/auction-workload.js";
import { sortRows, waitFor } from "../src/harness/environment.js";
import { type StageFlags as Flags, stageEnvironment } from "../src/harness/stage-base.js";

/** What each phase's cluster runs besides the migrating phase (its prerequisites, complete). */
const CASES: readonly { phase: Phase; flags: (stage: "shadow" | "live") => Flags }[] = [
  { phase: "servers", flags: (s) => ({ servers: s }) },
  { phase: "logging", flags: (s) => ({ servers: true, logging: s }) },
  { phase: "replicas", flags: (s) => ({ replicas: s }) },
  { phase: "client", flags: (s) => ({ servers: true, replicas: true, client: s }) },
];
const ROUNDS = 4;

const perturbed = new Set<string>();
const suite = stageEnvironment("mzts-stages-", {
  controllerAbsentTimeoutMs: 20_000,
  stages: {
    comparisonTimeoutMs: 10_000,
    perturbOther: (clusterId, o: PeekOutcome): PeekOutcome =>
      perturbed.has(clusterId) && o.result === "rows" ? { ...o, rows: [...o.rows, [[-1n], 1]] } : o,
  },
});

/** The `--phases` a replica's process was started with. */
function launchedPhases(replicaId: string): PhaseSet {
  const pid = suite.env.replicaPids().get(replicaId);
  if (pid === undefined || pid === null) throw new Error(`replica ${replicaId} has no process`);
  const args = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
  return PhaseSet.parse(args[args.indexOf("--phases") + 1] ?? "");
}

/** Waits until the replicas' connections run `legacy`'s and `unified`'s tasks, one each. */
async function expectReplicaTasks(clusterId: string, legacy: string, unified: string) {
  const want = expectedReplicaTasks([
    { id: legacy, task: "legacy" },
    { id: unified, task: "unified" },
  ]);
  let last: string[] = [];
  await waitFor(
    `replica tasks ${JSON.stringify(want)}`,
    async () => {
      last = connectedReplicaTasks(await suite.registry.metrics(), clusterId);
      return JSON.stringify(last) === JSON.stringify(want) ? true : undefined;
    },
    20_000,
    100,
  ).catch((e: Error) => {
    throw new Error(`${e.message}; last seen ${JSON.stringify(last)}`);
  });
}

async function migrationOf(cluster: string): Promise<MigrationStatus | undefined> {
  const s = await suite.env.status({ cluster });
  return s.clusters[0]?.migrations?.[0];
}

/** Peeks both of a cluster's indexes at T `ROUNDS` times; returns who answered. */
async function peekRounds(suffix: string): Promise<Set<string>> {
  const answered = new Set<string>();
  for (let i = 0; i < ROUNDS; i++) {
    for (const object of ["bids", "winning"]) {
      const res = await suite.env.peek({
        object: `${object}_${suffix}`,
        timestamp: T,
        timeoutMs: 30_000,
      });
      expect(sortRows(res.rows), `${object}_${suffix} at T`).toEqual(suite.baseline.get(object));
      answered.add(res.replica);
    }
  }
  return answered;
}

/** Waits until `n` comparisons of the cluster finished, and returns its migration status. */
async function settled(cluster: string, n: number): Promise<MigrationStatus> {
  return waitFor(
    `${n} comparisons on ${cluster}`,
    async () => {
      const m = await migrationOf(cluster);
      const done = m === undefined ? 0 : m.consistent + m.inconsistent + m.timeout + m.fallback;
      return done >= n ? m : undefined;
    },
    20_000,
    100,
  );
}

describe("migration stages: shadow and live on a two-replica cluster", () => {
  for (const { phase, flags } of CASES) {
    it(`${phase}: slots, authoritative answers, zero inconsistencies, an injected one counted`, async () => {
      const name = `p_${phase}`;
      suite.pending = flags("shadow");
      const { id } = await suite.env.createCluster({ name });
      suite.flagsById.set(id, suite.pending);
      const r1 = (await suite.env.createReplica({ cluster: name, name: "r1", size: 1 })).id;
      const r2 = (await suite.env.createReplica({ cluster: name, name: "r2", size: 1 })).id;
      suite.observe();
      await suite.env.createIndex({
        name: `bids_${phase}`,
        cluster: name,
        on: "auction_bids",
        key: [2],
      });
      await suite.env.createIndex({
        name: `winning_${phase}`,
        cluster: name,
        on: "winning_bids",
        key: [0],
      });

      // Each replica runs its slot's phases: r1 legacy (the phase off), r2 unified (on).
      if (phase !== "replicas") {
        expect(launchedPhases(r1).inForce[phase]).toBe(false);
        expect(launchedPhases(r2).inForce[phase]).toBe(true);
      }
      if (phase === "client") {
        const loc = (r: string) =>
          suite.env.orchestrator.list().find((s) => s.replicaId === r)?.location;
        expect(loc(r1)?.computeUrl).not.toBe(loc(r1)?.storageUrl);
        expect(loc(r2)?.computeUrl).toBe(loc(r2)?.storageUrl); // one port
      }
      // Hydrated on both replicas before counting (each answers at T by itself).
      for (const replica of ["r1", "r2"]) {
        for (const object of ["bids", "winning"]) {
          await suite.env.peek({
            object: `${object}_${phase}`,
            timestamp: T,
            timeoutMs: 60_000,
            replica,
          });
        }
      }

      let before = (await migrationOf(name))?.consistent ?? 0;
      for (const [stage, answers] of [
        ["shadow", "r1"],
        ["live", "r2"],
      ] as const) {
        if (stage === "live") {
          suite.flagsById.set(id, flags("live"));
          await suite.env.flipNow(id);
          before = 0; // a stage change counts afresh
          // Nothing rolled: shadow → live changes only which path answers.
          expect(suite.env.replicaPids().has(r1) && suite.env.replicaPids().has(r2)).toBe(true);
        }
        expect(await peekRounds(phase), `${stage}: served by`).toEqual(new Set([answers]));
        const m = await settled(name, before + 2 * ROUNDS);
        expect(m).toMatchObject({
          flag: `cluster-unification-${phase}`,
          stage,
          authoritative: stage === "shadow" ? "legacy" : "unified",
          compares: true,
          slots: [
            { replica: "r1", slot: "legacy" },
            { replica: "r2", slot: "unified" },
          ],
          inconsistent: 0,
          timeout: 0,
          fallback: 0,
        });
        expect(m.consistent).toBe(before + 2 * ROUNDS);
        // Per replica task, seen in the metrics: r1's connections run the legacy replica task,
        // r2's the unified one, in both stages (only the authoritative path moves).
        if (phase === "replicas") await expectReplicaTasks(id, r1, r2);
        // Each replica runs its slot's phases: nothing is reported as flipping.
        const flagStates = (await suite.env.status({ cluster: name })).clusters[0]?.flags ?? [];
        expect(flagStates.filter((f) => f.flipping).map((f) => f.key)).toEqual([]);
        expect(m.paths.map((p) => [p.path, p.answers >= 2 * ROUNDS, p.errors])).toEqual([
          ["legacy", true, 0],
          ["unified", true, 0],
        ]);
      }

      // An injected difference in the compared copy is counted (the caller is still served right).
      perturbed.add(id);
      try {
        const res = await suite.env.peek({
          object: `bids_${phase}`,
          timestamp: T,
          timeoutMs: 30_000,
        });
        expect(sortRows(res.rows)).toEqual(suite.baseline.get("bids"));
        const m = await settled(name, 2 * ROUNDS + 1);
        expect(m.inconsistent).toBe(1);
        expect(m.lastInconsistency).toMatch(/\(-1\) occurs 1 more time\(s\) in the other answer/);
      } finally {
        perturbed.delete(id);
      }
      await suite.env.dropCluster({ name, cascade: true });
    }, 90_000);
  }

  it("off → shadow (a live flip) rolls only the unified slot's replica; the successor keeps the slot", async () => {
    suite.pending = {};
    const { id } = await suite.env.createCluster({ name: "p_roll" });
    suite.flagsById.set(id, suite.pending);
    const r1 = (await suite.env.createReplica({ cluster: "p_roll", name: "r1", size: 1 })).id;
    const r2 = (await suite.env.createReplica({ cluster: "p_roll", name: "r2", size: 1 })).id;
    await suite.env.createIndex({
      name: "bids_roll",
      cluster: "p_roll",
      on: "auction_bids",
      key: [2],
    });
    await suite.env.peek({ object: "bids_roll", timestamp: T, timeoutMs: 60_000 });
    suite.observe();
    const pid1 = suite.env.replicaPids().get(r1);
    suite.flagsById.set(id, { servers: "shadow" });
    await suite.env.flipNow(id);
    suite.observe();
    const after = (await suite.env.listClusters()).clusters.find((c) => c.name === "p_roll");
    const ids = new Map(after?.replicas.map((r) => [r.name, r.id]));
    expect(ids.get("r1")).toBe(r1); // legacy slot: runs the legacy path already, not rolled
    expect(suite.env.replicaPids().get(r1)).toBe(pid1);
    const successor = ids.get("r2");
    expect(successor).not.toBe(r2); // rolled onto its slot's phases, under the same name
    expect(launchedPhases(successor ?? "").inForce.servers).toBe(true);
    const res = await suite.env.peek({ object: "bids_roll", timestamp: T, timeoutMs: 30_000 });
    expect(sortRows(res.rows)).toEqual(suite.baseline.get("bids"));
    expect(res.replica).toBe("r1");
    const m = await settled("p_roll", 1);
    expect(m).toMatchObject({
      stage: "shadow",
      consistent: 1,
      slots: [
        { replica: "r1", slot: "legacy" },
        { replica: "r2", slot: "unified" },
      ],
    });
    await suite.env.dropCluster({ name: "p_roll", cascade: true });
  }, 60_000);

  it("a restart keeps every replica's slot: the next environmentd adopts both replicas as they run", async () => {
    suite.pending = { servers: "shadow" };
    const { id } = await suite.env.createCluster({ name: "p_restart" });
    suite.flagsById.set(id, suite.pending);
    const r1 = (await suite.env.createReplica({ cluster: "p_restart", name: "r1", size: 1 })).id;
    const r2 = (await suite.env.createReplica({ cluster: "p_restart", name: "r2", size: 1 })).id;
    suite.observe();
    const pids = [suite.env.replicaPids().get(r1), suite.env.replicaPids().get(r2)];
    await suite.env.close({ keepReplicas: true });
    await suite.boot();
    // Same pids: each replica's spec (its slot's phases) is what it was started with.
    expect([suite.env.replicaPids().get(r1), suite.env.replicaPids().get(r2)]).toEqual(pids);
    expect(launchedPhases(r2).inForce.servers).toBe(true);
    expect((await migrationOf("p_restart"))?.slots).toEqual([
      { replica: "r1", slot: "legacy" },
      { replica: "r2", slot: "unified" },
    ]);
    await suite.env.dropCluster({ name: "p_restart", cascade: true });
  }, 60_000);
});
