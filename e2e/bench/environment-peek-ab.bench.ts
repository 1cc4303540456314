/**
 * API peeks of the demo, two (or more) builds side by side (issue 16): where an API peek's time
 * and CPU go, as ratios to the first build measured in the same run.
 *
 * Each build's `environmentd --demo` (its own temp data dir, its own replicas r1 and r2 from its
 * own tree) runs for the whole bench, so the machine's load weighs on every build alike. Rounds
 * alternate the builds' order; in each, every build runs every row at every concurrency:
 * - rows: `all` (`top_bidders_idx`, answered by the first of both replicas, as
 *   `environment.bench.ts`'s raw-client row) and `r1` (the same peek with `replica: "r1"`: sent
 *   to r1 only; the difference is what the second replica costs);
 * - the client: a bare `node:http2` client (`raw-h2.ts`), the answer not decoded;
 * - at 1 in flight: p50 latency (µs) over `BENCH_LAT_N` calls, and environmentd's main-thread
 *   CPU per call over them (steadier than latency on a loaded machine); at each other concurrency:
 *   calls/s over max(`BENCH_TPUT_N`, 8 × in flight) calls;
 * - CPU per peek (µs) from `/proc/<pid>/task/<tid>/stat` deltas over the throughput loops:
 *   environmentd's main thread, its other threads (V8's GC helpers, libuv), each replica's
 *   process, and this client process (`process.cpuUsage`);
 * - the stage means of `mz_environment_api_peek_stage_seconds` over the same calls (ms; a build
 *   without the metric shows none).
 *
 * Builds: `LABEL=path/to/packages/environmentd/dist/main.js` (e.g. a detached worktree of main
 * with its `dist`).
 *
 * `LABEL=PATH,K=V,...` runs that build's environmentd with environment variables K=V; a `K`
 * starting with `--` is an argument instead (`--flags-file=F`: e.g. the unified controllers).
 *
 * Usage: tsx bench/environment-peek-ab.bench.ts [--rounds N] [--concurrency 1,32,256]
 *        [--rows all,r1] LABEL=PATH[,K=V...] ...
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { create, toBinary } from "@bufbuild/protobuf";
import { EnvironmentService } from "@mzts/protocol/wire";
import { environmentApi, isOurClusterd, readReplicaRecords } from "../src/harness/environment.js";
import { type Started, startNode, stopAll } from "../src/harness/processes.js";
import { stopPids } from "./bench-reaper.js";
import { FULL_PEEK, PEEK_PATH } from "./environment-demo.js";
import { rawH2Client } from "./raw-h2.js";

const HELP = `usage: tsx bench/environment-peek-ab.bench.ts [--rounds N] [--concurrency 1,32,256]
  [--rows all,r1] LABEL=path/to/environmentd/dist/main.js ...
env: BENCH_LAT_N (sequential calls, default 500), BENCH_TPUT_N (calls per throughput loop,
at least 8 per call in flight; default 4000), BENCH_ENVD_NODE_ARGS (node flags of every
environmentd, e.g. "--cpu-prof --cpu-prof-dir=D")`;

const args = process.argv.slice(2);
let rounds = 3;
let concurrencies = [1, 32, 256];
let rowNames = ["all", "r1"];
const builds: {
  label: string;
  path: string;
  env: Record<string, string>;
  argv: string[];
}[] = [];
for (let i = 0; i < args.length; i++) {
  const a = args[i]!;
  if (a === "--rounds") rounds = Number(args[++i]);
  else if (a === "--concurrency") concurrencies = (args[++i] ?? "").split(",").map(Number);
  else if (a === "--rows") rowNames = (args[++i] ?? "").split(",");
  else if (a === "--help") {
    console.log(HELP);
    process.exit(0);
  } else if (a.includes("=")) {
    // LABEL=PATH[,K=V...]: environment variables of that build's environmentd.
    const [head, ...vars] = a.split(",");
    const [label, path] = head!.split("=") as [string, string];
    const env: Record<string, string> = {};
    const argv: string[] = [];
    for (const v of vars) {
      const eq = v.indexOf("=");
      if (v.startsWith("--")) argv.push(v.slice(0, eq), v.slice(eq + 1));
      else env[v.slice(0, eq)] = v.slice(eq + 1);
    }
    builds.push({ label, path, env, argv });
  } else throw new Error(`unknown argument ${a}\n${HELP}`);
}
if (
  builds.length === 0 ||
  !Number.isInteger(rounds) ||
  rounds < 1 ||
  concurrencies.some((c) => !Number.isInteger(c) || c < 1) ||
  rowNames.some((r) => r !== "all" && r !== "r1")
)
  throw new Error(HELP);
const LAT_N = Number(process.env.BENCH_LAT_N ?? 500);
const TPUT_N = Number(process.env.BENCH_TPUT_N ?? 4000);
const READY = /^environmentd: generation (\d+); API gRPC (\S+), Connect JSON \+ \/metrics (\S+)/;
const STAGE_METRIC = "mz_environment_api_peek_stage_seconds";
/** Node flags of every environmentd (e.g. `--cpu-prof --cpu-prof-dir=D`, not allowed in NODE_OPTIONS). */
const NODE_ARGS = (process.env.BENCH_ENVD_NODE_ARGS ?? "").split(" ").filter((a) => a !== "");

const progress = (s: string) => process.stderr.write(`${s}\n`);
const load = () =>
  loadavg()
    .map((v) => v.toFixed(1))
    .join(" / ");
const median = (xs: readonly number[]) =>
  [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? Number.NaN;
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** utime + stime (clock ticks, 1/100 s) of one task's stat line. */
function ticksOf(stat: string): number {
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return Number(f[11]) + Number(f[12]);
}

/** CPU ticks of `pid`: its main thread and all its other threads. */
function processTicks(pid: number): { main: number; other: number } {
  let main = 0;
  let other = 0;
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    let stat: string;
    try {
      stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, "utf8");
    } catch {
      continue; // the thread ended meanwhile
    }
    if (Number(tid) === pid) main += ticksOf(stat);
    else other += ticksOf(stat);
  }
  return { main, other };
}

interface Side {
  readonly label: string;
  readonly dir: string;
  readonly proc: Started;
  readonly pid: number;
  readonly grpcUrl: string;
  readonly httpUrl: string;
  /** Samples by `${row}@${concurrency}/${figure}`. */
  readonly samples: Map<string, number[]>;
}

function record(s: Side, key: string, v: number): void {
  const xs = s.samples.get(key) ?? [];
  xs.push(v);
  s.samples.set(key, xs);
}

/** Data dirs made so far (removed at the end, also when a build fails to start). */
const dirs: string[] = [];

async function start(
  label: string,
  path: string,
  env: Record<string, string>,
  argv: readonly string[],
): Promise<Side> {
  const dir = mkdtempSync(join(tmpdir(), `env-peek-ab-${label}-`));
  dirs.push(dir);
  const proc = startNode(
    path,
    [
      "--demo",
      "--data-dir",
      dir,
      "--grpc-port",
      "0",
      "--http-port",
      "0",
      "--log-level",
      "warn",
      ...argv,
    ],
    env,
    NODE_ARGS,
  );
  const line = await proc.waitForLine((l) => READY.test(l), 60_000);
  const m = READY.exec(line)!;
  const side: Side = {
    label,
    dir,
    proc,
    pid: proc.child.pid!,
    grpcUrl: m[2]!,
    httpUrl: m[3]!,
    samples: new Map(),
  };
  // The demo is created after the API listens: wait until a peek of each row answers.
  const api = environmentApi(side.grpcUrl);
  const deadline = Date.now() + 120_000;
  for (;;) {
    try {
      await api.peek({ object: FULL_PEEK.object as string, timeoutMs: 2000 });
      await api.peek({ object: FULL_PEEK.object as string, replica: "r1", timeoutMs: 2000 });
      await api.peek({ object: FULL_PEEK.object as string, replica: "r2", timeoutMs: 2000 });
      break;
    } catch (e) {
      if (Date.now() > deadline) throw new Error(`${label}: the demo never answered: ${e}`);
      await sleep(100);
    }
  }
  api.close();
  return side;
}

/** The side's live replicas' pids. */
function replicaPids(s: Side): number[] {
  return readReplicaRecords(s.dir)
    .filter((r) => isOurClusterd(r.pid, s.dir))
    .map((r) => r.pid);
}

/** `_sum` and `_count` per stage of the stage histogram (empty: the build has none). */
async function stageTotals(s: Side): Promise<Map<string, { sum: number; count: number }>> {
  const text = await (await fetch(`${s.httpUrl}/metrics`)).text();
  const out = new Map<string, { sum: number; count: number }>();
  const re = new RegExp(`^${STAGE_METRIC}_(sum|count)\\{stage="([a-z]+)"\\} (\\S+)$`, "gm");
  for (const m of text.matchAll(re)) {
    const t = out.get(m[2]!) ?? { sum: 0, count: 0 };
    if (m[1] === "sum") t.sum = Number(m[3]);
    else t.count = Number(m[3]);
    out.set(m[2]!, t);
  }
  return out;
}

const requests = {
  all: toBinary(
    EnvironmentService.method.peek.input,
    create(EnvironmentService.method.peek.input, FULL_PEEK),
  ),
  r1: toBinary(
    EnvironmentService.method.peek.input,
    create(EnvironmentService.method.peek.input, { ...FULL_PEEK, replica: "r1" }),
  ),
};

async function measure(s: Side, row: "all" | "r1", inFlight: number): Promise<void> {
  const client = rawH2Client(s.grpcUrl, PEEK_PATH);
  const body = requests[row];
  try {
    for (let i = 0; i < 50; i++) await client.call(body);
    const key = `${row}@${inFlight}`;
    if (inFlight === 1) {
      const lat: number[] = [];
      const env0 = processTicks(s.pid);
      for (let i = 0; i < LAT_N; i++) {
        const t0 = performance.now();
        await client.call(body);
        lat.push((performance.now() - t0) * 1000);
      }
      const env1 = processTicks(s.pid);
      record(s, `${key}/p50 µs`, median(lat));
      // CPU per call is steadier than latency on a loaded machine (no waiting for a core in it).
      record(s, `${key}/envd main µs/peek`, ((env1.main - env0.main) * 10_000) / LAT_N);
      return;
    }
    const total = Math.max(TPUT_N, 8 * inFlight);
    const pids = replicaPids(s);
    const stages0 = await stageTotals(s);
    const env0 = processTicks(s.pid);
    const reps0 = pids.map((p) => processTicks(p));
    const me0 = process.cpuUsage();
    let issued = 0;
    let failed = 0;
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: inFlight }, async () => {
        while (issued < total) {
          issued++;
          await client.call(body).catch(() => failed++);
        }
      }),
    );
    const secs = (performance.now() - t0) / 1000;
    const me = process.cpuUsage(me0);
    const env1 = processTicks(s.pid);
    const reps1 = pids.map((p) => processTicks(p));
    const stages1 = await stageTotals(s);
    const ok = total - failed;
    const perPeek = (ticks: number) => (ticks * 10_000) / ok; // µs
    record(s, `${key}/calls/s`, ok / secs);
    record(s, `${key}/envd main µs/peek`, perPeek(env1.main - env0.main));
    record(s, `${key}/envd other µs/peek`, perPeek(env1.other - env0.other));
    reps1.forEach((r, i) => {
      const r0 = reps0[i]!;
      record(s, `${key}/replica ${i + 1} µs/peek`, perPeek(r.main + r.other - r0.main - r0.other));
    });
    record(s, `${key}/client µs/peek`, (me.user + me.system) / ok);
    for (const [stage, t] of stages1) {
      const b = stages0.get(stage) ?? { sum: 0, count: 0 };
      if (t.count > b.count)
        record(s, `${key}/stage ${stage} ms`, ((t.sum - b.sum) / (t.count - b.count)) * 1000);
    }
    if (failed > 0) record(s, `${key}/failed`, failed);
  } finally {
    client.close();
  }
}

const sides: Side[] = [];
try {
  progress(`starting ${builds.map((b) => b.label).join(", ")} (load ${load()})`);
  for (const b of builds) sides.push(await start(b.label, b.path, b.env, b.argv));
  for (let round = 0; round < rounds; round++) {
    const order = round % 2 === 0 ? sides : [...sides].reverse();
    for (const row of rowNames as ("all" | "r1")[]) {
      for (const c of concurrencies) {
        for (const s of order) {
          progress(`round ${round + 1}/${rounds} ${s.label} ${row}@${c} (load ${load()})`);
          await measure(s, row, c);
        }
      }
    }
  }
  const base = sides[0]!;
  const keys = [...base.samples.keys()];
  for (const s of sides.slice(1))
    for (const k of s.samples.keys()) if (!keys.includes(k)) keys.push(k);
  const header = [
    "figure (median)",
    ...sides.map((s) => s.label),
    ...sides.slice(1).map((s) => `${s.label}/${base.label}`),
  ];
  console.log(`| ${header.join(" | ")} |`);
  console.log(`|${header.map(() => "---").join("|")}|`);
  for (const k of keys) {
    const meds = sides.map((s) => median(s.samples.get(k) ?? []));
    const fmt = (v: number) => (Number.isNaN(v) ? "—" : v >= 100 ? v.toFixed(0) : v.toFixed(2));
    const ratios = meds
      .slice(1)
      .map((v) => (Number.isNaN(v) ? "—" : `${(v / meds[0]!).toFixed(2)}×`));
    console.log(`| ${k} | ${meds.map(fmt).join(" | ")} | ${ratios.join(" | ")} |`);
  }
  // Every round's value (the spread behind each median; a busy machine's noise shows here).
  console.log("\nper round (in round order):");
  for (const k of keys)
    for (const s of sides)
      console.log(
        `  ${k} ${s.label}: ${(s.samples.get(k) ?? []).map((v) => (v >= 100 ? v.toFixed(0) : v.toFixed(2))).join(", ")}`,
      );
  console.log(`\nload average at the end: ${load()}`);
} finally {
  // SIGTERM first, so an environmentd run with --cpu-prof (BENCH_ENVD_NODE_ARGS) writes its profile.
  await Promise.all(
    sides.map(
      (s) =>
        new Promise<void>((resolve) => {
          const c = s.proc.child;
          if (c.exitCode !== null || c.signalCode !== null) return resolve();
          const t = setTimeout(resolve, 10_000);
          c.once("exit", () => {
            clearTimeout(t);
            resolve();
          });
          c.kill("SIGTERM");
        }),
    ),
  );
  await stopAll();
  // Replicas outlive environmentd: SIGTERM (a clusterd run with --cpu-prof through
  // MZ_CLUSTERD_NODE_ARGS writes its profiles on a graceful exit), SIGKILL what is left after 10 s.
  await stopPids(
    sides.flatMap((s) => replicaPids(s)),
    true,
  );
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
}
