/**
 * Phase-3 benchmark: the controller's replica handling with `cluster-unification-replicas` off
 * (legacy compute and storage replica tasks, the baseline of every ratio) and on (the unified
 * `ReplicaTask`), measured in the same run, interleaved (off, on, off, on, …; medians).
 *
 * Every run boots a fresh environmentd (temp data dir `/tmp/replicas-*`, ports 0, its flags file
 * setting the phase) with cluster `c`: `--replicas` replicas (size 1), a deterministic COUNTER
 * source (20 ticks, then closed: hydration is the whole work) and `--dataflows` indexes on it
 * (`idx_1` … `idx_n`), then measures:
 * - `rehydrate`: kill -9 of r1, until (a) the orchestrator restarted it (a record with a new pid),
 *   (b) both controllers connected it again (their connects counters grew), (c) it hydrated every
 *   dataflow: a peek of each index aimed at r1 (`replica: "r1"`) answers (8 in flight).
 * - `detect`: SIGSTOP of r2, until the compute and the storage controllers' connected-replica
 *   gauges drop (polled every 20 ms); then SIGCONT and wait for the reconnect.
 * - `storm`: kill -9 of every replica at once, until both controllers count every replica
 *   connected again and each replica answers a peek of the last index aimed at it.
 *
 * Cleanup: environmentd is killed and every clusterd recorded for the data directory is
 * SIGCONT + SIGKILLed, on success, failure and SIGINT; the directory is removed. Progress goes to
 * stderr, the table to stdout.
 *
 * Usage: tsx bench/replicas.bench.ts [--runs N] [--dataflows D] [--replicas R] [--help]
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  type EnvironmentApi,
  type EnvironmentdHandle,
  metricSum,
  ReplicaReaper,
  recordedPid,
  scrape,
  sleep,
  startEnvironmentd,
  waitFor,
} from "../src/harness/environment.js";
import { stopAll } from "../src/harness/processes.js";

const HELP = `usage: tsx bench/replicas.bench.ts [--runs N] [--dataflows D] [--replicas R] [--help]
  --runs N       interleaved runs per path, medians reported (default 1)
  --dataflows D  indexes on the cluster (default 100)
  --replicas R   replicas of the cluster, all restarted by the storm (default 3)`;

const args = process.argv.slice(2);
if (args.includes("--help")) {
  console.log(HELP);
  process.exit(0);
}
const options: Record<string, number> = { "--runs": 1, "--dataflows": 100, "--replicas": 3 };
for (let i = 0; i < args.length; i++) {
  const a = args[i] as string;
  const n = Number(args[i + 1]);
  if (!(a in options)) throw new Error(`unknown argument ${a}\n${HELP}`);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${a} needs a positive integer\n${HELP}`);
  options[a] = n;
  i++;
}
const RUNS = options["--runs"] as number;
const DATAFLOWS = options["--dataflows"] as number;
const REPLICAS = Math.max(2, options["--replicas"] as number);
const CLUSTER = "c";
const COMPUTE_CONNECTED = "mz_compute_controller_connected_replica_count";
const STORAGE_CONNECTED = "mz_storage_controller_connected_replica_count";
const COMPUTE_CONNECTS = "mz_compute_controller_replica_connects_total";
const STORAGE_CONNECTS = "mz_storage_controller_replica_connects_total";

const log = (msg: string) => process.stderr.write(`${msg}\n`);

/** One run's numbers (ms). */
interface Sample {
  restart: number;
  connected: number;
  hydrated: number;
  detectCompute: number;
  detectStorage: number;
  storm: number;
  /** Connects of r1 (compute + storage) between its kill and its hydration (2 = one each). */
  reconnects: number;
  /** "replica task failed" / "storage replica failed" warnings environmentd logged in the run. */
  failureLogs: number;
}

interface Running {
  readonly dataDir: string;
  readonly reaper: ReplicaReaper;
  readonly stopped: Set<number>;
}
const running = new Set<Running>();

function cleanup(r: Running): void {
  for (const pid of r.stopped) {
    try {
      process.kill(pid, "SIGCONT");
    } catch {
      // gone
    }
  }
  r.reaper.reap();
  rmSync(r.dataDir, { recursive: true, force: true });
  running.delete(r);
}
process.on("SIGINT", () => {
  void stopAll().finally(() => {
    for (const r of [...running]) cleanup(r);
    process.exit(130);
  });
});

async function counts(env: EnvironmentdHandle, clusterId: string) {
  const m = await scrape(env.httpUrl);
  return {
    computeConnected: metricSum(m, COMPUTE_CONNECTED, { instance_id: clusterId }),
    storageConnected: metricSum(m, STORAGE_CONNECTED),
    computeConnects: metricSum(m, COMPUTE_CONNECTS, { instance_id: clusterId }),
    storageConnects: metricSum(m, STORAGE_CONNECTS),
  };
}

/** Peeks every index in `names` aimed at `replica` until each answered (8 in flight). */
async function peekAll(api: EnvironmentApi, replica: string, names: readonly string[]) {
  let next = 0;
  const worker = async () => {
    while (next < names.length) {
      const object = names[next++] as string;
      await waitFor(
        `${object} on ${replica}`,
        () => api.peek({ object, replica, timeoutMs: 5000 }).then(() => true),
        60_000,
        20,
      );
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
}

async function runOnce(unified: boolean): Promise<Sample> {
  const dataDir = mkdtempSync("/tmp/replicas-");
  const r: Running = { dataDir, reaper: new ReplicaReaper(dataDir), stopped: new Set() };
  running.add(r);
  writeFileSync(
    join(dataDir, "flags.json"),
    JSON.stringify({ flagValues: { "cluster-unification-replicas": unified } }),
  );
  const env = await startEnvironmentd({ dataDir });
  try {
    const api = env.api;
    const clusterId = await api.createCluster(CLUSTER);
    const replicaIds = new Map<string, string>();
    for (let i = 1; i <= REPLICAS; i++) {
      replicaIds.set(`r${i}`, await api.createReplica(CLUSTER, `r${i}`, 1));
    }
    await api.createSource({
      name: "ticker",
      cluster: CLUSTER,
      loadGenerator: {
        kind: "loadGenerator",
        generator: { kind: "counter" },
        seed: 1n,
        tickIntervalMs: 100,
        // Closed after 20 ticks: hydration is the whole work, no steady stream behind it.
        deterministic: { startTimeMs: 1_700_000_000_000n, maxTicks: 20n },
      },
    });
    const names: string[] = [];
    for (let i = 1; i <= DATAFLOWS; i++) {
      names.push(`idx_${i}`);
      await api.createIndex({ name: `idx_${i}`, cluster: CLUSTER, on: "ticker_counter", key: [0] });
    }
    log(`${unified ? "unified" : "legacy"}: ${DATAFLOWS} indexes created; hydrating`);
    for (const name of replicaIds.keys()) await peekAll(api, name, names);
    await waitFor("all connected", async () => {
      const c = await counts(env, clusterId);
      return c.computeConnected === REPLICAS && c.storageConnected === REPLICAS ? true : undefined;
    });
    const path = unified ? "unified" : "legacy";
    log(`${path}: ${REPLICAS} replicas hydrated ${DATAFLOWS} dataflows`);

    // rehydrate
    const r1 = replicaIds.get("r1") as string;
    const before = await counts(env, clusterId);
    const oldPid = recordedPid(r.reaper.observe(), r1) as number;
    const killedAt = performance.now();
    process.kill(oldPid, "SIGKILL");
    await r.reaper.waitForRestart(r1, oldPid, 30_000, 10);
    const restart = performance.now() - killedAt;
    await waitFor(
      "r1 reconnected",
      async () => {
        const c = await counts(env, clusterId);
        return c.computeConnects > before.computeConnects &&
          c.storageConnects > before.storageConnects
          ? true
          : undefined;
      },
      30_000,
      10,
    );
    const connected = performance.now() - killedAt;
    await peekAll(api, "r1", names);
    const hydrated = performance.now() - killedAt;
    const after = await counts(env, clusterId);
    const reconnects =
      after.computeConnects -
      before.computeConnects +
      after.storageConnects -
      before.storageConnects;
    log(
      `${path}: rehydrate restart ${restart.toFixed(0)} connected ${connected.toFixed(0)} hydrated ${hydrated.toFixed(0)} ms`,
    );

    // detect
    await waitFor("all connected", async () => {
      const c = await counts(env, clusterId);
      return c.computeConnected === REPLICAS && c.storageConnected === REPLICAS ? true : undefined;
    });
    const pid2 = recordedPid(r.reaper.observe(), replicaIds.get("r2") as string) as number;
    r.stopped.add(pid2);
    const stoppedAt = performance.now();
    process.kill(pid2, "SIGSTOP");
    let detectCompute = Number.NaN;
    let detectStorage = Number.NaN;
    while (performance.now() - stoppedAt < 15_000) {
      const c = await counts(env, clusterId);
      const at = performance.now() - stoppedAt;
      if (Number.isNaN(detectCompute) && c.computeConnected < REPLICAS) detectCompute = at;
      if (Number.isNaN(detectStorage) && c.storageConnected < REPLICAS) detectStorage = at;
      if (!Number.isNaN(detectCompute) && !Number.isNaN(detectStorage)) break;
      await sleep(20);
    }
    process.kill(pid2, "SIGCONT");
    r.stopped.delete(pid2);
    log(
      `${path}: detect compute ${detectCompute.toFixed(0)} storage ${detectStorage.toFixed(0)} ms`,
    );

    // storm
    await waitFor("all connected", async () => {
      const c = await counts(env, clusterId);
      return c.computeConnected === REPLICAS && c.storageConnected === REPLICAS ? true : undefined;
    });
    const pids = new Map(
      [...replicaIds].map(([n, id]) => [n, recordedPid(r.reaper.observe(), id) as number]),
    );
    const stormAt = performance.now();
    for (const pid of pids.values()) process.kill(pid, "SIGKILL");
    await waitFor(
      "every replica back",
      async () => {
        const c = await counts(env, clusterId);
        const records = r.reaper.observe();
        const restarted = [...replicaIds].every(([n, id]) => {
          const p = recordedPid(records, id);
          return p !== undefined && p !== pids.get(n);
        });
        return restarted && c.computeConnected === REPLICAS && c.storageConnected === REPLICAS
          ? true
          : undefined;
      },
      60_000,
      20,
    );
    const last = names.at(-1) as string;
    await Promise.all([...replicaIds.keys()].map((n) => peekAll(api, n, [last])));
    const storm = performance.now() - stormAt;
    const logged = `${env.process.stderr()}\n${env.process.lines.join("\n")}`;
    const failureLogs = logged.match(/replica task failed|storage replica failed/g)?.length ?? 0;
    log(
      `${path}: storm ${storm.toFixed(0)} ms; r1 connects while rehydrating ${reconnects}; failure logs ${failureLogs}`,
    );
    return {
      restart,
      connected,
      hydrated,
      detectCompute,
      detectStorage,
      storm,
      reconnects,
      failureLogs,
    };
  } finally {
    env.api.close();
    await stopAll();
    cleanup(r);
  }
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}

const samples: Record<"legacy" | "unified", Sample[]> = { legacy: [], unified: [] };
for (let run = 0; run < RUNS; run++) {
  samples.legacy.push(await runOnce(false));
  samples.unified.push(await runOnce(true));
}
const rows: Array<[string, keyof Sample]> = [
  [`rehydrate: r1 restarted by the orchestrator (${DATAFLOWS} dataflows)`, "restart"],
  ["rehydrate: r1 connected to both controllers", "connected"],
  [`rehydrate: r1 answers all ${DATAFLOWS} indexes`, "hydrated"],
  ["detect SIGSTOP: compute controller", "detectCompute"],
  ["detect SIGSTOP: storage controller", "detectStorage"],
  [`reconnect storm: ${REPLICAS} replicas killed at once, all back and answering`, "storm"],
  ["r1 connects (compute + storage) while rehydrating (2 = one each)", "reconnects"],
  ["replica failure warnings logged by environmentd over the run", "failureLogs"],
];
console.log(`\nphase 3 replicas: legacy (off) vs unified (on), median of ${RUNS} run(s), ms`);
console.log("| measure | legacy | unified | ratio (unified / legacy) |");
console.log("| --- | ---: | ---: | ---: |");
for (const [label, key] of rows) {
  const l = median(samples.legacy.map((s) => s[key]));
  const u = median(samples.unified.map((s) => s[key]));
  console.log(`| ${label} | ${l.toFixed(0)} | ${u.toFixed(0)} | ${(u / l).toFixed(2)} |`);
}
