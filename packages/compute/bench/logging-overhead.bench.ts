/**
 * Logging overhead on compute's command path (phase 2, *logging*): the same commands with
 * introspection on (interval 1000 ms, every compute relation installed) and off (interval 0,
 * the baseline measured in the same run), runs interleaved, medians printed with the on/off ratio.
 *
 * Rows:
 * - `state W=1`: one `ComputeState` in process (no threads): the logging cost alone, with
 *   compute's legacy host; `state W=1 uh`: the same with mz-cluster's `UnifiedLoggingHost`;
 * - `unified W=2`, `legacy W=2`: a replica on worker threads, driven like a server drives it
 *   (submit + merge), with compute's legacy logging host; `unified W=2 uh`: the unified runtime
 *   hosting unified logging (`logging: {role: "host"}`, as clusterd does with the phase on).
 * Workloads: peeks of a small index (batched 64 per submit, up to 1024 in flight on threads);
 * dataflow create + drop pairs (a constant → index dataflow, created and dropped, 64 per submit).
 *
 * Usage: pnpm --filter @mzts/compute bench [row-regex] (--help). BENCH_RUNS (3), BENCH_PEEKS
 * (20000), BENCH_DATAFLOWS (2000) scale it. Uses the built dist (`pnpm build` first).
 */
import { mkdtemp, rm } from "node:fs/promises";
import { type LoggingHost, UnifiedLoggingHost } from "@mzts/mz-cluster/logging";
import type { ComputeCommand, ComputeResponse, DataflowDescription, Peek } from "@mzts/protocol";
import { pino } from "pino";
import { ComputeState, LegacyComputeLogging } from "../dist/index.js";
import { conformanceConfig } from "../dist/logging/conformance.js";
import { type PathKind, Replica, until } from "../test/harness.js";
import { constantIndex } from "./constant-index.js";

if (process.argv.includes("--help")) {
  console.log(
    "usage: tsx bench/logging-overhead.bench.ts [row-regex]\n" +
      "rows: state W=1, state W=1 uh, unified W=2, unified W=2 uh, legacy W=2 (logging off and on;\n" +
      "uh = mz-cluster's unified host, else compute's legacy host)",
  );
  process.exit(0);
}
const filter = new RegExp(process.argv.slice(2).find((a) => !a.startsWith("-")) ?? ".");
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const PEEKS = Number(process.env.BENCH_PEEKS ?? 20_000);
const DATAFLOWS = Number(process.env.BENCH_DATAFLOWS ?? 2_000);
const BATCH = 64;
const IN_FLIGHT = 1024;
/** `off` / `on`: run one side only (profiling); default both. */
const ONLY = process.env.BENCH_ONLY;

const dataflow = (id: string): DataflowDescription => constantIndex(id, 16);

let uuids = 0;
const peek = (id: string): Peek => ({
  uuid: `00000000-0000-4000-8000-${(++uuids).toString(16).padStart(12, "0")}`,
  target: { kind: "index", id },
  arity: 2,
  timestamp: 0n,
  mapFilterProject: { exprs: [], predicates: [], projection: [0, 1] },
  finishing: { orderBy: [], offset: 0, project: [0, 1] },
});

const start = (intervalMs: number): ComputeCommand[] => [
  { kind: "createInstance", config: { logging: conformanceConfig(intervalMs) } },
  { kind: "initializationComplete" },
];

interface Sample {
  peeksPerS: number;
  dataflowsPerS: number;
  /** Process CPU (every thread) per peek / per dataflow create + drop, µs. */
  cpuPerPeek: number;
  cpuPerDataflow: number;
}

/** CPU µs (user + system, every thread of the process) since `from`. */
function cpuSince(from: NodeJS.CpuUsage): number {
  const c = process.cpuUsage(from);
  return c.user + c.system;
}

/** One in-process worker: commands applied, stepped and maintained synchronously. */
function measureState(intervalMs: number, host: LoggingHost): Sample {
  let answered = 0;
  let dropped = 0;
  const state = new ComputeState(0, 1, {
    mesh: { index: 0, peers: 1, send() {}, on() {} },
    config: { dataDir: "/tmp/log-compute-bench" },
    respond: (r) => {
      if (r.kind === "peekResponse") answered++;
      if (r.kind === "frontiers" && r.frontiers.write === null) dropped++;
    },
    requestStep: () => {},
    logger: pino({ level: "silent" }),
    logging: host,
  });
  const drive = (cmds: ComputeCommand[]) => {
    for (const c of cmds) state.apply(c);
    while (state.step());
  };
  drive([...start(intervalMs), { kind: "createDataflow", dataflow: dataflow("u1") }]);
  let lastTick = performance.now();
  const tick = () => {
    // The runtimes' maintenance interval is 10 ms.
    if (performance.now() - lastTick < 10) return;
    lastTick = performance.now();
    state.maintain();
  };
  let c0 = process.cpuUsage();
  let t0 = performance.now();
  for (let i = 0; i < PEEKS; i += BATCH) {
    drive(Array.from({ length: BATCH }, () => ({ kind: "peek", peek: peek("u1") }) as const));
    tick();
  }
  const peeksPerS = answered / ((performance.now() - t0) / 1000);
  const cpuPerPeek = cpuSince(c0) / answered;
  c0 = process.cpuUsage();
  t0 = performance.now();
  for (let i = 0; i < DATAFLOWS; i += BATCH) {
    const cmds: ComputeCommand[] = [];
    for (let j = i; j < i + BATCH; j++)
      cmds.push({ kind: "createDataflow", dataflow: dataflow(`d${j}`) });
    drive(cmds);
    tick();
    drive(cmds.map((_, k) => ({ kind: "allowCompaction", id: `d${i + k}`, frontier: null })));
    tick();
  }
  state.maintain();
  const dataflowsPerS = dropped / ((performance.now() - t0) / 1000);
  const cpuPerDataflow = cpuSince(c0) / dropped;
  void state.close();
  return { peeksPerS, dataflowsPerS, cpuPerPeek, cpuPerDataflow };
}

/** A replica on threads, driven through its runtime and merger. */
async function measureReplica(path: PathKind, intervalMs: number): Promise<Sample> {
  const dir = await mkdtemp("/tmp/log-compute-bench-");
  const rep = new Replica(path, 2, dir);
  try {
    await rep.rt.ready;
    rep.connect("bench");
    rep.send(...start(intervalMs), { kind: "createDataflow", dataflow: dataflow("u1") });
    // Counts responses matching `pred`, scanning only what arrived since the last call.
    let scanned = 0;
    let matched = 0;
    const count = (pred: (r: ComputeResponse) => boolean) => {
      for (; scanned < rep.out.length; scanned++) if (pred(rep.out[scanned]!)) matched++;
      return matched;
    };
    // Peeks: keep up to IN_FLIGHT outstanding.
    let sent = 0;
    let answered = 0;
    let c0 = process.cpuUsage();
    let t0 = performance.now();
    while (answered < PEEKS) {
      answered = count((r) => r.kind === "peekResponse");
      if (sent - answered < IN_FLIGHT && sent < PEEKS) {
        rep.send(
          ...Array.from({ length: BATCH }, () => ({ kind: "peek", peek: peek("u1") }) as const),
        );
        sent += BATCH;
      } else await new Promise((r) => setImmediate(r));
    }
    const peeksPerS = answered / ((performance.now() - t0) / 1000);
    const cpuPerPeek = cpuSince(c0) / answered;
    rep.out = [];
    scanned = 0;
    matched = 0;
    c0 = process.cpuUsage();
    t0 = performance.now();
    for (let i = 0; i < DATAFLOWS; i += BATCH) {
      const ids = Array.from({ length: BATCH }, (_, k) => `d${i + k}`);
      rep.send(...ids.map((id) => ({ kind: "createDataflow", dataflow: dataflow(id) }) as const));
      rep.send(...ids.map((id) => ({ kind: "allowCompaction", id, frontier: null }) as const));
      await new Promise((r) => setImmediate(r));
    }
    const isDrop = (r: ComputeResponse) => r.kind === "frontiers" && r.frontiers.write === null;
    await until(() => count(isDrop) >= DATAFLOWS, "every dataflow dropped", 120_000);
    const dataflowsPerS = DATAFLOWS / ((performance.now() - t0) / 1000);
    const cpuPerDataflow = cpuSince(c0) / DATAFLOWS;
    return { peeksPerS, dataflowsPerS, cpuPerPeek, cpuPerDataflow };
  } finally {
    await rep.close();
    await rm(dir, { recursive: true, force: true });
  }
}

const rows: Array<{ name: string; run: (intervalMs: number) => Sample | Promise<Sample> }> = [
  { name: "state W=1", run: (i) => measureState(i, new LegacyComputeLogging({ worker: 0 })) },
  { name: "state W=1 uh", run: (i) => measureState(i, new UnifiedLoggingHost({ worker: 0 })) },
  { name: "unified W=2", run: (i) => measureReplica("unified", i) },
  { name: "unified W=2 uh", run: (i) => measureReplica("unified-logging", i) },
  { name: "legacy W=2", run: (i) => measureReplica("legacy", i) },
];

const median = (xs: number[]) =>
  xs.length === 0 ? Number.NaN : [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

console.log(`runs ${RUNS}, peeks ${PEEKS}, dataflows ${DATAFLOWS}; logging on = interval 1000 ms`);
console.log(
  "throughput: ops/s (median); cpu: process CPU µs per op, every thread (median); ratio = on / off",
);
const header = [
  "row",
  "peeks/s off",
  "on",
  "ratio",
  "cpu/peek off",
  "on",
  "ratio",
  "df/s off",
  "on",
  "ratio",
  "cpu/df off",
  "on",
  "ratio",
];
console.log(
  header.map((h, i) => (i === 0 ? h.padEnd(14) : h.padStart(i % 3 === 1 ? 12 : 8))).join(" "),
);
for (const row of rows.filter((r) => filter.test(r.name))) {
  const off: Sample[] = [];
  const on: Sample[] = [];
  for (let i = 0; i < RUNS; i++) {
    if (ONLY !== "on") off.push(await row.run(0));
    if (ONLY !== "off") on.push(await row.run(1000));
  }
  const cells: string[] = [row.name.padEnd(14)];
  for (const k of ["peeksPerS", "cpuPerPeek", "dataflowsPerS", "cpuPerDataflow"] as const) {
    const a = median(off.map((s) => s[k]));
    const b = median(on.map((s) => s[k]));
    const digits = k.startsWith("cpu") ? 1 : 0;
    cells.push(
      a.toFixed(digits).padStart(12),
      b.toFixed(digits).padStart(8),
      (b / a).toFixed(2).padStart(8),
    );
  }
  console.log(cells.join(" "));
}
