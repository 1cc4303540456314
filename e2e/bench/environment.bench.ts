/**
 * Environment benchmark: peeks through environmentd's public API and the recovery times of the
 * demo cluster, each beside a baseline measured in the same run.
 *
 * Every run boots a fresh `environmentd --demo` (temp data dir, ports 0): cluster `demo` with
 * replicas r1, r2 (size 1), the auction load generator (1 tick/s), index `bids_by_auction`
 * and the indexed views `winning_bids`, `top_bidders`. Runs are interleaved (every run measures
 * every row); the tables show medians over runs.
 *
 * ## Peeks (section `peek`)
 * 1. Baseline: `peek-echo-server.ts`, a bare Connect server in its own process that answers
 *    `EnvironmentService/Peek` with a canned response (environmentd's answer to the same request),
 *    over h2c gRPC (the baseline every ratio divides by) and Connect JSON over HTTP/1.1; beside
 *    it the raw floor: a bare `node:http2` listener in the same process answering the same
 *    response's gRPC-framed bytes, called with a bare `node:http2` client (`raw-h2.ts`; the
 *    request is the same peek request, encoded once). Two crossed rows split the echo's cost
 *    between the two ends: `raw-client-echo` (the raw client against the Connect echo server:
 *    Connect's server share) and `connect-client-raw` (the bench's Connect gRPC client against
 *    the raw server: Connect's client share). Each reports the canned answer's row count.
 * 2. `top_bidders_idx` (≤ 40 rows) peeked at the freshest time (no timestamp), and a point
 *    lookup (`literal_constraints`: auction 1) on `bids_by_auction`, each through the gRPC port
 *    (h2c) and the HTTP port (Connect JSON over HTTP/1.1); `raw-client-peek` sends the same
 *    `top_bidders_idx` request to the gRPC port with the raw client (environmentd's cost without
 *    Connect's client; the answer is not decoded, its row count is the canned one's).
 *    `raw-client-peek-r1` is the same request with `replica: "r1"`: the peek goes to r1 only
 *    (design §5: all replicas, or a named one), so the two rows show what the second replica
 *    costs. `relay-floor` and `relay-floor-r1` send the same two requests with the raw client to
 *    the topology floor (`relay-floor.ts`: a bare `node:http2` relay forwarding each call over one
 *    long-lived bidi stream per replica to two bare replica processes, each answering from one
 *    worker thread; coalesced per event-loop turn; first answer wins): the best-case cost of the
 *    API peek's architecture on this machine. A second table puts the raw-client rows over them,
 *    with the CPU µs per answered call of the server processes (`/proc` ticks over each
 *    throughput loop: environmentd and the replicas of `replicas.json`, or the floor's three) and
 *    of this client, and the calls/s those allow on this machine's cores.
 * 3. Latency: `BENCH_LAT_N` sequential calls per row (p50 / p99 µs) after a warm-up; throughput:
 *    at each `--concurrency` (default 32 and 256 in flight), max(`BENCH_TPUT_N`, 8 × in flight)
 *    calls (calls/s). Before the first row, `BENCH_ENV_WARMUP` API calls spread over the API
 *    rows warm environmentd up (else the first API row measures its post-boot warm-up). Rows are
 *    measured one after the other, starting at a different row in each run; `BENCH_ROWS`
 *    (comma-separated row names) measures only those. A call that fails (e.g. a dropped
 *    connection) is counted in the row's `failed calls` column and its first error printed to
 *    stderr; it does not end the run (latency and calls/s count the answered calls only).
 *
 * ## Recovery (sections `replica-restart`, `environmentd-restart`)
 * - Cold boot (the baseline of the recovery table): spawn of `environmentd --demo` on an empty
 *   data dir until the first API peek of `top_bidders_idx` answers (demo created, hydrated).
 * - Replica restart: kill -9 r1's clusterd (pid from `<dataDir>/orchestrator/replicas.json`)
 *   while API peeks keep flowing (one at a time), then poll every `POLL_MS`:
 *   (a) the orchestrator restarted it: a record for r1 with a new pid and its ports (clusterd is
 *       ready); (b) caught up: r1's own `/metrics` shows all the demo's dataflows and
 *       `mz_compute_arrangement_records` ≥ r2's in the same poll (standing in for "frontiers
 *       caught up with r2": per-replica frontiers are not exposed); (c) answering: an API peek of
 *       `top_bidders_idx` aimed at r1 (`replica: "r1"`, 1 s timeout per try) returns rows. A run where r1 does not get there within
 *       `BENCH_REHYDRATE_TIMEOUT_MS` is counted as not reached (the table says how many did).
 * - environmentd restart: kill -9 environmentd, spawn it again on the same data dir (same args),
 *   until (a) the API listens and (b) an API peek answers (replicas adopted, reconciled).
 *
 * Everything started is stopped on exit, on failure and on SIGINT: environmentd and the echo
 * server (child processes), the replicas (pids from `replicas.json`; detached by design), and the
 * temp data dirs. Progress goes to stderr, the tables to stdout, followed by one result line per
 * figure (`results.ts`, for `pnpm bench --compare`). Under `MZ_E2E_PROFILE_DIR` (`pnpm bench
 * --profile`) environmentd and the replicas are stopped with SIGTERM so their profiles are written.
 *
 * Usage: tsx bench/environment.bench.ts [regex] [--runs N] [--concurrency C[,C...]] [--help]
 */
import { spawn } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { create, toBinary } from "@bufbuild/protobuf";
import { EnvironmentService } from "@mzts/protocol/wire";
import type { Started } from "../src/harness/processes.js";
import { dataDirs, echoServers, readRecords, teardown } from "./bench-reaper.js";
import {
  type Booted,
  bootEnvironmentd,
  DEMO_DATAFLOWS,
  FULL_OBJECT,
  FULL_PEEK,
  firstPeek,
  grpcClient,
  jsonClient,
  LOOKUP_PEEK,
  PEEK_PATH,
  waitReplicasOnline,
} from "./environment-demo.js";
import {
  type EnvRestart,
  environmentdRestart,
  POLL_MS,
  REHYDRATE_TIMEOUT_MS,
  type ReplicaRestart,
  replicaRestart,
} from "./environment-recovery.js";
import { cpuTicks, TICK_US } from "./proc-cpu.js";
import { rawH2Client } from "./raw-h2.js";
import { startRelayFloor } from "./relay-floor.js";
import { type Better, emitResult } from "./results.js";

const HELP = `usage: tsx bench/environment.bench.ts [regex] [--runs N] [--concurrency C[,C...]] [--help]
  regex           only the sections whose name matches: peek, replica-restart, environmentd-restart
  --runs N        interleaved runs, medians reported (default 3)
  --concurrency C calls in flight for the throughput columns (default 32,256)
env: BENCH_ENV_WARMUP (API calls before the first peek row, default 1000),
BENCH_LAT_N (sequential calls per row, default 500), BENCH_TPUT_N (calls per throughput
row, at least 8 per call in flight; default 1000), BENCH_ROWS (peek rows to measure,
comma-separated: ${"raw-h2,raw-client-echo,connect-client-raw,echo-grpc,echo-json,peek-grpc,peek-json,lookup-grpc,lookup-json,raw-client-peek,raw-client-peek-r1,relay-floor,relay-floor-r1"}),
BENCH_PUMP_MS (pause between the API peeks that flow while a replica restarts, default 5),
BENCH_REHYDRATE_TIMEOUT_MS (default 15000), MZ_E2E_PROFILE_DIR (CPU profiles, see the harness)`;

const args = process.argv.slice(2);
if (args.includes("--help")) {
  console.log(HELP);
  process.exit(0);
}
const options: Record<string, number> = { "--runs": 3 };
let concurrencies = [32, 256];
let select = /./;
for (let i = 0; i < args.length; i++) {
  const a = args[i]!;
  if (a === "--concurrency") {
    concurrencies = (args[++i] ?? "").split(",").map(Number);
    if (concurrencies.some((n) => !Number.isInteger(n) || n < 1))
      throw new Error(`--concurrency needs positive integers (comma-separated)\n${HELP}`);
  } else if (a in options) {
    const n = Number(args[++i]);
    if (!Number.isInteger(n) || n < 1) throw new Error(`${a} needs a positive integer\n${HELP}`);
    options[a] = n;
  } else if (a.startsWith("--")) throw new Error(`unknown option ${a}\n${HELP}`);
  else select = new RegExp(a);
}
const RUNS = options["--runs"]!;
const CONCURRENCIES = concurrencies;
const LAT_N = Number(process.env.BENCH_LAT_N ?? 500);
const TPUT_N = Number(process.env.BENCH_TPUT_N ?? 1000);
const WARMUP = 50;
/** API calls before the first row of a peek section (`BENCH_ENV_WARMUP`). */
const ENV_WARMUP = Number(process.env.BENCH_ENV_WARMUP ?? 1000);
/** The rows that call environmentd (the others call the echo servers). */
const API_ROWS: ReadonlySet<string> = new Set([
  "peek-grpc",
  "peek-json",
  "lookup-grpc",
  "lookup-json",
  "raw-client-peek",
  "raw-client-peek-r1",
]);
const SECTIONS = ["peek", "replica-restart", "environmentd-restart"] as const;
type Section = (typeof SECTIONS)[number];
const on = (s: Section) => select.test(s);

const ECHO_SERVER = fileURLToPath(new URL("./peek-echo-server.ts", import.meta.url));

const progress = (line: string) => process.stderr.write(`${line}\n`);
const now = () => performance.now();

// ---- peek measurements ---------------------------------------------------------------------

interface PeekMeasure {
  p50: number;
  p99: number;
  /** calls/s by calls in flight (answered calls only). */
  tput: Record<number, number>;
  /** Fewest and most rows in an answer during the latency loop (the demo's objects grow). */
  rowsMin: number;
  rowsMax: number;
  /** Calls that threw (warm-up, latency and throughput loops): counted, not fatal. */
  failed: number;
  /** The first failure's message, for the report. */
  firstError: string | undefined;
  /**
   * CPU µs per answered call by calls in flight: `servers` summed over the row's server
   * processes (all threads; rows that know them: the API rows with the raw client and the floor
   * rows), `client` this process.
   */
  cpu: Record<number, { servers: number; client: number }>;
}

type PeekCall = () => Promise<{ rows: ArrayLike<unknown> }>;

/** Failed calls of one row: a call that throws is counted and reported, never ends the bench. */
class Failures {
  count = 0;
  first: string | undefined;
  /** Runs `call`; undefined when it threw. */
  async try<T>(call: () => Promise<T>): Promise<T | undefined> {
    try {
      return await call();
    } catch (e) {
      this.count++;
      this.first ??= e instanceof Error ? `${e.name}: ${e.message}` : String(e);
      return undefined;
    }
  }
}

async function measure(call: PeekCall, pids?: () => readonly number[]): Promise<PeekMeasure> {
  const failures = new Failures();
  for (let i = 0; i < WARMUP; i++) await failures.try(call);
  const lat: number[] = [];
  let rowsMin = Number.POSITIVE_INFINITY;
  let rowsMax = 0;
  for (let i = 0; i < LAT_N; i++) {
    const t0 = now();
    const answer = await failures.try(call);
    if (answer === undefined) continue;
    lat.push((now() - t0) * 1000);
    rowsMin = Math.min(rowsMin, answer.rows.length);
    rowsMax = Math.max(rowsMax, answer.rows.length);
  }
  lat.sort((a, b) => a - b);
  const tput: Record<number, number> = {};
  const cpu: PeekMeasure["cpu"] = {};
  for (const inFlight of CONCURRENCIES) {
    const procs = pids?.() ?? [];
    const ticks0 = procs.map(cpuTicks);
    const client0 = process.cpuUsage();
    const total = tputCalls(inFlight);
    const failedBefore = failures.count;
    let issued = 0;
    const t0 = now();
    await Promise.all(
      Array.from({ length: inFlight }, async () => {
        while (issued < total) {
          issued++;
          await failures.try(call);
        }
      }),
    );
    const answered = total - (failures.count - failedBefore);
    tput[inFlight] = answered / ((now() - t0) / 1000);
    const client = process.cpuUsage(client0);
    if (procs.length > 0)
      cpu[inFlight] = {
        servers: (procs.reduce((n, p, i) => n + cpuTicks(p) - ticks0[i]!, 0) * TICK_US) / answered,
        client: (client.user + client.system) / answered,
      };
  }
  return {
    p50: lat[Math.floor(lat.length / 2)] ?? Number.NaN,
    p99: lat[Math.min(lat.length - 1, Math.floor(lat.length * 0.99))] ?? Number.NaN,
    tput,
    rowsMin,
    rowsMax,
    failed: failures.count,
    firstError: failures.first,
    cpu,
  };
}

async function startEchoServer(
  grpcUrl: string,
): Promise<{ h2: string; h1: string; raw: string; rows: number }> {
  // Same node, same loader (tsx's --require/--import flags) as this script.
  const child = spawn(process.execPath, [...process.execArgv, ECHO_SERVER, grpcUrl, FULL_OBJECT], {
    stdio: ["pipe", "pipe", "inherit"],
  });
  echoServers.add(child);
  child.once("exit", () => echoServers.delete(child));
  const [h2, h1, raw, rows] = await new Promise<[number, number, number, number]>(
    (resolve, reject) => {
      const t = setTimeout(() => reject(new Error("echo server did not start in 30 s")), 30_000);
      child.once("exit", (c) => reject(new Error(`echo server exited with ${c}`)));
      let out = "";
      child.stdout!.on("data", (b: Buffer) => {
        out += b.toString();
        const m = /PORTS (\d+) (\d+) (\d+) (\d+)/.exec(out);
        if (m) {
          clearTimeout(t);
          resolve([Number(m[1]), Number(m[2]), Number(m[3]), Number(m[4])]);
        }
      });
    },
  );
  return {
    h2: `http://127.0.0.1:${h2}`,
    h1: `http://127.0.0.1:${h1}`,
    raw: `http://127.0.0.1:${raw}`,
    rows,
  };
}

const ALL_PEEK_ROWS = [
  "raw-h2",
  "raw-client-echo",
  "connect-client-raw",
  "echo-grpc",
  "echo-json",
  "peek-grpc",
  "peek-json",
  "lookup-grpc",
  "lookup-json",
  "raw-client-peek",
  "raw-client-peek-r1",
  "relay-floor",
  "relay-floor-r1",
] as const;
type PeekRow = (typeof ALL_PEEK_ROWS)[number];
const PEEK_ROWS: readonly PeekRow[] =
  process.env.BENCH_ROWS === undefined
    ? ALL_PEEK_ROWS
    : process.env.BENCH_ROWS.split(",").map((r) => {
        if (!(ALL_PEEK_ROWS as readonly string[]).includes(r))
          throw new Error(`BENCH_ROWS: unknown row ${r}\n${HELP}`);
        return r as PeekRow;
      });
/** Calls per throughput measurement at `inFlight` calls in flight. */
const tputCalls = (inFlight: number) => Math.max(TPUT_N, 8 * inFlight);

async function peekSection(
  b: Booted,
  dir: string,
  run: number,
): Promise<Record<PeekRow, PeekMeasure>> {
  const echo = await startEchoServer(b.grpcUrl);
  const echoGrpc = grpcClient(echo.h2);
  const echoJson = jsonClient(echo.h1);
  const raw = rawH2Client(echo.raw, PEEK_PATH);
  const rawRequest = toBinary(
    EnvironmentService.method.peek.input,
    create(EnvironmentService.method.peek.input, FULL_PEEK),
  );
  // The same peek aimed at replica r1 only (the targeted row).
  const rawRequestR1 = toBinary(
    EnvironmentService.method.peek.input,
    create(EnvironmentService.method.peek.input, { ...FULL_PEEK, replica: "r1" }),
  );
  const apiGrpc = grpcClient(b.grpcUrl);
  const apiJson = jsonClient(b.httpUrl);
  // The client/server split of the echo's cost: the raw client against the Connect echo server,
  // Connect's client against the raw server; and the raw client against environmentd's own port.
  const rawEcho = rawH2Client(echo.h2, PEEK_PATH);
  const connectRaw = grpcClient(echo.raw);
  const rawApi = rawH2Client(b.grpcUrl, PEEK_PATH);
  // The topology floor (`relay-floor.ts`): relay + two replicas of bare node:http2, answering
  // with environmentd's own answer to the same request (fetched once, unframed).
  const wantFloor = PEEK_ROWS.some((r) => r.startsWith("relay-floor"));
  const floor = wantFloor
    ? await startRelayFloor((await rawApi.call(rawRequest)).subarray(5))
    : undefined;
  const floorAll = floor && rawH2Client(floor.url, PEEK_PATH);
  const floorR1 = floor && rawH2Client(floor.url, `${PEEK_PATH}/r1`);
  // The raw row does not decode its answer: it reports the canned answer's row count.
  const rawRows = { length: echo.rows };
  const clients: Record<PeekRow, PeekCall> = {
    "raw-h2": () => raw.call(rawRequest).then(() => ({ rows: rawRows })),
    "raw-client-echo": () => rawEcho.call(rawRequest).then(() => ({ rows: rawRows })),
    "connect-client-raw": () => connectRaw.peek(FULL_PEEK),
    "raw-client-peek": () => rawApi.call(rawRequest).then(() => ({ rows: rawRows })),
    "raw-client-peek-r1": () => rawApi.call(rawRequestR1).then(() => ({ rows: rawRows })),
    "relay-floor": () => floorAll!.call(rawRequest).then(() => ({ rows: rawRows })),
    "relay-floor-r1": () => floorR1!.call(rawRequestR1).then(() => ({ rows: rawRows })),
    "echo-grpc": () => echoGrpc.peek(FULL_PEEK),
    "echo-json": () => echoJson.peek(FULL_PEEK),
    "peek-grpc": () => apiGrpc.peek(FULL_PEEK),
    "peek-json": () => apiJson.peek(FULL_PEEK),
    "lookup-grpc": () => apiGrpc.peek(LOOKUP_PEEK),
    "lookup-json": () => apiJson.peek(LOOKUP_PEEK),
  };
  // The processes whose CPU a row's calls cost (the raw-client rows: environmentd and the replicas).
  const apiPids = () => [b.proc.child.pid!, ...readRecords(dir).map((r) => r.pid)];
  const floorPids = () => (floor ? [floor.pids.relay, ...floor.pids.replicas] : []);
  const serverPids: Partial<Record<PeekRow, () => readonly number[]>> = {
    "raw-client-peek": apiPids,
    "raw-client-peek-r1": apiPids,
    "relay-floor": floorPids,
    "relay-floor-r1": floorPids,
  };
  // environmentd's first calls after its boot run slower (JIT, the replicas' first answers): a
  // round of API calls first, so no row measures that warm-up (the first API row did, issue 16).
  const apiRows = PEEK_ROWS.filter((r) => API_ROWS.has(r));
  const warmup = new Failures();
  for (let i = 0; i < ENV_WARMUP && apiRows.length > 0; i++)
    await warmup.try(clients[apiRows[i % apiRows.length]!]);
  if (warmup.count > 0)
    progress(
      `run ${run + 1}/${RUNS}: ${warmup.count} warm-up call(s) failed; first: ${warmup.first}`,
    );
  const out = {} as Record<PeekRow, PeekMeasure>;
  // Rotate the order per run so no row always runs first (or last) in a run.
  for (let i = 0; i < PEEK_ROWS.length; i++) {
    const row = PEEK_ROWS[(i + run) % PEEK_ROWS.length]!;
    progress(`run ${run + 1}/${RUNS}: ${row} …`);
    out[row] = await measure(clients[row], serverPids[row]);
    if (out[row].failed > 0)
      progress(
        `run ${run + 1}/${RUNS}: ${row}: ${out[row].failed} call(s) failed; first: ${out[row].firstError}`,
      );
  }
  for (const c of [raw, rawEcho, rawApi, floorAll, floorR1]) c?.close();
  floor?.stop();
  for (const c of echoServers) c.kill("SIGKILL");
  return out;
}

// ---- the runs ------------------------------------------------------------------------------

const peekResults: Array<Record<PeekRow, PeekMeasure>> = [];
const coldBoots: number[] = [];
const replicaResults: ReplicaRestart[] = [];
const envResults: EnvRestart[] = [];
const started = now();
const loadAtStart = loadavg();

for (let run = 0; run < RUNS; run++) {
  const dir = mkdtempSync(join(tmpdir(), "mzts-bench-env-"));
  dataDirs.add(dir);
  const envs = new Set<Started>();
  try {
    progress(`run ${run + 1}/${RUNS}: booting environmentd --demo in ${dir} …`);
    const t0 = now();
    let b = await bootEnvironmentd(dir);
    envs.add(b.proc);
    const api = grpcClient(b.grpcUrl);
    coldBoots.push((await firstPeek(b, 120_000)) - t0);
    await waitReplicasOnline(api, 60_000);
    progress(`run ${run + 1}/${RUNS}: cold boot ${coldBoots.at(-1)!.toFixed(0)} ms`);
    if (on("peek")) peekResults.push(await peekSection(b, dir, run));
    if (on("replica-restart")) {
      progress(`run ${run + 1}/${RUNS}: kill -9 replica r1 …`);
      const r = await replicaRestart(b, dir);
      replicaResults.push(r);
      const ms = (t: number | undefined) =>
        t === undefined ? `not within ${REHYDRATE_TIMEOUT_MS} ms` : `${t.toFixed(0)} ms`;
      progress(
        `run ${run + 1}/${RUNS}: r1 restarted ${ms(r.restarted)}, caught up ${ms(r.caughtUp)}, answering ${ms(r.answering)}`,
      );
      if (r.answering === undefined || r.caughtUp === undefined)
        progress(`run ${run + 1}/${RUNS}: r1 at the last poll: ${JSON.stringify(r.lastSeen)}`);
    }
    if (on("environmentd-restart")) {
      progress(`run ${run + 1}/${RUNS}: kill -9 environmentd …`);
      const r = await environmentdRestart(b, dir);
      b = r;
      envs.add(r.proc);
      envResults.push(r);
      progress(
        `run ${run + 1}/${RUNS}: environmentd listening ${r.listening.toFixed(0)} ms, peeks answer ${r.answering.toFixed(0)} ms (replicas adopted: ${r.adopted})`,
      );
    }
  } finally {
    await teardown(dir, envs);
  }
}

// ---- report ----------------------------------------------------------------------------------

const med = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const range = (xs: number[]) => `${Math.min(...xs).toFixed(0)}–${Math.max(...xs).toFixed(0)}`;
const x = (n: number) => (Number.isFinite(n) ? `${n.toFixed(2)}x` : "—");

/**
 * The API peek beside its topology floor (`relay-floor.ts`): the raw-client rows over the floor
 * rows of the same runs (a ratio near 1 is a path at its floor), shown and emitted (not gated).
 */
function floorTable(
  row: (name: PeekRow) => {
    p50: number;
    tput: Record<number, number>;
    cpu: Record<number, { servers: number; client: number }>;
  },
): void {
  const pairs = [
    ["raw-client-peek", "relay-floor"],
    ["raw-client-peek-r1", "relay-floor-r1"],
  ] as const;
  const have = pairs.filter(([a, f]) => PEEK_ROWS.includes(a) && PEEK_ROWS.includes(f));
  if (have.length === 0) return;
  console.log("\n### API peek vs its topology floor (same runs; API ÷ floor)\n");
  const head = CONCURRENCIES.map((c) => ` calls/s @${c} API | floor | API ÷ floor |`).join("");
  console.log(`| API row | floor row | p50 µs API | floor | API ÷ floor |${head}`);
  console.log(`|---|---|---:|---:|---:|${"---:|---:|---:|".repeat(CONCURRENCIES.length)}`);
  for (const [api, fl] of have) {
    const a = row(api);
    const f = row(fl);
    const cells = CONCURRENCIES.map(
      (c) =>
        ` ${a.tput[c]!.toFixed(0)} | ${f.tput[c]!.toFixed(0)} | ${x(a.tput[c]! / f.tput[c]!)} |`,
    ).join("");
    console.log(
      `| ${api} | ${fl} | ${a.p50.toFixed(0)} | ${f.p50.toFixed(0)} | ${x(a.p50 / f.p50)} |${cells}`,
    );
    const fig = (figure: string, value: number, better: Better) =>
      emitResult({ bench: "environment", figure, value, unit: "x", better, tracked: false });
    fig(`${api} p50 / floor p50`, a.p50 / f.p50, "lower");
    for (const c of CONCURRENCIES)
      fig(`${api} calls/s @${c} / floor`, a.tput[c]! / f.tput[c]!, "higher");
  }
  // CPU per call: what bounds calls/s on a machine with few cores (2 cores ÷ µs per call).
  console.log(
    "\nCPU µs per answered call (all threads; servers = environmentd + both replicas, or relay + both replicas; client = this process):\n",
  );
  const cpuHead = CONCURRENCIES.map((c) => ` @${c} servers | client | ceiling calls/s |`).join("");
  console.log(`| row |${cpuHead}`);
  console.log(`|---|${"---:|---:|---:|".repeat(CONCURRENCIES.length)}`);
  for (const name of have.flat()) {
    const r = row(name);
    const cells = CONCURRENCIES.map((c) => {
      const u = r.cpu[c]!;
      const ceiling = (cpus().length * 1e6) / (u.servers + u.client);
      emitResult({
        bench: "environment",
        figure: `${name} server CPU µs/call @${c}`,
        value: u.servers,
        unit: "µs",
        better: "lower",
        tracked: false,
        baseline: name.startsWith("relay-floor"),
      });
      return ` ${u.servers.toFixed(0)} | ${u.client.toFixed(0)} | ${ceiling.toFixed(0)} |`;
    }).join("");
    console.log(`| ${name} |${cells}`);
  }
}

const load = (l: number[]) => l.map((v) => v.toFixed(1)).join(" / ");
console.log(
  `\nenvironment bench: ${RUNS} interleaved run(s), medians; total ${((now() - started) / 1000).toFixed(0)} s on ${cpus().length} cores; load average (1/5/15 min) ${load(loadAtStart)} at the start, ${load(loadavg())} at the end`,
);
if (peekResults.length > 0) {
  const row = (name: PeekRow) => ({
    p50: med(peekResults.map((r) => r[name].p50)),
    p99: med(peekResults.map((r) => r[name].p99)),
    tput: Object.fromEntries(
      CONCURRENCIES.map((c) => [c, med(peekResults.map((r) => r[name].tput[c]!))]),
    ) as Record<number, number>,
    rows: `${Math.min(...peekResults.map((r) => r[name].rowsMin))}–${Math.max(...peekResults.map((r) => r[name].rowsMax))}`,
    /** Failed calls summed over the runs. */
    failed: peekResults.reduce((n, r) => n + r[name].failed, 0),
    cpu: Object.fromEntries(
      CONCURRENCIES.map((c) => [
        c,
        {
          servers: med(peekResults.map((r) => r[name].cpu[c]?.servers ?? Number.NaN)),
          client: med(peekResults.map((r) => r[name].cpu[c]?.client ?? Number.NaN)),
        },
      ]),
    ) as Record<number, { servers: number; client: number }>,
  });
  const base = PEEK_ROWS.includes("echo-grpc")
    ? row("echo-grpc")
    : { p50: Number.NaN, p99: Number.NaN, tput: {} as Record<number, number> };
  const label: Record<PeekRow, string> = {
    "raw-h2": "raw node:http2 unary, canned gRPC frame (floor)",
    "raw-client-echo": "raw node:http2 client → Connect echo server (server's share)",
    "connect-client-raw": "Connect gRPC client → raw node:http2 server (client's share)",
    "raw-client-peek": `API peek ${FULL_OBJECT}, raw node:http2 client, gRPC h2c`,
    "raw-client-peek-r1": `API peek ${FULL_OBJECT} targeted at one replica (r1), raw node:http2 client`,
    "relay-floor":
      "topology floor: raw client → bare relay → 2 bare replicas (worker thread), first answer",
    "relay-floor-r1": "topology floor targeted at one replica (r1)",
    "echo-grpc": "bare Connect echo, gRPC h2c (baseline)",
    "echo-json": "bare Connect echo, Connect JSON HTTP/1.1",
    "peek-grpc": `API peek ${FULL_OBJECT}, gRPC h2c`,
    "peek-json": `API peek ${FULL_OBJECT}, Connect JSON HTTP/1.1`,
    "lookup-grpc": "API point lookup bids_by_auction[auction 1], gRPC h2c",
    "lookup-json": "API point lookup bids_by_auction[auction 1], Connect JSON HTTP/1.1",
  };
  console.log(
    `\n### Peeks through the API (${LAT_N} sequential calls per row for latency; throughput with ${CONCURRENCIES.map((c) => `${c} in flight (${tputCalls(c)} calls)`).join(", ")})\n`,
  );
  const tputHead = CONCURRENCIES.map((c) => ` calls/s @${c} | vs echo |`).join("");
  console.log(
    `| row | rows returned | failed calls | p50 µs | p99 µs | p50 vs echo | p99 vs echo |${tputHead}`,
  );
  console.log(`|---|---:|---:|---:|---:|---:|---:|${"---:|---:|".repeat(CONCURRENCIES.length)}`);
  for (const name of PEEK_ROWS) {
    const r = row(name);
    const tputCells = CONCURRENCIES.map(
      (c) => ` ${r.tput[c]!.toFixed(0)} | ${x(r.tput[c]! / base.tput[c]!)} |`,
    ).join("");
    console.log(
      `| ${label[name]} | ${r.rows} | ${r.failed} | ${r.p50.toFixed(0)} | ${r.p99.toFixed(0)} | ${x(r.p50 / base.p50)} | ${x(r.p99 / base.p99)} |${tputCells}`,
    );
  }
  // Result lines: the API rows are tracked, the baselines (raw, echo) and p99s shown for noise.
  for (const name of PEEK_ROWS) {
    const r = row(name);
    // `raw-client-peek` (and `-r1`) are shown, not gated: a ref from before the row would lack it.
    const tracked = name.startsWith("peek-") || name.startsWith("lookup-");
    const baseline =
      name === "raw-h2" ||
      name.startsWith("echo-") ||
      name === "raw-client-echo" ||
      name === "connect-client-raw" ||
      name.startsWith("relay-floor");
    const fig = (figure: string, value: number, unit: string, better: Better, t = tracked) =>
      emitResult({ bench: "environment", figure, value, unit, better, tracked: t, baseline });
    fig(`${name} p50`, r.p50, "µs", "lower");
    fig(`${name} p99`, r.p99, "µs", "lower", false);
    fig(`${name} failed calls`, r.failed, "calls", "lower", false);
    for (const c of CONCURRENCIES) fig(`${name} calls/s @${c}`, r.tput[c]!, "calls/s", "higher");
    // The same figures over the echo baseline of the same run (less sensitive to the machine's
    // load than the absolute ones; shown, not gated).
    if (tracked && PEEK_ROWS.includes("echo-grpc")) {
      fig(`${name} p50 / echo p50`, r.p50 / base.p50, "x", "lower", false);
      for (const c of CONCURRENCIES)
        fig(`${name} calls/s @${c} / echo`, r.tput[c]! / base.tput[c]!, "x", "higher", false);
    }
  }
  floorTable(row);
  console.log(
    "\nBaseline: a bare Connect server (own process, loopback) answering EnvironmentService/Peek with a canned copy of environmentd's own top_bidders_idx answer (re-fetched every 500 ms) — same messages, same connect-node stack, no work; every ratio divides by its h2c gRPC row.",
  );
}
if (replicaResults.length > 0 || envResults.length > 0) {
  console.log(
    "\n### Recovery of the demo cluster (ms from the kill -9; cold boot from the spawn)\n",
  );
  console.log("| event | signal | runs reached | median ms | min–max ms | vs cold boot |");
  console.log("|---|---|---:|---:|---:|---:|");
  const base = med(coldBoots);
  const line = (event: string, signal: string, all: Array<number | undefined>) => {
    const xs = all.filter((t): t is number => t !== undefined);
    const stats =
      xs.length === 0 ? "— | — | —" : `${med(xs).toFixed(0)} | ${range(xs)} | ${x(med(xs) / base)}`;
    console.log(`| ${event} | ${signal} | ${xs.length}/${all.length} | ${stats} |`);
    emitResult({
      bench: "environment",
      figure: event,
      value: xs.length === all.length ? med(xs) : Number.NaN,
      unit: "ms",
      better: "lower",
      tracked: false,
    });
  };
  line(
    "cold boot (baseline)",
    `spawn of environmentd --demo on an empty dir → first API peek of ${FULL_OBJECT} answers`,
    coldBoots,
  );
  if (replicaResults.length > 0) {
    const rs = replicaResults;
    line(
      "replica r1 kill -9 → restarted",
      "replicas.json: r1 has a new pid and its ports (clusterd ready)",
      rs.map((r) => r.restarted),
    );
    line(
      "replica r1 kill -9 → caught up",
      `r1 /metrics: ${DEMO_DATAFLOWS} dataflows, arrangement records ≥ r2's`,
      rs.map((r) => r.caughtUp),
    );
    line(
      "replica r1 kill -9 → answering (rehydrated)",
      'an API peek of top_bidders_idx with replica "r1" answers',
      rs.map((r) => r.answering),
    );
  }
  if (envResults.length > 0) {
    line(
      "environmentd kill -9 → API listening",
      "restarted environmentd prints its API ports",
      envResults.map((r) => r.listening),
    );
    line(
      "environmentd kill -9 → peeks answer",
      `first API peek of ${FULL_OBJECT} answers (replicas adopted + reconciled)`,
      envResults.map((r) => r.answering),
    );
  }
  console.log(
    `\nBaseline: cold boot = a first boot on an empty data dir (demo objects created, replicas started and hydrated from nothing). Restart delay of the orchestrator: 500 ms backoff before the respawn. Polling every ${POLL_MS} ms; a run that does not reach an event within ${REHYDRATE_TIMEOUT_MS} ms counts as not reached (medians over the runs that reached it).`,
  );
  if (replicaResults.length > 0)
    console.log(
      `API peeks during the replica restarts: ${replicaResults.reduce((n, r) => n + r.peeksOk, 0)} answered, ${replicaResults.reduce((n, r) => n + r.peeksFailed, 0)} failed (r2 kept serving).`,
    );
  if (envResults.length > 0)
    console.log(
      `Replicas adopted (same pids) across the environmentd restarts: ${envResults.filter((r) => r.adopted).length}/${envResults.length}.`,
    );
}
process.exit(0);
