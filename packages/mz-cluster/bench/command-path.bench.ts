/**
 * Command-path benchmark: controller → replica process → all W workers → merged response.
 *
 * Rows (each server is a separate process on loopback, started fresh per run; runs interleaved):
 * - `echo`: the stream handler answers peeks itself — a bare Connect bidi echo with our
 *   framing, the baseline;
 * - `thread-hop W=n`: the stream handler hands each message's commands to n bare worker threads
 *   and joins their answers (`testing/hop-echo-session.ts`) — two `postMessage` hops, the floor
 *   of any design with workers on threads;
 * - `unified W=n`: peeks go through the unified runtime to all n workers, merged by
 *   `PartitionedComputeState`.
 * Latency: one peek per stream message, the next sent when the answer arrives (p50 / p99).
 * Throughput: peeks batched 64 per stream message, up to 1024 in flight.
 *
 * Usage: pnpm bench [regex] (rows whose name matches), --help. Under `BENCH_PROFILE_DIR` the
 * servers run with `--cpu-prof` (main thread and workers), one directory per row and run.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import {
  type ComputeCommand,
  computeRequestToProto,
  computeResponsesFromProto,
  createHello,
} from "@mzts/protocol";
import { ComputeService, type computeV1 } from "@mzts/protocol/wire";
import { AsyncQueue } from "../src/async-queue.js";

if (process.argv.includes("--help")) {
  console.log(
    "usage: tsx bench/command-path.bench.ts [row-regex]\nrows: echo, thread-hop W=1, thread-hop W=2, unified W=1, unified W=2",
  );
  process.exit(0);
}
const filter = new RegExp(process.argv.slice(2).find((a) => !a.startsWith("-")) ?? ".");
const LAT_N = Number(process.env.BENCH_LAT_N ?? 2000);
const TPUT_N = Number(process.env.BENCH_TPUT_N ?? 30000);
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const WARMUP = 300;
const serverEntry = new URL("../dist/testing/bench-server.js", import.meta.url);
/**
 * `BENCH_BASELINE_DIST=<another build's packages/mz-cluster/dist>`: rows of that build's
 * unified runtime too (A/B in one interleaved run).
 */
const BASELINE =
  process.env.BENCH_BASELINE_DIST === undefined
    ? undefined
    : new URL(`file://${process.env.BENCH_BASELINE_DIST}/testing/bench-server.js`);

interface Row {
  name: string;
  mode: string;
  workers: number;
  /** The bench server to run (default this build's). */
  entry?: URL;
  p50: number[];
  p99: number[];
  tput: number[];
  /** Server CPU time (all threads) per peek, µs. */
  cpu: number[];
}

function peek(uuid: string): ComputeCommand {
  return {
    kind: "peek",
    peek: {
      uuid,
      target: { kind: "index", id: "u1" },
      arity: 1,
      timestamp: 1n,
      mapFilterProject: { exprs: [], predicates: [], projection: [0] },
      finishing: { orderBy: [], offset: 0, project: [0] },
    },
  };
}

async function startServer(
  mode: string,
  workers: number,
  entry: URL,
): Promise<{ url: string; child: ChildProcess }> {
  const prof = process.env.BENCH_PROFILE_DIR;
  const flags =
    prof === undefined
      ? []
      : ["--cpu-prof", `--cpu-prof-dir=${prof}/${mode}-w${workers}-${Date.now()}`];
  const child = spawn(process.execPath, [...flags, entry.pathname, mode, String(workers)], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  const port = await new Promise<number>((resolve, reject) => {
    child.once("exit", (c) => reject(new Error(`server exited with ${c}`)));
    child.stdout!.on("data", (d: Buffer) => {
      const m = /PORT (\d+)/.exec(d.toString());
      if (m) resolve(Number(m[1]));
    });
  });
  return { url: `http://127.0.0.1:${port}`, child };
}

/** The server's CPU time so far (µs, all threads), or NaN when it does not tell (an old build). */
function serverCpu(child: ChildProcess): Promise<number> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      child.stdout!.off("data", on);
      resolve(Number.NaN);
    }, 2000);
    const on = (d: Buffer) => {
      const m = /CPU (\d+)/.exec(d.toString());
      if (!m) return;
      clearTimeout(timer);
      child.stdout!.off("data", on);
      resolve(Number(m[1]));
    };
    child.stdout!.on("data", on);
    child.kill("SIGUSR2");
  });
}

async function measure(
  mode: string,
  workers: number,
  entry: URL,
): Promise<{ p50: number; p99: number; tput: number; cpu: number }> {
  const { url, child } = await startServer(mode, workers, entry);
  try {
    const cpu0 = await serverCpu(child);
    const client = createClient(ComputeService, createGrpcTransport({ baseUrl: url }));
    const requests = new AsyncQueue<computeV1.ControlRequest>();
    const waiting = new Map<string, () => void>();
    const reader = (async () => {
      for await (const msg of client.control(requests)) {
        for (const r of computeResponsesFromProto(msg)) {
          if (r.kind === "peekResponse") {
            const w = waiting.get(r.uuid);
            waiting.delete(r.uuid);
            w?.();
          }
        }
      }
    })();
    requests.push(
      computeRequestToProto([
        { kind: "hello", hello: createHello(1n) },
        { kind: "initializationComplete" },
      ]),
    );
    const one = (uuid: string) => new Promise<void>((resolve) => waiting.set(uuid, resolve));
    // Warm-up.
    for (let i = 0; i < WARMUP; i++) {
      const u = randomUUID();
      const p = one(u);
      requests.push(computeRequestToProto([peek(u)]));
      await p;
    }
    const lat: number[] = [];
    for (let i = 0; i < LAT_N; i++) {
      const u = randomUUID();
      const p = one(u);
      const t0 = process.hrtime.bigint();
      requests.push(computeRequestToProto([peek(u)]));
      await p;
      lat.push(Number(process.hrtime.bigint() - t0) / 1000);
    }
    lat.sort((a, b) => a - b);
    // Throughput: batches of 64, window of 1024 in flight.
    const t0 = process.hrtime.bigint();
    let sent = 0;
    let inflight = 0;
    let release: (() => void) | undefined;
    while (sent < TPUT_N) {
      while (inflight >= 1024) await new Promise<void>((r) => (release = r));
      const batch: ComputeCommand[] = [];
      for (let i = 0; i < 64 && sent < TPUT_N; i++, sent++) {
        const u = randomUUID();
        inflight++;
        waiting.set(u, () => {
          inflight--;
          if (inflight < 512) {
            const r = release;
            release = undefined;
            r?.();
          }
        });
        batch.push(peek(u));
      }
      requests.push(computeRequestToProto(batch));
    }
    while (inflight > 0) await new Promise<void>((r) => (release = r));
    const secs = Number(process.hrtime.bigint() - t0) / 1e9;
    const cpu1 = await serverCpu(child);
    requests.end();
    await reader;
    return {
      p50: lat[Math.floor(lat.length * 0.5)]!,
      p99: lat[Math.floor(lat.length * 0.99)]!,
      tput: TPUT_N / secs,
      cpu: (cpu1 - cpu0) / (WARMUP + LAT_N + TPUT_N),
    };
  } finally {
    child.kill("SIGTERM");
  }
}

const rows: Row[] = [
  {
    name: "echo (bare Connect bidi, baseline)",
    mode: "echo",
    workers: 0,
    p50: [],
    p99: [],
    tput: [],
    cpu: [],
  },
  { name: "thread-hop W=1 (floor)", mode: "hop", workers: 1, p50: [], p99: [], tput: [], cpu: [] },
  { name: "thread-hop W=2 (floor)", mode: "hop", workers: 2, p50: [], p99: [], tput: [], cpu: [] },
  { name: "unified W=1", mode: "unified", workers: 1, p50: [], p99: [], tput: [], cpu: [] },
  { name: "unified W=2", mode: "unified", workers: 2, p50: [], p99: [], tput: [], cpu: [] },
  ...(BASELINE === undefined
    ? []
    : [1, 2].map((w) => ({
        name: `unified W=${w} (baseline build)`,
        mode: "unified",
        workers: w,
        entry: BASELINE,
        p50: [],
        p99: [],
        tput: [],
        cpu: [],
      }))),
].filter((r, i) => i === 0 || filter.test(r.name));

for (let run = 1; run <= RUNS; run++) {
  for (const row of rows) {
    process.stderr.write(`run ${run}/${RUNS}: ${row.name} …\n`);
    const m = await measure(row.mode, Math.max(1, row.workers), row.entry ?? serverEntry);
    row.p50.push(m.p50);
    row.p99.push(m.p99);
    row.tput.push(m.tput);
    row.cpu.push(m.cpu);
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const base = rows[0]!;
console.log(
  `\ncommand path: ${LAT_N} sequential peeks, ${TPUT_N} pipelined (64 per message); median of ${RUNS} interleaved runs`,
);
console.log(
  "| row | p50 µs | p99 µs | p50 vs echo | p50 vs hop (same W) | peeks/s pipelined | tput vs echo | tput vs hop (same W) | server CPU µs/peek | CPU vs echo |",
);
console.log("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
// Per-run ratios (each run's rows ran back to back), then their median: steadier under load.
const ratio = (r: Row, b: Row | undefined, key: "p50" | "tput" | "cpu") =>
  b === undefined || b.p50.length === 0
    ? "—"
    : `${median(r[key].map((v, i) => v / b[key][i]!)).toFixed(2)}x`;
for (const r of rows) {
  const hop =
    r.mode === "unified"
      ? rows.find((h) => h.mode === "hop" && h.workers === r.workers)
      : undefined;
  console.log(
    `| ${r.name} | ${median(r.p50).toFixed(0)} | ${median(r.p99).toFixed(0)} | ${ratio(r, base, "p50")} | ${ratio(r, hop, "p50")} | ${median(r.tput).toFixed(0)} | ${ratio(r, base, "tput")} | ${ratio(r, hop, "tput")} | ${median(r.cpu).toFixed(1)} | ${ratio(r, base, "cpu")} |`,
  );
}
