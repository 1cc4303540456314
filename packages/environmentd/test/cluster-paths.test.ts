/**
 * Two clusters of one environmentd on different paths: the phases are per cluster (a PhaseSet
 * injected per cluster id), so cluster `unified` runs with `servers` and `replicas` in force and
 * cluster `legacy` with nothing. Each path shows where it is decided:
 * - the replica spec handed to the orchestrator: each clusterd process got its cluster's PhaseSet
 *   (`--phases` on its command line);
 * - status: the flags applied per cluster, and the controller paths `selectControllers` chose when
 *   the cluster's controllers were built (`replicas` in force: the unified replica task);
 * - both clusters serve the same peek (awaiting their inputs' frontiers).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Phase, PhaseSet } from "@mzts/flags";
import { pino } from "pino";
import { Registry } from "prom-client";
import { afterEach, expect, it } from "vitest";
import { createEnvironment, type Environment } from "../src/index.js";
import { phasesOfProcess, until } from "./replica-processes.js";

const START = 1_700_000_000_000n;
const TICKS = 5n;
const TICK_MS = 50;

let cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const f of cleanup.reverse()) await f().catch(() => undefined);
  cleanup = [];
});

it("runs two clusters of one environmentd on different paths", async () => {
  const dir = mkdtempSync(join(tmpdir(), "mzts-cluster-paths-"));
  cleanup.push(async () => rmSync(dir, { recursive: true, force: true }));
  // Each cluster keeps the flags it was first seen with (its id is allocated by the catalog).
  let next: { readonly [P in Phase]?: boolean } = {};
  const flagsOf = new Map<string, { readonly [P in Phase]?: boolean }>();
  const phaseFlags = (id: string) => {
    if (!flagsOf.has(id)) flagsOf.set(id, next);
    return PhaseSet.of(id, flagsOf.get(id));
  };
  const env: Environment = await createEnvironment({
    dataDir: dir,
    phaseFlags,
    logger: pino({ level: "warn" }),
    registry: new Registry(),
    controllerAbsentTimeoutMs: 30_000,
    shardGcIntervalMs: 0,
  });
  cleanup.push(() => env.close());

  next = { servers: true, replicas: true };
  const unified = await env.createCluster({ name: "unified" });
  next = {};
  const legacy = await env.createCluster({ name: "legacy" });
  const replicaIds = new Map<string, string>();
  for (const cluster of ["unified", "legacy"]) {
    const r = await env.createReplica({ cluster, name: "r1", size: 1 });
    replicaIds.set(cluster, r.id);
    await env.createSource({
      name: `${cluster}_counter`,
      cluster,
      loadGenerator: {
        kind: "loadGenerator",
        generator: { kind: "counter" },
        seed: 1n,
        tickIntervalMs: TICK_MS,
        deterministic: { startTimeMs: START, maxTicks: TICKS },
      },
    });
    await env.createIndex({
      name: `${cluster}_idx`,
      cluster,
      on: `${cluster}_counter_counter`,
      key: [],
    });
  }

  // The replica specs handed to the orchestrator: each process got its own cluster's PhaseSet.
  const pids = env.replicaPids();
  const unifiedPhases = phasesOfProcess(pids.get(replicaIds.get("unified") ?? "") ?? -1);
  const legacyPhases = phasesOfProcess(pids.get(replicaIds.get("legacy") ?? "") ?? -1);
  expect(unifiedPhases.clusterId).toBe(unified.id);
  expect(unifiedPhases.inForce).toMatchObject({ servers: true, replicas: true });
  expect(legacyPhases.clusterId).toBe(legacy.id);
  expect(legacyPhases.inForce).toMatchObject({ servers: false, replicas: false });

  // Status: the flags applied per cluster and what selectControllers chose for each.
  const status = await env.status({});
  const byName = new Map(status.clusters.map((c) => [c.name, c]));
  const applied = (name: string, key: string) =>
    byName.get(name)?.flags.find((f) => f.key === key)?.applied;
  expect(applied("unified", "cluster-unification-servers")).toBe(true);
  expect(applied("legacy", "cluster-unification-servers")).toBe(false);
  const replicasSeam = (name: string) =>
    byName.get(name)?.controllers?.find((p) => p.seam === "compute-replicas");
  expect(replicasSeam("unified")).toEqual({
    seam: "compute-replicas",
    flag: "cluster-unification-replicas",
    path: "unified",
    note: "controller-unified replica task (compute protocol)",
  });
  expect(replicasSeam("legacy")?.note).toBe("compute-client replica task");
  for (const c of status.clusters) {
    expect(c.controllers?.map((p) => p.seam)).toEqual([
      "compute-replicas",
      "storage-replicas",
      "client",
      "state",
    ]);
  }

  // Both paths serve the same answer: the counter's final count, at the final upper - 1.
  const answers = [];
  for (const cluster of ["unified", "legacy"]) {
    const r = replicaIds.get(cluster) ?? "";
    await until(`${cluster}'s replica online`, () => env.replicaPids().get(r) !== null);
    // At the last tick: the peek awaits the inputs' frontiers passing it.
    const timestamp = START + TICKS * BigInt(TICK_MS) - 1n;
    const peek = await env.peek({ object: `${cluster}_idx`, timestamp, timeoutMs: 30_000 });
    expect(peek.timestamp).toBe(timestamp);
    answers.push(peek.rows);
  }
  expect(answers[0]).toEqual(answers[1]);
  expect(answers[0]?.length).toBeGreaterThan(0);
}, 120_000);
