/**
 * Phase 3 (replicas) as a function of the flags: one environmentd (a real process, loopback, port
 * 0) on a fresh data directory under `/tmp/replicas-*` whose flags file sets
 * `cluster-unification-replicas` off (legacy compute and storage replica tasks) or on (the
 * unified `ReplicaTask` for both) and, optionally, `cluster-unification-client` (with servers:
 * phase 4, one `ClusterService` stream per replica for both controllers) and
 * `cluster-unification-state` (phase 5, one controller state per cluster), driving the auction
 * workload on two replicas. Returns what a client and an operator can observe, so the tests
 * (`phase3-replicas`, `phase4-client`, `phase5-state`) can assert each run and compare them.
 *
 * ## Scenario (one environment, in order)
 * 1. Paths: status names the path of each controller seam of cluster `c`; the TCP connections
 *    the controllers hold to each replica (socket count and the replica's gauge).
 * 2. kill -9 of r1 under a sequential peek workload: no peek fails or differs; the orchestrator
 *    restarts r1 and the controllers rehydrate it (both connected gauges back to 2).
 * 3. SIGSTOP of r2, once r1 answers at T by itself (a targeted peek: it has rehydrated): the time
 *    until the compute controller, the storage controller and status notice (each polled every
 *    50 ms on its own); meanwhile r1 alone answers the peeks at T, which must equal the hydrated
 *    answers. SIGCONT, reconnected.
 * 4. History bound: 400 peeks, then the compute controller's history size (metric).
 * 5. Observables: answers at T, the reference from the shards, the closed collections'
 *    frontiers, and the names of the controllers' metrics.
 * 6. environmentd kill -9 and restart on the same data directory: the next generation adopts the
 *    replicas (same pids), reconciles them (every dataflow reused on every replica, none
 *    replaced), runs the same paths and answers the same at T.
 *
 * Cleanup (always): environmentd is killed (`stopAll`), every clusterd pid recorded for the data
 * directory is SIGCONT + SIGKILLed, and the directory is removed.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { ControllerPath } from "@mzts/protocol";
import type { Frontier } from "@mzts/repr";
import {
  type AnswersAtT,
  answersAtT,
  COMPUTE_CONNECTED,
  healthByName,
  isMonotone,
  type PeekWorkloadResult,
  peekWorkload,
  pidOf,
  replicaAnswersAtT,
  waitForConnected,
} from "../harness/auction-peeks.js";
import { CLUSTER, createAuctionWorkload, DATAFLOWS, T } from "../harness/auction-workload.js";
import {
  type ControllerConnections,
  controllerConnections,
} from "../harness/controller-connections.js";
import {
  type EnvironmentdHandle,
  metricSum,
  ReplicaReaper,
  reconciledSince,
  reconciliationCounts,
  recordedPid,
  referenceAnswer,
  scrape,
  sleep,
  startEnvironmentd,
  waitFor,
} from "../harness/environment.js";
import { stopAll } from "../harness/processes.js";

const STORAGE_CONNECTED = "mz_storage_controller_connected_replica_count";
const HISTORY = "mz_compute_controller_history_command_count";
/**
 * Peeks settled before the kill of r1, and again once it is back (the workload is sequential:
 * ~125 a second on the 2-core CI machine, where a fixed 1 s of them was waited for before).
 */
const PEEKS_AROUND_KILL = 60;

/** Detection times (ms after the SIGSTOP; undefined = not within the deadline). */
export interface Detection {
  readonly computeMs: number | undefined;
  readonly storageMs: number | undefined;
  readonly statusMs: number | undefined;
}

/** What one run observed. */
export interface Phase3Observations {
  /** Status: the controller paths of cluster `c`. */
  readonly paths: readonly ControllerPath[];
  /** Per replica name: the controllers' TCP connections to it once both are connected. */
  readonly connections: ReadonlyMap<string, ControllerConnections>;
  readonly failover: PeekWorkloadResult & {
    readonly restartMs: number;
    readonly monotone: boolean;
  };
  /** Answers at T of the rehydrated r1 (a peek targeted at it, before the stop of r2). */
  readonly r1AtT: AnswersAtT;
  /** Answers at T while only the rehydrated r1 could answer (r2 stopped). */
  readonly rehydrated: AnswersAtT;
  readonly detection: Detection;
  /** Whether environmentd stayed up through the stop. */
  readonly survivedStop: boolean;
  /** The compute controller's history size after 400 peeks. */
  readonly historyAfterPeeks: number;
  /** Answers at T: the hydrated baseline, the last ones (after everything), the shards' reference. */
  readonly atT: AnswersAtT;
  readonly final: AnswersAtT;
  readonly reference: AnswersAtT;
  /** Write frontiers of the collections, except the real-time ticker's. */
  readonly closedFrontiers: ReadonlyMap<string, Frontier>;
  /** Names of environmentd's compute and storage controller metrics, sorted. */
  readonly metricNames: readonly string[];
  /** Compute and storage replica connects over the run (2 + 2 at start, + rehydrations). */
  readonly connects: { readonly compute: number; readonly storage: number };
  /** After environmentd's kill -9 and restart. */
  readonly restart: {
    readonly nextGeneration: boolean;
    /** Every replica kept its pid. */
    readonly adopted: boolean;
    readonly reused: number;
    readonly replaced: number;
    /** Dataflows × replicas. */
    readonly expected: number;
    readonly paths: readonly ControllerPath[];
    readonly answers: AnswersAtT;
  };
}

/** The flags of a run. */
export interface Phase3Flags {
  /** `cluster-unification-replicas`. */
  readonly replicas: boolean;
  /** `cluster-unification-client` (with `cluster-unification-servers`, its prerequisite). */
  readonly client?: boolean;
  /** `cluster-unification-state` (needs `client`: one controller state per cluster, phase 5). */
  readonly state?: boolean;
}

/** Runs the scenario with `cluster-unification-replicas` = `replicas` (and `client`). */
export async function runPhase3Scenario(opts: Phase3Flags): Promise<Phase3Observations> {
  const dataDir = mkdtempSync("/tmp/replicas-");
  const reaper = new ReplicaReaper(dataDir);
  const stopped = new Set<number>();
  const flagValues: Record<string, boolean> = { "cluster-unification-replicas": opts.replicas };
  if (opts.client === true) {
    flagValues["cluster-unification-servers"] = true;
    flagValues["cluster-unification-client"] = true;
  }
  if (opts.state === true) flagValues["cluster-unification-state"] = true;
  writeFileSync(join(dataDir, "flags.json"), JSON.stringify({ flagValues }));
  const env = await startEnvironmentd({ dataDir });
  let env2: EnvironmentdHandle | undefined;
  try {
    const api = env.api;
    const s = await createAuctionWorkload(api, 2);
    await waitForConnected(env, s.clusterId, 2);
    const paths = (await api.status(CLUSTER)).clusters[0]?.controllers ?? [];
    const r1 = s.replicaIds.get("r1") as string;
    const r2 = s.replicaIds.get("r2") as string;
    await waitFor("storage connected to both replicas", async () =>
      metricSum(await scrape(env.httpUrl), STORAGE_CONNECTED) === 2 ? true : undefined,
    );
    const connections = new Map<string, ControllerConnections>();
    for (const [name, id] of s.replicaIds) {
      const record = reaper.observe().find((x) => x.replicaId === id);
      if (record !== undefined) connections.set(name, await controllerConnections(record));
    }

    // 2. kill -9 of r1 under peeks.
    const oldPid = pidOf(reaper.observe(), r1);
    let outage = false;
    const workload = peekWorkload(api, s, () => outage);
    await workload.settled(PEEKS_AROUND_KILL);
    const killedAt = Date.now();
    outage = true;
    process.kill(oldPid, "SIGKILL");
    await reaper.waitForRestart(r1, oldPid);
    await waitFor(
      "r1 online and both replicas connected to both controllers",
      async () => {
        const m = await scrape(env.httpUrl);
        const ok =
          (await healthByName(api)).get("r1") === "online" &&
          metricSum(m, COMPUTE_CONNECTED, { instance_id: s.clusterId }) === 2 &&
          metricSum(m, STORAGE_CONNECTED) === 2;
        return ok ? true : undefined;
      },
      20_000,
    );
    outage = false;
    const restartMs = Date.now() - killedAt;
    await workload.settled(PEEKS_AROUND_KILL); // keep peeking against the rehydrated replica
    const w = await workload.stop();

    // 3. SIGSTOP of r2: detection, and r1 alone answers. First r1 answers at T by itself: it has
    // rehydrated (connected is not hydrated). A stop that lands inside r2's consensus commit holds
    // the write lock of every shard, and a replica still hydrating (registering its persist
    // readers) could then answer nothing until the SIGCONT (`replicaAnswersAtT`).
    const r1AtT = await replicaAnswersAtT(api, "r1");
    const pid2 = pidOf(reaper.observe(), r2);
    const alive = () =>
      env.process.child.exitCode === null && env.process.child.signalCode === null;
    stopped.add(pid2);
    const stoppedAt = Date.now();
    process.kill(pid2, "SIGSTOP");
    // Each signal is polled on its own (every 50 ms, the time taken when its answer arrived), so
    // a slow answer of one (a status call, a peek) does not delay noticing another; the peeks at
    // T run beside them.
    const deadline = stoppedAt + 12_000;
    const firstTime = async (seen: () => Promise<boolean>): Promise<number | undefined> => {
      while (alive() && Date.now() < deadline) {
        if (await seen()) return Date.now() - stoppedAt;
        await sleep(50);
      }
      return undefined;
    };
    const connectedBelow2 = async (name: string, labels: Record<string, string> = {}) =>
      metricSum(await scrape(env.httpUrl), name, labels) < 2;
    const [computeMs, storageMs, statusMs, rehydrated] = await Promise.all([
      firstTime(() => connectedBelow2(COMPUTE_CONNECTED, { instance_id: s.clusterId })),
      firstTime(() => connectedBelow2(STORAGE_CONNECTED)),
      firstTime(async () => (await healthByName(api)).get("r2") !== "online"),
      answersAtT(api),
    ]);
    const survivedStop = alive();
    process.kill(pid2, "SIGCONT");
    stopped.delete(pid2);
    if (survivedStop) await waitForConnected(env, s.clusterId, 2, 20_000);

    // 4. History bound.
    for (let i = 0; i < 400; i++) {
      await api.peek({
        object: i % 2 === 0 ? "winning_bids_idx" : "ticker_counter",
        timeoutMs: 10_000,
      });
    }
    const afterPeeks = await scrape(env.httpUrl);
    const historyAfterPeeks = metricSum(afterPeeks, HISTORY, { instance_id: s.clusterId });

    // 5. Observables.
    const final = await answersAtT(api);
    const status = await api.status(CLUSTER);
    const closedFrontiers = new Map(
      (status.clusters[0]?.collections ?? [])
        .filter((c) => !c.name.startsWith("ticker"))
        .map((c) => [c.name, c.writeFrontier] as const),
    );
    const metricNames = [
      ...new Set(
        afterPeeks
          .map((x) => x.name)
          .filter((n) => /^mz_(compute|storage)_(controller_|commands|responses|peek)/.test(n)),
      ),
    ].sort();
    const connects = {
      compute: metricSum(afterPeeks, "mz_compute_controller_replica_connects_total", {
        instance_id: s.clusterId,
      }),
      storage: metricSum(afterPeeks, "mz_storage_controller_replica_connects_total"),
    };
    const reference = {
      bids: await referenceAnswer(dataDir, s.bidsPlan, T),
      winning: await referenceAnswer(dataDir, s.winningPlan, T),
    };

    // 6. environmentd kill -9 and restart.
    const records = reaper.observe().filter((x) => x.clusterId === s.clusterId);
    const pids = new Map(records.map((x) => [x.replicaId, x.pid]));
    const before = await reconciliationCounts(records);
    env.process.child.kill("SIGKILL");
    await env.process.exited;
    env2 = await startEnvironmentd({ dataDir });
    await waitForConnected(env2, s.clusterId, 2);
    await waitFor("storage connected to both replicas", async () =>
      metricSum(await scrape(env2?.httpUrl ?? ""), STORAGE_CONNECTED) === 2 ? true : undefined,
    );
    const adopted = [...pids].every(([id, pid]) => recordedPid(reaper.observe(), id) === pid);
    const expected = DATAFLOWS * pids.size;
    const { reused, replaced } = await reconciledSince(records, before, expected);
    const restart = {
      nextGeneration: env2.generation === env.generation + 1n,
      adopted,
      reused,
      replaced,
      expected,
      paths: (await env2.api.status(CLUSTER)).clusters[0]?.controllers ?? [],
      answers: await answersAtT(env2.api, 20_000),
    };
    return {
      paths,
      connections,
      failover: { ...w, restartMs, monotone: isMonotone(w.freshTimes) },
      r1AtT,
      rehydrated,
      detection: { computeMs, storageMs, statusMs },
      survivedStop,
      historyAfterPeeks,
      atT: { bids: s.bidsAtT, winning: s.winningAtT },
      final,
      reference,
      closedFrontiers,
      metricNames,
      connects,
      restart,
    };
  } finally {
    env.api.close();
    env2?.api.close();
    await stopAll();
    for (const pid of stopped) {
      try {
        process.kill(pid, "SIGCONT");
      } catch {
        // gone
      }
    }
    reaper.reap();
    rmSync(dataDir, { recursive: true, force: true });
  }
}
