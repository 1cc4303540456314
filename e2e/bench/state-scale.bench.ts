/**
 * Phase-5 (state) scale benchmark (issue 14): what the controller of 10 clusters × 1,000 indexes
 * costs, legacy vs unified — the process's RSS and heap, `status()` latency, the maintenance
 * tick. Goals (issue 14): RSS ≤ 300 MB, status ≤ 10 ms, unified ≤ legacy.
 *
 * Each side runs in its own child process (`--child legacy|unified`, with `--expose-gc`), one
 * after the other, so its RSS is its own. Both build the same world through the one
 * `ClusterController` interface:
 * - per cluster `--sources` ingestions (a counter, one subsource each, its shard opened with
 *   `openShards`) and `--indexes` indexes, each its own `DataflowDescription` (a filter over one
 *   subsource, round-robin), two replicas;
 * - the replicas are in-memory fake connectors (`state-scale-fakes.ts`) that keep nothing they
 *   are sent; every round both replicas report every collection's frontier (compute `frontiers`,
 *   storage `frontierUpper`) one second further, then the maintenance round runs;
 * - persist is an in-memory fake (the same on both sides).
 *
 * | side      | what runs                                                                    |
 * | --------- | ---------------------------------------------------------------------------- |
 * | `legacy`  | environmentd's `LegacyClusterController` per cluster over one compute-client |
 * |           | controller and one storage-client controller (one instance per cluster) and  |
 * |           | one `PersistReadHolds` — environmentd's composition; maintenance = its upkeep |
 * | `unified` | one `UnifiedClusterController` per cluster (`maintain()`), since handles via |
 * |           | `persistSinceHandleIo` over the fake persist                                 |
 *
 * Measured after `--rounds` frontier rounds (and a forced GC): RSS and heap (and their growth
 * over the process before the build), `status()` of one cluster (p50/p99 over `--samples`
 * rounds × clusters) and of all clusters in a row (p50/p99 over the rounds), the maintenance
 * round of all clusters (p50/p99), a frontier round (all responses of both replicas), the build.
 * The table (markdown, with unified ÷ legacy) and the goals (pass/fail) go to stdout with one
 * `BENCH_RESULT` line per figure (`results.ts`); progress to stderr. The children are killed on
 * failure and SIGINT.
 *
 * Usage: tsx bench/state-scale.bench.ts [--clusters 10] [--indexes 1000] [--sources 5]
 *        [--rounds 20] [--samples 500] [--sides legacy,unified] [--help]
 */
import { type ChildProcess, spawn } from "node:child_process";
import { cpus, loadavg } from "node:os";
import { fileURLToPath } from "node:url";
import type { ClusterController } from "@mzts/controller-unified/state";
import type { ComputeResponse, StorageResponse } from "@mzts/protocol";
import { type BenchResult, emitResult } from "./results.js";
import { buildSide, preloadModules, type SideName } from "./state-scale-sides.js";

const HELP = `usage: tsx bench/state-scale.bench.ts [options]
  --clusters N   clusters (default 10)
  --indexes N    indexes per cluster, each its own dataflow (default 1000)
  --sources N    ingestions per cluster, one subsource each (default 5)
  --rounds N     frontier rounds (each followed by a maintenance round) before measuring (default 20)
  --samples N    status() rounds over every cluster (default 500)
  --sides LIST   which sides, in order (default legacy,unified)
goals (issue 14): RSS ≤ ${300} MB, status ≤ ${10} ms, unified ≤ legacy`;

const GOAL_RSS_MB = 300;
const GOAL_STATUS_MS = 10;
const CHILD_PREFIX = "STATE_SCALE ";

const argv = process.argv.slice(2);
if (argv.includes("--help") || argv.includes("-h")) {
  console.log(HELP);
  process.exit(0);
}

interface Config {
  readonly clusters: number;
  readonly indexes: number;
  readonly sources: number;
  readonly rounds: number;
  readonly samples: number;
  readonly sides: readonly SideName[];
}

function parse(args: readonly string[]): Config & { readonly child?: SideName } {
  const nums = new Map<string, number>([
    ["--clusters", 10],
    ["--indexes", 1000],
    ["--sources", 5],
    ["--rounds", 20],
    ["--samples", 500],
  ]);
  let sides: SideName[] = ["legacy", "unified"];
  let child: SideName | undefined;
  const isSide = (s: string): s is SideName => s === "legacy" || s === "unified";
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    const v = args[++i];
    if (v === undefined) throw new Error(`${a} needs a value\n${HELP}`);
    if (nums.has(a)) {
      const n = Number(v);
      if (!Number.isSafeInteger(n) || n < 1)
        throw new Error(`${a}: expected a positive integer, got "${v}"\n${HELP}`);
      nums.set(a, n);
    } else if (a === "--sides") {
      const list = v.split(",");
      if (!list.every(isSide)) throw new Error(`--sides: legacy and/or unified, got "${v}"`);
      sides = list;
    } else if (a === "--child") {
      if (!isSide(v)) throw new Error(`--child: legacy or unified, got "${v}"`);
      child = v;
    } else throw new Error(`unknown argument "${a}"\n${HELP}`);
  }
  return {
    clusters: nums.get("--clusters")!,
    indexes: nums.get("--indexes")!,
    sources: nums.get("--sources")!,
    rounds: nums.get("--rounds")!,
    samples: nums.get("--samples")!,
    sides,
    ...(child === undefined ? {} : { child }),
  };
}

/** What one child measured (ms unless named otherwise). */
interface Measured {
  readonly side: SideName;
  readonly collections: number;
  readonly historyCommands: number;
  readonly rssMb: number;
  readonly heapMb: number;
  readonly baseRssMb: number;
  readonly baseHeapMb: number;
  readonly buildMs: number;
  readonly frontierRoundP50Ms: number;
  readonly tickP50Ms: number;
  readonly tickP99Ms: number;
  /** Legacy: one shared `PersistReadHolds.tick()` alone (NaN on unified). */
  readonly sharedTickP50Ms: number;
  readonly statusP50Us: number;
  readonly statusP99Us: number;
  readonly statusAllP50Ms: number;
  readonly statusAllP99Ms: number;
}

const pct = (xs: readonly number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? Number.NaN;
};
const mb = (bytes: number) => bytes / 2 ** 20;
const progress = (s: string) => process.stderr.write(`${s}\n`);

function memory(): { rss: number; heap: number } {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) throw new Error("the child needs --expose-gc");
  gc();
  gc();
  const m = process.memoryUsage();
  return { rss: m.rss, heap: m.heapUsed };
}

// --- child: one side ---------------------------------------------------------------------------

async function measureSide(cfg: Config, name: SideName): Promise<Measured> {
  await preloadModules();
  const base = memory();
  const t0 = performance.now();
  const side = await buildSide(name, cfg);
  const buildMs = performance.now() - t0;
  const roundMs: number[] = [];
  const tickMs: number[] = [];
  const sharedTickMs: number[] = [];
  for (let round = 1; round <= cfg.rounds; round++) {
    // Each round the sources wrote one more second; both replicas report every frontier.
    const upper = 5_000n + BigInt(round) * 1_000n;
    side.clock.now = Number(upper);
    const r0 = performance.now();
    for (const cluster of side.clusters) {
      for (const shard of cluster.shards) side.persist.setUpper(shard, upper);
      const storage: StorageResponse[] = cluster.subsources.map((id) => ({
        kind: "frontierUpper",
        id,
        upper,
      }));
      const compute: ComputeResponse[] = cluster.indexes.map((id) => ({
        kind: "frontiers",
        id,
        frontiers: { write: upper, input: upper },
      }));
      for (const replica of side.replicaIds) {
        cluster.storage.respond(replica, storage);
        cluster.compute.respond(replica, compute);
      }
    }
    roundMs.push(performance.now() - r0);
    const k0 = performance.now();
    await side.maintain();
    tickMs.push(performance.now() - k0);
    if (side.sharedTick !== undefined) {
      const s0 = performance.now();
      await side.sharedTick();
      sharedTickMs.push(performance.now() - s0);
    }
  }
  const controllers: readonly ClusterController[] = side.clusters.map((c) => c.controller);
  const end = memory();
  let collections = 0;
  let historyCommands = 0;
  for (const c of controllers) {
    const s = c.status();
    collections += s.collections;
    historyCommands += s.historyCommands;
    if (
      s.replicas.length !== side.replicaIds.length ||
      s.replicas.some((r) => r.state !== "connected")
    )
      throw new Error(`${name}: cluster ${c.clusterId} replicas are not all connected`);
  }
  const expected = cfg.clusters * (cfg.indexes + cfg.sources * 2);
  if (collections !== expected)
    throw new Error(`${name}: ${collections} collections, expected ${expected}`);
  // status(): warm up, then `samples` rounds over every cluster.
  for (let i = 0; i < 50; i++) for (const c of controllers) c.status();
  const one: number[] = [];
  const all: number[] = [];
  for (let i = 0; i < cfg.samples; i++) {
    const a0 = performance.now();
    for (const c of controllers) {
      const s0 = performance.now();
      c.status();
      one.push(performance.now() - s0);
    }
    all.push(performance.now() - a0);
  }
  await side.close();
  return {
    side: name,
    collections,
    historyCommands,
    rssMb: mb(end.rss),
    heapMb: mb(end.heap),
    baseRssMb: mb(base.rss),
    baseHeapMb: mb(base.heap),
    buildMs,
    frontierRoundP50Ms: pct(roundMs, 50),
    tickP50Ms: pct(tickMs, 50),
    tickP99Ms: pct(tickMs, 99),
    sharedTickP50Ms: pct(sharedTickMs, 50),
    statusP50Us: pct(one, 50) * 1000,
    statusP99Us: pct(one, 99) * 1000,
    statusAllP50Ms: pct(all, 50),
    statusAllP99Ms: pct(all, 99),
  };
}

// --- parent: both sides, the table ------------------------------------------------------------

const children = new Set<ChildProcess>();
function runChild(cfg: Config, side: SideName): Promise<Measured> {
  const args = [
    "--expose-gc",
    "--import",
    "tsx",
    fileURLToPath(import.meta.url),
    ...["--child", side, "--clusters", String(cfg.clusters), "--indexes", String(cfg.indexes)],
    ...["--sources", String(cfg.sources), "--rounds", String(cfg.rounds)],
    ...["--samples", String(cfg.samples)],
  ];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "inherit"] });
    children.add(child);
    let out = "";
    child.stdout.on("data", (d: Buffer) => {
      out += d.toString();
    });
    child.once("error", reject);
    child.once("exit", (code, signal) => {
      children.delete(child);
      const line = out.split("\n").find((l) => l.startsWith(CHILD_PREFIX));
      if (code !== 0 || line === undefined)
        reject(new Error(`the ${side} side exited with ${signal ?? code} and no result:\n${out}`));
      else resolve(JSON.parse(line.slice(CHILD_PREFIX.length)) as Measured);
    });
  });
}

function killChildren() {
  for (const c of children) c.kill("SIGKILL");
}

const fmt = (n: number, digits: number) => (Number.isFinite(n) ? n.toFixed(digits) : "—");

function report(cfg: Config, rows: readonly Measured[], load: [number[], number[]]) {
  const by = new Map(rows.map((r) => [r.side, r]));
  const legacy = by.get("legacy");
  const unified = by.get("unified");
  const loads = (l: number[]) => l.map((x) => x.toFixed(2)).join(" / ");
  console.log(
    `\nstate scale: ${cfg.clusters} clusters × ${cfg.indexes} indexes over ${cfg.sources} sources, 2 replicas each (in-memory); ${cfg.rounds} frontier rounds, ${cfg.samples} status rounds; ${cpus().length} cores, load average (1/5/15 min) ${loads(load[0])} at the start, ${loads(load[1])} at the end`,
  );
  const figures: ReadonlyArray<
    readonly [label: string, key: keyof Measured, unit: string, digits: number, tracked: boolean]
  > = [
    ["RSS", "rssMb", "MB", 1, true],
    ["heap used", "heapMb", "MB", 1, true],
    ["RSS growth over the empty process", "rssMb", "MB", 1, false],
    ["heap growth over the empty process", "heapMb", "MB", 1, false],
    ["heap growth per collection", "heapMb", "bytes", 0, false],
    ["status() one cluster p50", "statusP50Us", "µs", 1, true],
    ["status() one cluster p99", "statusP99Us", "µs", 1, false],
    [`status() all ${cfg.clusters} p50`, "statusAllP50Ms", "ms", 3, true],
    [`status() all ${cfg.clusters} p99`, "statusAllP99Ms", "ms", 3, false],
    [`maintenance round, all ${cfg.clusters} p50`, "tickP50Ms", "ms", 2, true],
    [`maintenance round, all ${cfg.clusters} p99`, "tickP99Ms", "ms", 2, false],
    ["of which the shared PersistReadHolds tick alone p50", "sharedTickP50Ms", "ms", 2, false],
    ["frontier round (2 replicas × every collection) p50", "frontierRoundP50Ms", "ms", 1, false],
    ["build (DDL of every object)", "buildMs", "ms", 0, false],
    ["collections", "collections", "", 0, false],
    ["history commands", "historyCommands", "", 0, false],
  ];
  const value = (r: Measured | undefined, label: string, key: keyof Measured) => {
    if (r === undefined) return Number.NaN;
    if (label.startsWith("RSS growth")) return r.rssMb - r.baseRssMb;
    if (label === "heap growth per collection")
      return ((r.heapMb - r.baseHeapMb) * 2 ** 20) / r.collections;
    if (label.startsWith("heap growth")) return r.heapMb - r.baseHeapMb;
    // A figure a side does not have was NaN, JSON null on the way from the child.
    return (r[key] as number | null) ?? Number.NaN;
  };
  const results: BenchResult[] = [];
  console.log("| figure | legacy | unified | unified ÷ legacy |");
  console.log("|---|---:|---:|---:|");
  for (const [label, key, unit, digits, tracked] of figures) {
    const l = value(legacy, label, key);
    const u = value(unified, label, key);
    console.log(
      `| ${label}${unit === "" ? "" : ` (${unit})`} | ${fmt(l, digits)} | ${fmt(u, digits)} | ${fmt(u / l, 2)} |`,
    );
    for (const [side, v] of [
      ["legacy", l],
      ["unified", u],
    ] as const) {
      if (!by.has(side) || unit === "" || !Number.isFinite(v)) continue;
      results.push({
        bench: "state-scale",
        figure: `${side} ${label}`,
        value: v,
        unit,
        better: "lower",
        tracked,
      });
    }
    if (Number.isFinite(u / l) && unit !== "")
      results.push({
        bench: "state-scale",
        figure: `unified ÷ legacy ${label}`,
        value: u / l,
        unit: "x",
        better: "lower",
        tracked: false,
      });
  }
  // The goals of issue 14, per side that ran.
  console.log("\n| goal | legacy | unified |");
  console.log("|---|---|---|");
  const verdict = (ok: boolean | undefined) => (ok === undefined ? "—" : ok ? "pass" : "FAIL");
  const goal = (label: string, test: (r: Measured) => boolean) =>
    console.log(
      `| ${label} | ${verdict(legacy && test(legacy))} | ${verdict(unified && test(unified))} |`,
    );
  goal(`RSS ≤ ${GOAL_RSS_MB} MB`, (r) => r.rssMb <= GOAL_RSS_MB);
  goal(
    `status() one cluster p99 ≤ ${GOAL_STATUS_MS} ms`,
    (r) => r.statusP99Us / 1000 <= GOAL_STATUS_MS,
  );
  goal(
    `status() all ${cfg.clusters} p99 ≤ ${GOAL_STATUS_MS} ms`,
    (r) => r.statusAllP99Ms <= GOAL_STATUS_MS,
  );
  if (legacy !== undefined && unified !== undefined) {
    const le = (k: keyof Measured) => (unified[k] as number) <= (legacy[k] as number);
    console.log(
      `| unified ≤ legacy: RSS / heap / status p50 / tick p50 | — | ${[le("rssMb"), le("heapMb"), le("statusP50Us"), le("tickP50Ms")].map(verdict).join(" / ")} |`,
    );
  }
  console.log("");
  for (const r of results) emitResult(r);
}

const cfg = parse(argv);
if (cfg.child !== undefined) {
  const m = await measureSide(cfg, cfg.child);
  process.stdout.write(`${CHILD_PREFIX}${JSON.stringify(m)}\n`);
  // The legacy controllers keep timers of their own; the measurement is done.
  process.exit(0);
} else {
  for (const sig of ["SIGINT", "SIGTERM"] as const)
    process.once(sig, () => {
      killChildren();
      process.exit(130);
    });
  const loadAtStart = loadavg();
  const rows: Measured[] = [];
  try {
    for (const side of cfg.sides) {
      progress(`state scale: ${side} …`);
      rows.push(await runChild(cfg, side));
    }
  } catch (e) {
    killChildren();
    process.stderr.write(`state scale failed: ${(e as Error).message}\n`);
    process.exit(3);
  }
  report(cfg, rows, [loadAtStart, loadavg()]);
}
