/**
 * Scale benchmark (issue 16): what idle dataflows cost. One environmentd, one cluster with one
 * replica (size 1), a COUNTER source ticking once a second, and N indexes on its subsource; the
 * same measurements at the baseline N (the demo's size, 4) and at each larger N, so every figure
 * is also printed as a ratio to the baseline measured in the same run:
 * - idle replica CPU and idle environmentd CPU (% of a core, from `/proc/<pid>/stat` over
 *   `BENCH_IDLE_S` seconds after a
 *   `BENCH_SETTLE_S` settle; keep the settle at least the replicas' log retention,
 *   `LOG_RETENTION_MS` = 10 s, so the log history held, and the collector's work over it, is at
 *   its steady size in the window), consensus writes per second (the sum of the shards' seqno
 *   growth in the replica's persist SQLite over the same window);
 * - API peek p50/p99 (round-robin over the indexes, freshest time), Status p50;
 * - environmentd and replica RSS;
 * - setup: the wall time of each `createIndex` (mean, and per tenth of the N: flat when creating
 *   is O(N) in all, rising when each create costs O(catalog));
 * - rehydration: kill -9 of the replica until every index answers an API peek at a fresh
 *   timestamp (no earlier than one read just before the kill) again, probed by `BENCH_PROBES`
 *   concurrent peekers (default 16) so the figure is the replica's and environmentd's, not
 *   N × one peek's latency; the first and the last index answering are reported separately.
 * Everything started is stopped on exit, failure and SIGINT (the harness's process registry and
 * the replicas recorded for the data dir). Progress goes to stderr, the table to stdout.
 *
 * Usage: tsx bench/scale.bench.ts [--indexes 300,1000] [--help]
 * Profiles: `BENCH_PROFILE_DIR=<dir>` runs environmentd and the replicas with `--cpu-prof`
 * (`<dir>/<N>/{environmentd,clusterd}`, the harness's `MZ_E2E_PROFILE_DIR`); after the
 * rehydration the restarted replica idles another `BENCH_IDLE_S` and then it and environmentd
 * are stopped with SIGTERM, so the replica's profile is its rehydration plus an idle period and
 * environmentd's covers the whole run (the peeks and Status calls included).
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import {
  type EnvironmentdHandle,
  readReplicaRecords,
  startEnvironmentd,
} from "../src/harness/environment.js";
import { stopAll } from "../src/harness/processes.js";
import { cpuTicks } from "./proc-cpu.js";
import { createTickerCluster, TICKER_SUBSOURCE } from "./ticker-cluster.js";

const HELP = `usage: tsx bench/scale.bench.ts [--indexes N[,N...]] [--help]
  --indexes  the index counts measured beside the baseline of ${4} (default 300)
env: BENCH_SETTLE_S (default 10), BENCH_IDLE_S (default 10), BENCH_PEEKS (default 100),
BENCH_PROBES (concurrent peekers of the rehydration probe, default 16),
BENCH_PROFILE_DIR (write replica CPU profiles there)`;

const args = process.argv.slice(2);
if (args.includes("--help")) {
  console.log(HELP);
  process.exit(0);
}
const BASELINE = 4;
let counts = [300];
for (let i = 0; i < args.length; i++) {
  if (args[i] === "--indexes") {
    counts = (args[++i] ?? "").split(",").map(Number);
    if (counts.some((n) => !Number.isInteger(n) || n < 1))
      throw new Error(`bad --indexes\n${HELP}`);
  } else throw new Error(`unknown argument ${args[i]}\n${HELP}`);
}
const SETTLE_S = Number(process.env.BENCH_SETTLE_S ?? 10);
const IDLE_S = Number(process.env.BENCH_IDLE_S ?? 10);
const PEEKS = Number(process.env.BENCH_PEEKS ?? 100);
/** Unset or empty: no profiles. */
const PROFILE_DIR = process.env.BENCH_PROFILE_DIR || undefined;
const PROBES = Number(process.env.BENCH_PROBES ?? 16);

const progress = (s: string) => process.stderr.write(`${s}\n`);
const load = () =>
  loadavg()
    .map((v) => v.toFixed(1))
    .join(" / ");
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

interface Row {
  readonly indexes: number;
  readonly cpuPct: number;
  /** environmentd's CPU over the same idle window (% of a core). */
  readonly envCpuPct: number;
  readonly consensusWritesPerS: number;
  readonly peekP50Ms: number;
  readonly peekP99Ms: number;
  readonly statusP50Ms: number;
  readonly envRssMb: number;
  readonly replicaRssMb: number;
  /** Setup: the mean wall time of one `createIndex` over the N creates, and of each tenth. */
  readonly createMsPerIndex: { readonly mean: number; readonly tenths: readonly number[] };
  /** kill -9 → the replica's successor process recorded. */
  readonly respawnS: number;
  /** The same probe over every index at steady state (no restart): its own floor. */
  readonly probeFloorS: number;
  /** kill -9 → the first index answering a fresh peek again. */
  readonly firstAnswerS: number;
  /** kill -9 → the last index answering a fresh peek again. */
  readonly rehydrationS: number;
}

function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return m ? Number(m[1]) / 1024 : Number.NaN;
}
const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? Number.NaN;
};

async function measure(n: number): Promise<Row> {
  const dir = mkdtempSync(join(tmpdir(), "mzts-bench-scale-"));
  let env: EnvironmentdHandle | undefined;
  try {
    if (PROFILE_DIR !== undefined) process.env.MZ_E2E_PROFILE_DIR = join(PROFILE_DIR, String(n));
    env = await startEnvironmentd({ dataDir: dir, readyTimeoutMs: 60_000 });
    const api = env.api;
    await createTickerCluster(api);
    const t0 = performance.now();
    const createMs: number[] = [];
    for (let i = 0; i < n; i++) {
      const a = performance.now();
      await api.createIndex({ name: `i${i}`, cluster: "c", on: TICKER_SUBSOURCE, key: [0] });
      createMs.push(performance.now() - a);
      if ((i + 1) % 100 === 0) progress(`  ${n}: ${i + 1} indexes created`);
    }
    const mean = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    const tenth = Math.max(1, Math.floor(n / 10));
    const createMsPerIndex = {
      mean: mean(createMs),
      tenths: Array.from({ length: Math.ceil(n / tenth) }, (_, j) =>
        mean(createMs.slice(j * tenth, (j + 1) * tenth)),
      ),
    };
    progress(
      `  ${n}: created in ${((performance.now() - t0) / 1000).toFixed(1)} s (ms per index by tenth: ${createMsPerIndex.tenths.map((v) => v.toFixed(1)).join(", ")}; load ${load()}); settling`,
    );
    await untilAllAnswer(env, n, 180_000);
    await sleep(SETTLE_S * 1000);
    const pid = readReplicaRecords(dir)[0]!.pid;
    const db = new Database(join(dir, "persist", "consensus.sqlite"), { readonly: true });
    const seqs = () =>
      Number(
        (
          db
            .prepare(
              "SELECT SUM(m) AS s FROM (SELECT MAX(seqno) AS m FROM consensus GROUP BY shard)",
            )
            .get() as { s: number | bigint }
        ).s,
      );
    const s0 = seqs();
    const envPid = env.process.child.pid!;
    const c0 = cpuTicks(pid);
    const e0 = cpuTicks(envPid);
    const idleFrom = new Date();
    await sleep(IDLE_S * 1000);
    const cpuPct = ((cpuTicks(pid) - c0) / 100 / IDLE_S) * 100;
    const envCpuPct = ((cpuTicks(envPid) - e0) / 100 / IDLE_S) * 100;
    // Wall-clock bounds, to window environmentd's profile on the idle period
    // (`cpuprofile-summary.ts --from/--to`, seconds after its start in the file name).
    progress(
      `  ${n}: idle window ${idleFrom.toISOString()} → ${new Date().toISOString()}: replica ${cpuPct.toFixed(1)} %, environmentd ${envCpuPct.toFixed(1)} % of a core (load ${load()})`,
    );
    const consensusWritesPerS = (seqs() - s0) / IDLE_S;
    db.close();
    const peeks: number[] = [];
    for (let i = 0; i < PEEKS; i++) {
      const a = performance.now();
      await api.peek({ object: `i${i % n}` });
      peeks.push(performance.now() - a);
    }
    const statuses: number[] = [];
    for (let i = 0; i < 20; i++) {
      const a = performance.now();
      await api.status();
      statuses.push(performance.now() - a);
    }
    const row0 = {
      cpuPct,
      envCpuPct,
      consensusWritesPerS,
      peekP50Ms: pct(peeks, 50),
      peekP99Ms: pct(peeks, 99),
      statusP50Ms: pct(statuses, 50),
      envRssMb: rssMb(envPid),
      replicaRssMb: rssMb(pid),
    };
    // The probe's own floor: one pass over every index while nothing restarts.
    const floor = await untilAllAnswer(env, n, 180_000);
    progress(
      `  ${n}: a probe pass at steady state takes ${(floor.lastMs / 1000).toFixed(2)} s (load ${load()}); kill -9 of the replica`,
    );
    const atKill = BigInt((await api.peek({ object: "i0", replica: "r1" })).timestamp);
    const k = performance.now();
    const killedAt = Date.now();
    process.kill(pid, "SIGKILL");
    const restarted = Date.now() + 60_000;
    while (readReplicaRecords(dir)[0]?.pid === pid && Date.now() < restarted) await sleep(20);
    const respawnS = (performance.now() - k) / 1000;
    const answered = await untilAllAnswer(env, n, 180_000, k, atKill);
    const rehydrationS = answered.lastMs / 1000;
    progress(`  ${n}: restart timeline (s after the kill): ${restartTimeline(dir, killedAt)}`);
    progress(
      `  ${n}: respawned after ${respawnS.toFixed(2)} s; first index answering ${(answered.firstMs / 1000).toFixed(2)} s, last ${rehydrationS.toFixed(2)} s (load ${load()})`,
    );
    if (PROFILE_DIR !== undefined) {
      await sleep(IDLE_S * 1000);
      const next = readReplicaRecords(dir)[0]!.pid;
      process.kill(next, "SIGTERM");
      env.process.child.kill("SIGTERM");
      await sleep(5000);
    }
    return {
      indexes: n,
      ...row0,
      createMsPerIndex,
      respawnS,
      probeFloorS: floor.lastMs / 1000,
      firstAnswerS: answered.firstMs / 1000,
      rehydrationS,
    };
  } finally {
    env?.api.close();
    await stopAll();
    for (const r of readReplicaRecords(dir)) {
      try {
        process.kill(r.pid, "SIGKILL");
      } catch {
        // gone
      }
    }
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * The restarted replica's milestones from its log (pino lines after `killedAt`): process up,
 * serving, the compute controller connected, its reconciliation done — where the time before the
 * first answer goes.
 */
function restartTimeline(dataDir: string, killedAt: number): string {
  const logs = join(dataDir, "orchestrator", "logs");
  const marks: Array<[string, (l: { msg?: string; workload?: string }) => boolean]> = [
    ["first log line", () => true],
    ["clusterd ready", (l) => l.msg === "clusterd ready"],
    [
      "compute controller connected",
      (l) => l.msg === "controller connected" && l.workload === "compute",
    ],
    ["reconciliation done", (l) => l.msg === "compute: reconciliation done"],
  ];
  const found = new Map<string, number>();
  try {
    for (const f of readdirSync(logs).filter((x) => x.endsWith(".out.log"))) {
      for (const line of readFileSync(join(logs, f), "utf8").split("\n")) {
        if (!line.startsWith("{")) continue;
        const l = JSON.parse(line) as { time?: number; msg?: string; workload?: string };
        if (l.time === undefined || l.time < killedAt) continue;
        for (const [name, p] of marks) {
          if (!found.has(name) && p(l)) found.set(name, l.time);
        }
      }
    }
  } catch (e) {
    return `unreadable (${(e as Error).message})`;
  }
  return marks
    .map(([name]) => {
      const t = found.get(name);
      return `${name} ${t === undefined ? "–" : ((t - killedAt) / 1000).toFixed(2)}`;
    })
    .join(", ");
}

/** When the indexes answered: the first and the last, in ms from `since`. */
interface Answered {
  readonly firstMs: number;
  readonly lastMs: number;
}

/**
 * Waits until every index answers a peek aimed at the replica at a fresh timestamp (the freshest
 * complete time environmentd chooses, and at least `atLeast`: a time no earlier than the kill, so
 * an answer from before the restart cannot count). `PROBES` peekers share one queue of indexes; an
 * index whose peek fails or is too old goes to the back of it. Returns when the first and the last
 * index answered, in ms after `since`.
 */
async function untilAllAnswer(
  env: EnvironmentdHandle,
  n: number,
  timeoutMs: number,
  since = performance.now(),
  atLeast = 0n,
): Promise<Answered> {
  const deadline = Date.now() + timeoutMs;
  const queue = Array.from({ length: n }, (_, i) => i);
  let answered = 0;
  let firstMs = Number.NaN;
  let lastMs = Number.NaN;
  const peeker = async () => {
    for (;;) {
      const i = queue.shift();
      if (i === undefined) return;
      if (Date.now() > deadline) {
        throw new Error(`only ${answered} of ${n} indexes answered in time`);
      }
      let ok = false;
      try {
        const r = await env.api.peek({ object: `i${i}`, replica: "r1", timeoutMs: 2000 });
        ok = BigInt(r.timestamp) >= atLeast;
      } catch {
        // not yet: retried after the others
      }
      if (ok) {
        const at = performance.now() - since;
        if (answered++ === 0) firstMs = at;
        lastMs = at;
      } else {
        queue.push(i);
        await sleep(20);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(PROBES, n) }, peeker));
  return { firstMs, lastMs };
}

const rows: Row[] = [];
const loads: string[] = [];
for (const n of [BASELINE, ...counts]) {
  progress(`scale: ${n} indexes (load ${load()})`);
  const before = load();
  rows.push(await measure(n));
  loads.push(`${before} → ${load()}`);
}
const base = rows[0]!;
const fmt = (v: number, b: number, digits = 1) =>
  `${v.toFixed(digits)} (${b > 0 ? (v / b).toFixed(2) : "–"}×)`;
console.log(
  "\n| indexes | create ms/index (first → last tenth) | idle replica CPU % | idle environmentd CPU % | consensus writes/s | peek p50 ms | peek p99 ms | Status p50 ms | environmentd RSS MB | replica RSS MB | probe pass at steady state s | respawn s | first index answering s | rehydration (last index answering) s | load (1/5/15 min) |",
);
console.log("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|");
for (const r of rows) {
  console.log(
    `| ${r.indexes} | ${r.createMsPerIndex.mean.toFixed(1)} (${r.createMsPerIndex.tenths[0]!.toFixed(1)} → ${r.createMsPerIndex.tenths.at(-1)!.toFixed(1)}) | ${fmt(r.cpuPct, base.cpuPct)} | ${fmt(r.envCpuPct, base.envCpuPct)} | ${fmt(r.consensusWritesPerS, base.consensusWritesPerS)} | ${fmt(r.peekP50Ms, base.peekP50Ms, 2)} | ${fmt(r.peekP99Ms, base.peekP99Ms, 2)} | ${fmt(r.statusP50Ms, base.statusP50Ms, 2)} | ${fmt(r.envRssMb, base.envRssMb, 0)} | ${fmt(r.replicaRssMb, base.replicaRssMb, 0)} | ${r.probeFloorS.toFixed(2)} | ${r.respawnS.toFixed(2)} | ${fmt(r.firstAnswerS, base.firstAnswerS, 2)} | ${fmt(r.rehydrationS, base.rehydrationS, 2)} | ${loads[rows.indexOf(r)]} |`,
  );
}
console.log(`\n(ratios to the ${BASELINE}-index baseline of the same run)`);
