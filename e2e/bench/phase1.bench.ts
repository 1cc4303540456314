import { randomUUID } from "node:crypto";
import { join } from "node:path";
import { toBinary } from "@bufbuild/protobuf";
import { type ComputeCommand, computeRequestToProto } from "@mzts/protocol";
import { ComputeService } from "@mzts/protocol/wire";
import { computeDriver, storageDriver } from "../src/harness/driver.js";
import { withBenchServer, withClusterd } from "./bench-server.js";
import { constantIndex, keyedPeek } from "./constant-index.js";
import { processCpuUs, processUserSysUs } from "./proc-cpu.js";
import { rawH2Client, startRawH2EchoProcess } from "./raw-h2.js";
import { type Better, emitResult } from "./results.js";

const args = process.argv.slice(2);
if (args.includes("--help")) {
  console.log(
    "usage: tsx bench/phase1.bench.ts [--runs N] [--workers W]\nenv: BENCH_LAT_N, BENCH_TPUT_N, BENCH_FRESH_MS, BENCH_BATCH, BENCH_BASELINE_ROOT, BENCH_ROWS (comma-separated: raw,echo,hop,legacy,unified,legacy-base,unified-base; the -base rows by default when BENCH_BASELINE_ROOT is set)",
  );
  process.exit(0);
}
const argNum = (name: string, dflt: number) => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : dflt;
};
const RUNS = argNum("--runs", 3);
const W = argNum("--workers", 2);
const LAT_N = Number(process.env.BENCH_LAT_N ?? 1500);
const TPUT_N = Number(process.env.BENCH_TPUT_N ?? 20000);
const FRESH_MS = Number(process.env.BENCH_FRESH_MS ?? 4000);
/** Peeks per stream message in the pipelined phase (1: a burst of small messages, as API peeks). */
const BATCH = Number(process.env.BENCH_BATCH ?? 64);

const peek = (uuid: string) => keyedPeek(uuid);

interface Measure {
  p50: number;
  p99: number;
  tput: number;
  /**
   * Server CPU µs per peek (all threads) in the second half of the sequential phase, less its
   * idle rate.
   */
  cpuSeq: number;
  /** Server CPU µs per peek (all threads) in the pipelined phase. */
  cpuPipe: number;
  /** The part of `cpuPipe` on the server's main thread. */
  cpuPipeMain: number;
  /** User / system CPU µs per peek (all threads, `/proc/<pid>/stat`), sequential (less idle). */
  userSeq: number;
  sysSeq: number;
  /** User / system CPU µs per peek (all threads), pipelined. */
  userPipe: number;
  sysPipe: number;
}

async function drive(
  url: string,
  secret: Uint8Array | null,
  setup: ComputeCommand[],
  pid: number | undefined,
): Promise<Measure> {
  const d = computeDriver(url, 1n, { secret });
  d.send([...setup, { kind: "initializationComplete" }]);
  let seen = 0;
  const waitAnswers = async (n: number) => {
    await d.until(
      (rs) => {
        for (; seen < rs.length; seen++) if (rs[seen]!.kind === "peekResponse") n--;
        return n <= 0;
      },
      "peek answers",
      60_000,
    );
  };
  // Warm-up (also waits for the index to be readable).
  for (let i = 0; i < 200; i++) {
    d.send([peek(randomUUID())]);
    await waitAnswers(1);
  }
  // The server's idle CPU rate (maintenance ticks), subtracted from the sequential phase's CPU.
  const idle0 = processCpuUs(pid);
  const idleUs0 = processUserSysUs(pid);
  const idleT0 = process.hrtime.bigint();
  await new Promise((r) => setTimeout(r, 500));
  const idleWall = Number(process.hrtime.bigint() - idleT0) / 1000;
  const idleRate = (processCpuUs(pid) - idle0) / idleWall;
  const idleUs1 = processUserSysUs(pid);
  const idleUserRate = (idleUs1.user - idleUs0.user) / idleWall;
  const idleSysRate = (idleUs1.sys - idleUs0.sys) / idleWall;
  const lat: number[] = [];
  let pending = 0;
  // CPU is read over the second half of the sequential peeks: the first half still pays for
  // compilation (the warm-up is short).
  const half = Math.floor(LAT_N / 2);
  let seqCpu0 = Number.NaN;
  let seqUs0 = { user: Number.NaN, sys: Number.NaN };
  let seqT0 = 0n;
  for (let i = 0; i < LAT_N; i++) {
    if (i === half) {
      seqCpu0 = processCpuUs(pid);
      seqUs0 = processUserSysUs(pid);
      seqT0 = process.hrtime.bigint();
    }
    const t0 = process.hrtime.bigint();
    d.send([peek(randomUUID())]);
    pending = 1;
    await waitAnswers(pending);
    lat.push(Number(process.hrtime.bigint() - t0) / 1000);
  }
  const seqWallUs = Number(process.hrtime.bigint() - seqT0) / 1000;
  const cpuSeq = (processCpuUs(pid) - seqCpu0 - idleRate * seqWallUs) / (LAT_N - half);
  const seqUs1 = processUserSysUs(pid);
  const userSeq = (seqUs1.user - seqUs0.user - idleUserRate * seqWallUs) / (LAT_N - half);
  const sysSeq = (seqUs1.sys - seqUs0.sys - idleSysRate * seqWallUs) / (LAT_N - half);
  lat.sort((a, b) => a - b);
  const pipeCpu0 = processCpuUs(pid);
  const pipeUs0 = processUserSysUs(pid);
  const pipeMain0 = processCpuUs(pid, true);
  const t0 = process.hrtime.bigint();
  let sent = 0;
  let answered = 0;
  while (sent < TPUT_N) {
    while (sent - answered >= 1024) {
      const before = seen;
      await d.until((rs) => rs.length > before, "answers", 60_000);
      for (; seen < d.responses.length; seen++)
        if (d.responses[seen]!.kind === "peekResponse") answered++;
    }
    const batch: ComputeCommand[] = [];
    for (let i = 0; i < BATCH && sent < TPUT_N; i++, sent++) batch.push(peek(randomUUID()));
    d.send(batch);
  }
  await d.until(
    (rs) => {
      for (; seen < rs.length; seen++) if (rs[seen]!.kind === "peekResponse") answered++;
      return answered >= TPUT_N;
    },
    "all pipelined answers",
    120_000,
  );
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  const cpuPipe = (processCpuUs(pid) - pipeCpu0) / TPUT_N;
  const cpuPipeMain = (processCpuUs(pid, true) - pipeMain0) / TPUT_N;
  const pipeUs1 = processUserSysUs(pid);
  await d.close();
  return {
    p50: lat[Math.floor(lat.length / 2)]!,
    p99: lat[Math.floor(lat.length * 0.99)]!,
    tput: TPUT_N / secs,
    cpuSeq,
    cpuPipe,
    cpuPipeMain,
    userSeq,
    sysSeq,
    userPipe: (pipeUs1.user - pipeUs0.user) / TPUT_N,
    sysPipe: (pipeUs1.sys - pipeUs0.sys) / TPUT_N,
  };
}

/** The raw `node:http2` unary echo: same request bytes, same counts, nothing in between. */
async function rawRun(): Promise<Measure> {
  const server = await startRawH2EchoProcess();
  const client = rawH2Client(server.url, "/mz.compute.v1.ComputeService/Control");
  const encode = (n: number) =>
    toBinary(
      ComputeService.method.control.input,
      computeRequestToProto(Array.from({ length: n }, () => peek(randomUUID()))),
    );
  try {
    for (let i = 0; i < 200; i++) await client.call(encode(1));
    const lat: number[] = [];
    for (let i = 0; i < LAT_N; i++) {
      const t0 = process.hrtime.bigint();
      await client.call(encode(1));
      lat.push(Number(process.hrtime.bigint() - t0) / 1000);
    }
    lat.sort((a, b) => a - b);
    const t0 = process.hrtime.bigint();
    let sent = 0;
    await Promise.all(
      Array.from({ length: 1024 / 64 }, async () => {
        while (sent < TPUT_N) {
          const n = Math.min(64, TPUT_N - sent);
          sent += n;
          await client.call(encode(n));
        }
      }),
    );
    const secs = Number(process.hrtime.bigint() - t0) / 1e9;
    return {
      p50: lat[Math.floor(lat.length / 2)]!,
      p99: lat[Math.floor(lat.length * 0.99)]!,
      tput: TPUT_N / secs,
      cpuSeq: Number.NaN,
      cpuPipe: Number.NaN,
      cpuPipeMain: Number.NaN,
      userSeq: Number.NaN,
      sysSeq: Number.NaN,
      userPipe: Number.NaN,
      sysPipe: Number.NaN,
    };
  } finally {
    client.close();
    server.stop();
  }
}

/** mz-cluster's bench server: `echo` (the baseline) or `hop` (the thread-hop echo with W threads). */
async function echoRun(mode: "echo" | "hop" = "echo"): Promise<Measure> {
  return withBenchServer(mode, W, (url, pid) => drive(url, null, [], pid));
}

/**
 * `BENCH_BASELINE_ROOT=<another checkout, built>`: the `legacy-base` and `unified-base` rows run
 * that tree's clusterd, interleaved with this tree's (an A/B in one run).
 */
const BASELINE_CLUSTERD =
  process.env.BENCH_BASELINE_ROOT === undefined
    ? undefined
    : join(process.env.BENCH_BASELINE_ROOT, "packages/clusterd/dist/main.js");

async function clusterdRun(
  unified: boolean,
  entry?: string,
): Promise<Measure & { fresh50: number; fresh99: number }> {
  const opts = {
    workers: W,
    flags: { servers: unified },
    ...(entry === undefined ? {} : { entry }),
  };
  return withClusterd(opts, async (c) => {
    const m = await drive(
      c.computeUrl,
      c.secret,
      [{ kind: "createDataflow", dataflow: constantIndex }],
      c.process.child.pid,
    );
    // Freshness: a real-time counter ingested by storage, indexed by compute.
    const s = storageDriver(c.storageUrl, 1n, { secret: c.secret });
    s.send([
      {
        kind: "runIngestion",
        id: "u10",
        description: {
          sourceExports: [{ id: "u11", shardId: "counter", outputIndex: 0, name: "counter" }],
          connection: {
            kind: "loadGenerator",
            generator: { kind: "counter" },
            seed: 1n,
            tickIntervalMs: 50,
          },
        },
      },
      { kind: "initializationComplete" },
      { kind: "allowWrites" },
    ]);
    const d = computeDriver(c.computeUrl, 2n, { secret: c.secret });
    const now = BigInt(Date.now());
    d.send([
      {
        kind: "createDataflow",
        dataflow: {
          debugName: "fresh",
          sourceImports: [{ id: "u11", shardId: "counter", arity: 1, upper: now }],
          indexImports: [],
          objectsToBuild: [{ id: "u12", plan: { kind: "get", id: "u11", arity: 1 } }],
          indexExports: [{ id: "u13", objectId: "u12", key: [0] }],
          sinkExports: [],
          asOf: now,
          until: null,
        },
      },
      { kind: "initializationComplete" },
    ]);
    // Ticks are every 50 ms of wall time; when the index's write frontier moves from `prev` to
    // `f`, every tick time in [prev, f) became visible now: its lag is now − tick time.
    const TICK = 50;
    const lags: number[] = [];
    let seen = 0;
    let prev: bigint | undefined;
    const end = Date.now() + FRESH_MS;
    while (Date.now() < end) {
      await d
        .until((rs) => rs.length > seen || Date.now() >= end, "frontiers", FRESH_MS + 1000)
        .catch(() => {});
      const wall = Date.now();
      for (; seen < d.responses.length; seen++) {
        const r = d.responses[seen]!;
        if (r.kind !== "frontiers" || r.id !== "u13" || typeof r.frontiers.write !== "bigint")
          continue;
        const f = Number(r.frontiers.write);
        if (prev !== undefined) {
          const from = Number(prev);
          const first = Math.ceil(from / TICK) * TICK;
          for (let t = first; t < f; t += TICK) lags.push(wall - t);
        }
        prev = r.frontiers.write;
      }
    }
    await d.close();
    await s.close();
    await c.stop();
    lags.sort((a, b) => a - b);
    const q = (p: number) =>
      lags[Math.min(lags.length - 1, Math.floor(lags.length * p))] ?? Number.NaN;
    return { ...m, fresh50: q(0.5), fresh99: q(0.99) };
  });
}

const results: Record<string, Array<Measure & { fresh50?: number; fresh99?: number }>> = {
  raw: [],
  echo: [],
  hop: [],
  legacy: [],
  unified: [],
  "legacy-base": [],
  "unified-base": [],
};
/**
 * `BENCH_ROWS=unified` (comma-separated) measures only those rows (e.g. under `--cpu-prof`). By
 * default every row, the baseline build's two (`legacy-base`, `unified-base`) when
 * `BENCH_BASELINE_ROOT` is set.
 */
const ONLY = process.env.BENCH_ROWS?.split(",") ?? [
  "raw",
  "echo",
  "hop",
  "legacy",
  "unified",
  ...(BASELINE_CLUSTERD === undefined ? [] : ["legacy-base", "unified-base"]),
];
const RUNNERS: Record<string, [string, () => Promise<Measure>]> = {
  raw: ["raw node:http2 echo", rawRun],
  echo: ["echo", () => echoRun("echo")],
  hop: [`thread-hop echo (W=${W})`, () => echoRun("hop")],
  legacy: ["legacy (flag off)", () => clusterdRun(false)],
  unified: ["unified (flag on)", () => clusterdRun(true)],
  "legacy-base": ["legacy (flag off), baseline build", () => clusterdRun(false, baselineEntry())],
  "unified-base": ["unified (flag on), baseline build", () => clusterdRun(true, baselineEntry())],
};
function baselineEntry(): string {
  if (BASELINE_CLUSTERD === undefined)
    throw new Error("the -base rows need BENCH_BASELINE_ROOT (another checkout, built)");
  return BASELINE_CLUSTERD;
}
for (let run = 1; run <= RUNS; run++) {
  for (const name of ONLY) {
    const [label, measure] = RUNNERS[name] ?? [];
    if (measure === undefined) throw new Error(`BENCH_ROWS: unknown row ${name}`);
    process.stderr.write(`run ${run}/${RUNS}: ${label} …\n`);
    results[name]!.push(await measure());
  }
}
const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const row = (name: string) => {
  const rs = results[name]!;
  return {
    p50: med(rs.map((r) => r.p50)),
    p99: med(rs.map((r) => r.p99)),
    tput: med(rs.map((r) => r.tput)),
    fresh50: med(rs.map((r) => r.fresh50 ?? Number.NaN)),
    fresh99: med(rs.map((r) => r.fresh99 ?? Number.NaN)),
    cpuSeq: med(rs.map((r) => r.cpuSeq)),
    cpuPipe: med(rs.map((r) => r.cpuPipe)),
    cpuPipeMain: med(rs.map((r) => r.cpuPipeMain)),
    userSeq: med(rs.map((r) => r.userSeq)),
    sysSeq: med(rs.map((r) => r.sysSeq)),
    userPipe: med(rs.map((r) => r.userPipe)),
    sysPipe: med(rs.map((r) => r.sysPipe)),
  };
};
/** Median of the per-run ratios of row `name` to row `base` (each run's rows ran back to back). */
const perRun = (name: string, base: string, key: keyof Measure) => {
  const a = results[name]!;
  const b = results[base]!;
  if (a.length === 0 || b.length !== a.length) return Number.NaN;
  return med(a.map((r, i) => r[key] / b[i]![key]));
};
const echo = row("echo");
const legacy = row("legacy");
const raw = row("raw");
console.log(
  `\nphase 1 command path: W=${W}, ${LAT_N} sequential peeks, ${TPUT_N} pipelined (${BATCH}/message); median of ${RUNS} interleaved runs`,
);
console.log(
  "| row | p50 µs | p99 µs | p50 vs echo | p50 vs raw h2 | peeks/s pipelined | tput vs echo | tput vs raw h2 | vs legacy (p50 / tput) | vs thread-hop (p50 / tput) | freshness p50 / p99 ms | server CPU µs/peek seq / pipelined (main thread) | user / sys µs/peek seq; pipelined | vs baseline build: CPU seq / CPU pipelined (main thread) / p50 / tput |",
);
console.log("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
const hop = ONLY.includes("hop") ? row("hop") : undefined;
const LABELS: Record<string, string> = {
  raw: "raw node:http2 unary echo (floor)",
  echo: "bare Connect echo (baseline)",
  hop: `thread-hop echo, W=${W} threads (floor with workers)`,
  legacy: "legacy (flag off)",
  unified: "unified (flag on)",
  "legacy-base": "legacy (flag off), baseline build",
  "unified-base": "unified (flag on), baseline build",
};
for (const name of ONLY) {
  const r = row(name);
  const fresh =
    name === "legacy" || name === "unified"
      ? `${r.fresh50.toFixed(0)} / ${r.fresh99.toFixed(0)}`
      : "—";
  const vsLegacy =
    name === "unified"
      ? `${(r.p50 / legacy.p50).toFixed(2)}x / ${(r.tput / legacy.tput).toFixed(2)}x`
      : "—";
  const ratio = (n: number) => (Number.isFinite(n) ? `${n.toFixed(2)}x` : "—");
  const vsHop =
    hop !== undefined && (name === "legacy" || name === "unified")
      ? `${ratio(r.p50 / hop.p50)} / ${ratio(r.tput / hop.tput)}`
      : "—";
  const base = `${name}-base`;
  const vsBase =
    results[base] !== undefined && results[base].length > 0
      ? `${ratio(perRun(name, base, "cpuSeq"))} / ${ratio(perRun(name, base, "cpuPipe"))} (${ratio(perRun(name, base, "cpuPipeMain"))}) / ${ratio(perRun(name, base, "p50"))} / ${ratio(perRun(name, base, "tput"))}`
      : "—";
  console.log(
    `| ${LABELS[name]} | ${r.p50.toFixed(0)} | ${r.p99.toFixed(0)} | ${ratio(r.p50 / echo.p50)} | ${ratio(r.p50 / raw.p50)} | ${r.tput.toFixed(0)} | ${ratio(r.tput / echo.tput)} | ${ratio(r.tput / raw.tput)} | ${vsLegacy} | ${vsHop} | ${fresh} | ${r.cpuSeq.toFixed(1)} / ${r.cpuPipe.toFixed(1)} (${r.cpuPipeMain.toFixed(1)}) | ${r.userSeq.toFixed(0)} / ${r.sysSeq.toFixed(0)}; ${r.userPipe.toFixed(1)} / ${r.sysPipe.toFixed(1)} | ${vsBase} |`,
  );
}
// Result lines (`results.ts`): the clusterd rows are tracked; the baselines, p99s and freshness
// (dominated by the 50 ms tick) are shown for the noise.
for (const name of ONLY) {
  const r = row(name);
  const clusterd = name === "legacy" || name === "unified";
  const baseline = !clusterd; // the raw, echo and thread-hop rows
  const fig = (figure: string, value: number, unit: string, better: Better, tracked: boolean) =>
    emitResult({
      bench: "phase1",
      figure: `${name} ${figure}`,
      value,
      unit,
      better,
      tracked,
      baseline,
    });
  fig("p50", r.p50, "µs", "lower", clusterd);
  // Where the server's CPU per peek goes: user (our code, V8) or system (wake-ups, syscalls).
  if (Number.isFinite(r.userSeq)) {
    fig("CPU user µs/peek seq", r.userSeq, "µs", "lower", false);
    fig("CPU sys µs/peek seq", r.sysSeq, "µs", "lower", false);
    fig("CPU user µs/peek pipelined", r.userPipe, "µs", "lower", false);
    fig("CPU sys µs/peek pipelined", r.sysPipe, "µs", "lower", false);
  }
  fig("p99", r.p99, "µs", "lower", false);
  fig("peeks/s pipelined", r.tput, "peeks/s", "higher", clusterd);
  if (clusterd) fig("freshness p50", r.fresh50, "ms", "lower", false);
  // Over the echo baseline of the same run (less sensitive to the machine's load; not gated).
  if (clusterd && ONLY.includes("echo")) {
    fig("p50 / echo p50", r.p50 / echo.p50, "x", "lower", false);
    fig("peeks/s / echo", r.tput / echo.tput, "x", "higher", false);
  }
  if (clusterd && hop !== undefined) {
    fig("p50 / thread-hop p50", r.p50 / hop.p50, "x", "lower", false);
    fig("peeks/s / thread-hop", r.tput / hop.tput, "x", "higher", false);
  }
}
