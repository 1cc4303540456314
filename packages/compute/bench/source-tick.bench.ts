/**
 * What N index dataflows on one ticking source cost a worker (issue 16), in process: the scale
 * bench's replica (a counter source ticking once a second, N indexes on it) without
 * environmentd, the network or worker threads. One `ComputeState` (W=1, compute's legacy
 * logging host with every compute relation at 1000 ms, as clusterd with every phase off), real
 * persist on a temp directory; a writer appends the counter's next row every `BENCH_TICK_MS`
 * (default 1000) through its own persist client in this process, as storage does on a replica.
 * The worker is driven like the legacy worker loop: `step()` until quiet on every request,
 * `maintain()` by mz-cluster's `MaintenanceTimer` (10 ms interval: when the state asks or it is
 * due; a `compute` dist whose `maintain()` says nothing gets the old fixed 10 ms tick, so a
 * baseline dist swapped in measures what it did).
 *
 * After every index answered (hydrated) and `BENCH_SETTLE_S` (default 3) more seconds, the
 * process CPU (user + system, the writer's share included) over `BENCH_WINDOW_S` (default 10)
 * seconds is the row's figure, as % of a core, beside the heap and RSS at the end. Rows at N = 4
 * (the baseline, the demo's size) and each N given, as ratios to the baseline of the same run.
 *
 * `BENCH_COMPACT=1`: after every tick the bench also applies what environmentd sends a replica
 * at idle, one `allowCompaction` per index (to 2 ticks behind the upper), as one batch of
 * commands (clusterd's compute worker sees ~1,000 a second at 1,000 indexes).
 *
 * `BENCH_LOGGING=off`: the instance is created with introspection off (no log tables, no operator
 * timing): what is left is the dataflows' own cost, persist and the worker loop.
 *
 * Usage: tsx bench/source-tick.bench.ts [N,N...] (default 300,1000). Uses the built dist.
 * `BENCH_UH=1`: the unified logging host (mz-cluster's `UnifiedLoggingHost`) instead.
 * Profile the window of one row: `BENCH_ONLY=1 BENCH_EXIT_AFTER_WINDOW=1 node --cpu-prof
 * --cpu-prof-dir=<dir> --import tsx bench/source-tick.bench.ts 1000`, then e2e's
 * `tsx bench/profile/cpuprofile-summary.ts <file> --last 10` (the window is the profile's end).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { Session } from "node:inspector/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { MaintenanceTimer } from "@mzts/mz-cluster";
import { UnifiedLoggingHost } from "@mzts/mz-cluster/logging";
import { createPersist } from "@mzts/persist";
import type { ComputeCommand, DataflowDescription } from "@mzts/protocol";
import { pino } from "pino";
import { ComputeState, LegacyComputeLogging } from "../dist/index.js";
import { conformanceConfig } from "../dist/logging/conformance.js";

const counts = (process.argv[2] ?? "300,1000").split(",").map(Number);
const TICK_MS = Number(process.env.BENCH_TICK_MS ?? 1000);
const SETTLE_S = Number(process.env.BENCH_SETTLE_S ?? 3);
const WINDOW_S = Number(process.env.BENCH_WINDOW_S ?? 10);
const RUNS = Number(process.env.BENCH_RUNS ?? 1);
const COMPACT = process.env.BENCH_COMPACT === "1";
const LOGGING_OFF = process.env.BENCH_LOGGING === "off";
const BASELINE = 4;
/** `BENCH_UH=1`: mz-cluster's `UnifiedLoggingHost` instead of compute's legacy host (phase 2 on). */
const UNIFIED = process.env.BENCH_UH === "1";
const SHARD = "counter";

/**
 * `BENCH_HEAP_PROFILE=<file>`: V8's sampling heap profiler from before the dataflows are created
 * to the end of the window; the live sampled allocations (what the heap holds then, by
 * allocation stack) go to `<file>` (`.heapprofile`, DevTools' format) and a summary by
 * allocating function to stderr.
 */
const HEAP_PROFILE = process.env.BENCH_HEAP_PROFILE;
/**
 * `BENCH_ALLOC_PROFILE=<file>`: the same profiler over the measured window only, counting objects
 * collected since too — where the window allocates (what the GC share is made of).
 */
const ALLOC_PROFILE = process.env.BENCH_ALLOC_PROFILE;

/** Exit right after the first measured window (under `--cpu-prof`: the profile ends with it). */
const EXIT_AFTER = process.env.BENCH_EXIT_AFTER_WINDOW === "1";

/**
 * CPU ms of the main thread alone (the worker: compute, its persist client and the writer; not
 * persist's or libuv's helper threads), from `/proc` (Linux; NaN elsewhere), 10 ms resolution.
 */
function mainThreadCpuMs(): number {
  try {
    const stat = readFileSync(`/proc/self/task/${process.pid}/stat`, "utf8");
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(f[11]) + Number(f[12])) * 10;
  } catch {
    return Number.NaN;
  }
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** The scale bench's index: the counter's subsource (arity 1) → index on column 0. */
function sourceIndex(i: number, asOf: bigint): DataflowDescription {
  const id = `u${i + 10}`;
  return {
    debugName: `i${i}`,
    sourceImports: [{ id: "u1", shardId: SHARD, arity: 1, upper: asOf + 1n }],
    indexImports: [],
    objectsToBuild: [{ id, plan: { kind: "get", id: "u1", arity: 1 } }],
    indexExports: [{ id, objectId: id, key: [0] }],
    sinkExports: [],
    asOf,
    until: null,
  };
}

interface Row {
  readonly n: number;
  readonly cpuPct: number;
  /** The main thread's share of `cpuPct`. */
  readonly mainPct: number;
  readonly heapMb: number;
  readonly rssMb: number;
}

async function measure(n: number): Promise<Row> {
  const dir = mkdtempSync(join(tmpdir(), "mzts-bench-source-tick-"));
  const writerClient = await createPersist({ dataDir: join(dir, "persist") });
  const shard = await writerClient.openShard(SHARD, { create: true });
  // The controller's hold: a few ticks behind the upper, as environmentd's read policy keeps it.
  const hold = await shard.openSinceHandle("controller");
  let t = 0n;
  let compactTo = 0n;
  let ready = false;
  const append = async () => {
    await shard.compareAndAppend([[[t + 1n], t, 1]], t, t + 1n);
    t++;
    if (t > 5n) await hold.downgradeSince(t - 5n);
    // environmentd's read policy: every index's compaction follows the upper (BENCH_COMPACT).
    if (COMPACT && ready && t - 2n > compactTo) {
      compactTo = t - 2n;
      for (let i = 0; i < n; i++)
        state.apply({ kind: "allowCompaction", id: `u${i + 10}`, frontier: compactTo });
      requestStep();
    }
  };
  for (let i = 0; i < 5; i++) await append();
  // One append at a time (a tick may come while the previous append still waits on a busy loop).
  let writing: Promise<void> = Promise.resolve();
  const writer = setInterval(() => {
    writing = writing.then(append);
  }, TICK_MS);

  const log = pino({ level: "silent" });
  const frontiers = new Map<string, bigint | null>();
  let scheduled = false;
  let closed = false;
  const maintenance = new MaintenanceTimer({
    intervalMs: 10,
    run: () => {
      const due = state.maintain() as number | undefined;
      // The old loop stepped after every tick; a state that says when it is due asks itself.
      if (typeof due !== "number") requestStep();
      return due;
    },
  });
  const state: ComputeState = new ComputeState(0, 1, {
    mesh: { index: 0, peers: 1, send() {}, on() {} },
    config: { dataDir: join(dir, "persist"), replicaId: "bench" },
    respond: (r) => {
      if (r.kind === "frontiers" && r.frontiers.output !== undefined)
        frontiers.set(r.id, r.frontiers.output);
    },
    requestStep,
    requestMaintenance: () => maintenance.request(),
    logger: log,
    logging: UNIFIED
      ? new UnifiedLoggingHost({ worker: 0 })
      : new LegacyComputeLogging({ worker: 0, log }),
  });
  function requestStep(): void {
    if (scheduled || closed) return;
    scheduled = true;
    setImmediate(() => {
      scheduled = false;
      if (closed) return;
      const deadline = performance.now() + 5;
      let more = true;
      while (more && performance.now() < deadline) more = state.step();
      if (more) requestStep();
    });
  }
  maintenance.request();

  const heap = HEAP_PROFILE === undefined ? undefined : new Session();
  if (heap !== undefined) {
    heap.connect();
    await heap.post("HeapProfiler.startSampling", { samplingInterval: 4096 });
  }
  const cmds: ComputeCommand[] = [
    {
      kind: "createInstance",
      config: {
        logging: LOGGING_OFF
          ? { enabled: false, intervalMs: 0, logLogging: false, indexLogs: new Map() }
          : conformanceConfig(1000),
      },
    },
    ...Array.from(
      { length: n },
      (_, i): ComputeCommand => ({ kind: "createDataflow", dataflow: sourceIndex(i, t - 1n) }),
    ),
    { kind: "initializationComplete" },
  ];
  for (const c of cmds) state.apply(c);
  compactTo = t - 1n;
  ready = true;
  const hydrated = () => {
    let k = 0;
    for (const f of frontiers.values()) if (f !== null && f >= t - 1n) k++;
    return k;
  };
  const deadline = Date.now() + 120_000 + n * 100;
  while (hydrated() < n) {
    if (Date.now() > deadline) throw new Error(`only ${hydrated()} of ${n} indexes hydrated`);
    await sleep(100);
  }
  await sleep(SETTLE_S * 1000);
  const alloc = ALLOC_PROFILE === undefined ? undefined : new Session();
  if (alloc !== undefined) {
    alloc.connect();
    await alloc.post("HeapProfiler.startSampling", {
      samplingInterval: 4096,
      includeObjectsCollectedByMajorGC: true,
      includeObjectsCollectedByMinorGC: true,
    });
  }
  const c0 = process.cpuUsage();
  const m0 = mainThreadCpuMs();
  const w0 = performance.now();
  await sleep(WINDOW_S * 1000);
  const c1 = process.cpuUsage(c0);
  const mainMs = mainThreadCpuMs() - m0;
  const wallMs = performance.now() - w0;
  if (alloc !== undefined) {
    const { profile } = await alloc.post("HeapProfiler.getSamplingProfile");
    await alloc.post("HeapProfiler.stopSampling");
    alloc.disconnect();
    writeFileSync(ALLOC_PROFILE!, JSON.stringify(profile));
    process.stderr.write(heapSummary(profile, "allocated in the window, collected included"));
  }
  if (heap !== undefined) {
    const { profile } = await heap.post("HeapProfiler.getSamplingProfile");
    await heap.post("HeapProfiler.stopSampling");
    heap.disconnect();
    writeFileSync(HEAP_PROFILE!, JSON.stringify(profile));
    process.stderr.write(heapSummary(profile));
  }
  const mem = process.memoryUsage();
  if (EXIT_AFTER) {
    process.stderr.write(
      `  n=${n}: ${(((c1.user + c1.system) / 1000 / wallMs) * 100).toFixed(1)} % (main thread ${((mainMs / wallMs) * 100).toFixed(1)} %)\n`,
    );
    process.exit(0);
  }
  const row = {
    n,
    cpuPct: ((c1.user + c1.system) / 1000 / wallMs) * 100,
    mainPct: (mainMs / wallMs) * 100,
    heapMb: mem.heapUsed / 2 ** 20,
    rssMb: mem.rss / 2 ** 20,
  };
  closed = true;
  clearInterval(writer);
  maintenance.close();
  await writing;
  await state.close();
  await writerClient.close();
  rmSync(dir, { recursive: true, force: true });
  return row;
}

interface HeapNode {
  readonly callFrame: {
    readonly functionName: string;
    readonly url: string;
    readonly lineNumber: number;
  };
  readonly selfSize: number;
  readonly children: readonly HeapNode[];
}

/** Live sampled bytes by allocating function (top 25), and by the first repository frame. */
function heapSummary(profile: { head: HeapNode }, what = "live"): string {
  const byFn = new Map<string, number>();
  const byOwn = new Map<string, number>();
  let total = 0;
  const name = (n: HeapNode) =>
    `${n.callFrame.functionName || "(anonymous)"} ${n.callFrame.url.replace(/^.*\/packages\//, "")}:${n.callFrame.lineNumber + 1}`;
  const walk = (n: HeapNode, own: string | undefined) => {
    const here = /\/packages\//.test(n.callFrame.url) ? name(n) : own;
    if (n.selfSize > 0) {
      total += n.selfSize;
      byFn.set(name(n), (byFn.get(name(n)) ?? 0) + n.selfSize);
      const k = here ?? "(outside the repository)";
      byOwn.set(k, (byOwn.get(k) ?? 0) + n.selfSize);
    }
    for (const c of n.children) walk(c, here);
  };
  walk(profile.head, undefined);
  const top = (m: Map<string, number>) =>
    [...m]
      .sort((a, b) => b[1] - a[1])
      .slice(0, 25)
      .map(([k, v]) => `  ${(v / 2 ** 20).toFixed(1).padStart(7)} MB  ${k}`)
      .join("\n");
  return `heap: ${(total / 2 ** 20).toFixed(1)} MB ${what} (sampled)\nby allocating function:\n${top(byFn)}\nby innermost repository frame:\n${top(byOwn)}\n`;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const ns = process.env.BENCH_ONLY ? counts : [BASELINE, ...counts];
const rows = new Map<number, Row[]>();
for (let r = 0; r < RUNS; r++) {
  for (const n of ns) {
    const row = await measure(n);
    process.stderr.write(
      `  n=${n}: ${row.cpuPct.toFixed(1)} % of a core (main thread ${row.mainPct.toFixed(1)} %), heap ${row.heapMb.toFixed(0)} MB, rss ${row.rssMb.toFixed(0)} MB\n`,
    );
    rows.set(n, [...(rows.get(n) ?? []), row]);
  }
}
const base = rows.has(BASELINE) ? median(rows.get(BASELINE)!.map((r) => r.cpuPct)) : Number.NaN;
console.log(
  `| indexes | CPU % of a core (median of ${RUNS}) | × the ${BASELINE}-index row | heap MB | RSS MB |`,
);
console.log("|---|---|---|---|---|");
for (const [n, rs] of rows) {
  const cpu = median(rs.map((r) => r.cpuPct));
  console.log(
    `| ${n} | ${cpu.toFixed(1)} | ${(cpu / base).toFixed(2)} | ${median(rs.map((r) => r.heapMb)).toFixed(0)} | ${median(rs.map((r) => r.rssMb)).toFixed(0)} |`,
  );
}
