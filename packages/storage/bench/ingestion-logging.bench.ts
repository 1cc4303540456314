/**
 * Logging overhead on ingestion throughput (phase 2, *logging*): the same deterministic
 * ingestion (a counter load generator catching up `BENCH_TICKS` ticks as fast as it can, every
 * update written to a persist shard) with storage introspection off (interval 0: forwarding
 * disabled, raisers build nothing — the baseline) and on (the unified path as clusterd runs it:
 * storage workers forward their events, which a `UnifiedLoggingHost` with every storage relation
 * installed ingests and steps like compute's worker does, once per 10 ms). Runs interleave;
 * medians and on/off ratios are printed.
 *
 * Columns: updates/s (until the shard is closed at the last tick) and process CPU per update
 * (µs, user + system of every thread).
 *
 * Usage: pnpm --filter @mzts/storage bench (--help). BENCH_RUNS (3), BENCH_TICKS (20000),
 * BENCH_WORKERS (2) scale it; data goes to `$TMPDIR/mzts-ingest-bench-*` (removed after each
 * run). Uses the built dist (`pnpm build` first).
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type LogEvent, UnifiedLoggingHost } from "@mzts/mz-cluster/logging";
import { LOG_RELATIONS, type LoggingConfig } from "@mzts/protocol";
import { createStorageRuntime } from "../dist/index.js";
import { ALLOW_WRITES, counter, expected, INIT, shardUpper, until } from "../test/harness.js";

if (process.argv.includes("--help")) {
  console.log(
    "usage: tsx bench/ingestion-logging.bench.ts (env BENCH_RUNS, BENCH_TICKS, BENCH_WORKERS)",
  );
  process.exit(0);
}
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const TICKS = BigInt(process.env.BENCH_TICKS ?? 20_000);
const WORKERS = Number(process.env.BENCH_WORKERS ?? 2);

/** Every storage relation installed, as environmentd configures a cluster with logging on. */
const STORAGE_LOGGING: LoggingConfig = {
  enabled: true,
  intervalMs: 1000,
  logLogging: false,
  indexLogs: new Map(
    LOG_RELATIONS.filter((r) => r.workload === "storage").map((r) => [r.name, `log-${r.name}`]),
  ),
};

interface Sample {
  updatesPerS: number;
  cpuPerUpdate: number;
  /** Storage events the host applied (0 with logging off). */
  events: number;
}

async function measure(logging: boolean): Promise<Sample> {
  const dir = await mkdtemp(join(tmpdir(), "mzts-ingest-bench-"));
  const rt = createStorageRuntime({
    dataDir: dir,
    workers: WORKERS,
    statisticsIntervalMs: 50,
    logging: { role: "forward" },
  });
  const host = new UnifiedLoggingHost({ worker: 0 });
  let timer: NodeJS.Timeout | undefined;
  try {
    const forward = rt.logging;
    if (forward?.role !== "forward")
      throw new Error("the storage runtime does not forward logging");
    if (logging) {
      host.configure(STORAGE_LOGGING);
      forward.onLogEvents((events: readonly LogEvent[]) => host.ingest(events));
      forward.setForwarding(true);
      timer = setInterval(() => host.step(Date.now()), 10);
    }
    rt.onResponse(() => {});
    await rt.ready;
    const cmd = counter("u1", "u2", "bench-shard", TICKS, 1000n);
    if (cmd.kind !== "runIngestion") throw new Error("unreachable");
    const updates = expected(cmd.description, 0, TICKS).length;
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    rt.connect("bench");
    rt.submit([cmd, INIT, ALLOW_WRITES]);
    let closed = false;
    const poll = setInterval(() => {
      shardUpper(dir, "bench-shard").then(
        (u) => {
          closed ||= u === null;
        },
        () => {},
      );
    }, 20);
    try {
      await until(() => closed, 300_000, "the shard closed at the last tick");
    } finally {
      clearInterval(poll);
    }
    const seconds = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(c0);
    host.step(Date.now());
    const stats = host.stats();
    return {
      updatesPerS: updates / seconds,
      cpuPerUpdate: (cpu.user + cpu.system) / updates,
      events: stats.events.storage,
    };
  } finally {
    if (timer) clearInterval(timer);
    host.close();
    await rt.close();
    await rm(dir, { recursive: true, force: true });
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

console.log(`runs ${RUNS}, ticks ${TICKS}, workers ${WORKERS}; logging on = interval 1000 ms`);
const off: Sample[] = [];
const on: Sample[] = [];
await measure(false); // warm-up (module loading, JIT, persist), not counted
for (let i = 0; i < RUNS; i++) {
  off.push(await measure(false));
  on.push(await measure(true));
}
const row = (name: string, k: "updatesPerS" | "cpuPerUpdate", digits: number) => {
  const a = median(off.map((s) => s[k]));
  const b = median(on.map((s) => s[k]));
  console.log(
    `${name.padEnd(18)} off ${a.toFixed(digits).padStart(9)}  on ${b.toFixed(digits).padStart(9)}  ratio ${(b / a).toFixed(2)}`,
  );
};
row("ingest updates/s", "updatesPerS", 0);
row("cpu µs/update", "cpuPerUpdate", 2);
console.log(`storage events applied per run (on): ${median(on.map((s) => s.events))}`);
