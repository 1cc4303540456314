/**
 * What an idle storage replica costs (issue 16): the unified storage runtime (real worker
 * threads, real persist on a temp directory) running one real-time counter ingestion that ticks
 * once a second (the scale bench's source), nothing else. After `BENCH_SETTLE_S` (default 3)
 * seconds, the process CPU (user + system of every thread) over `BENCH_WINDOW_S` (default 10)
 * seconds is the figure, as % of a core, with the number of `frontierUpper` reports seen in the
 * window (the ticks still flow). Before issue 16's maintenance on demand, every worker ran its
 * maintenance every 10 ms; compare a base dist by swapping `dist/` between runs.
 *
 * Usage: tsx bench/idle-tick.bench.ts (env BENCH_RUNS (3), BENCH_WORKERS (2), BENCH_SETTLE_S,
 * BENCH_WINDOW_S, BENCH_PATH=legacy for the legacy runtime). Uses the built dist (`pnpm build` first).
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { StorageCommand } from "@mzts/protocol";
import { createLegacyStorageRuntime, createStorageRuntime } from "../dist/index.js";
import { ALLOW_WRITES, INIT } from "../test/harness.js";

const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const WORKERS = Number(process.env.BENCH_WORKERS ?? 2);
const SETTLE_S = Number(process.env.BENCH_SETTLE_S ?? 3);
const WINDOW_S = Number(process.env.BENCH_WINDOW_S ?? 10);
/** `BENCH_PATH=legacy`: the legacy runtime (clusterd with every phase off). */
const LEGACY = process.env.BENCH_PATH === "legacy";

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** A real-time counter ingestion ticking once a second. */
const COUNTER: StorageCommand = {
  kind: "runIngestion",
  id: "u1",
  description: {
    sourceExports: [{ id: "u2", shardId: "idle-counter", outputIndex: 0, name: "counter" }],
    connection: {
      kind: "loadGenerator",
      generator: { kind: "counter" },
      seed: 0n,
      tickIntervalMs: 1000,
    },
  },
};

async function measure(): Promise<{ cpu: number; reports: number }> {
  const dir = await mkdtemp(join(tmpdir(), "mzts-storage-idle-bench-"));
  const rt = (LEGACY ? createLegacyStorageRuntime : createStorageRuntime)({
    dataDir: dir,
    workers: WORKERS,
  });
  try {
    let reports = 0;
    rt.onResponse((_w, r) => {
      if (r.kind === "frontierUpper" && r.id === "u2") reports++;
    });
    await rt.ready;
    rt.connect("bench");
    rt.submit([COUNTER, INIT, ALLOW_WRITES]);
    await sleep(SETTLE_S * 1000);
    const r0 = reports;
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    await sleep(WINDOW_S * 1000);
    const c = process.cpuUsage(c0);
    const ms = performance.now() - t0;
    return { cpu: ((c.user + c.system) / 1000 / ms) * 100, reports: reports - r0 };
  } finally {
    await rt.close();
    await rm(dir, { recursive: true, force: true });
  }
}

console.log(
  `${LEGACY ? "legacy" : "unified"}, workers ${WORKERS}, window ${WINDOW_S} s, ${RUNS} runs`,
);
for (let i = 0; i < RUNS; i++) {
  const { cpu, reports } = await measure();
  const load = (await import("node:os")).loadavg()[0]!.toFixed(1);
  console.log(`  ${cpu.toFixed(1)} % of a core, ${reports} frontier reports (load ${load})`);
}
