#!/usr/bin/env node
/**
 * `environmentd-soak`: runs the demo (`environmentd --demo`) for N minutes and prints, every
 * interval, the RSS and JS heap in use of environmentd and of every replica process (and the replica's
 * worker threads' heaps, summed), the data directory's size
 * (persist blobs and consensus, catalog, replica logs), the persist blob count and a peek's
 * latency through the API. At the end: each series' first and last values after the warm-up and
 * its slope (per 10 minutes, least squares over the second half), so "flat" is a number.
 *
 * `--check` exits 1 when a peek failed, when the data directory's or persist's slope over the
 * second half exceeds `--max-slope-mb` (per 10 min), or when the persist blob count ever exceeds
 * `--max-blobs` (without compaction every tick of every shard adds a blob: ~7 per second in the
 * demo). `--check-rss` bounds process memory too, by the growth of its peaks (last third vs
 * middle third) rather than the slope: memory is a saw-tooth whose drops throw a slope around.
 * Meaningful over long runs only. Everything started is stopped on exit (also on
 * Ctrl-C).
 *
 *   node packages/environmentd/dist/soak.js --minutes 30            # the 30-minute figures
 *   node packages/environmentd/dist/soak.js --minutes 1 --interval 5 --check
 */
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { isClusterdFor } from "@mzts/orchestrator";
import { Command, InvalidArgumentError } from "commander";
import { diskUsage as du, rssMb } from "./resource-usage.js";

function positive(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0)
    throw new InvalidArgumentError(`expected a positive number, got "${value}"`);
  return n;
}

const o = new Command("environmentd-soak")
  .description("run the demo for N minutes; print process RSS and data-dir size over time")
  .option("--minutes <n>", "how long to run", positive, 30)
  .option("--interval <seconds>", "seconds between samples", positive, 30)
  .option("--warmup <seconds>", "samples before this are not used for the figures", positive, 60)
  .option("--data-dir <dir>", "data directory (default: a fresh temporary one, removed after)")
  .option("--check", "exit 1 if a slope over the second half exceeds --max-slope-mb", false)
  .option("--max-slope-mb <mb>", "allowed growth per 10 minutes for --check", positive, 8)
  .option("--max-blobs <n>", "largest persist blob count --check allows", positive, 200)
  .option("--check-rss", "with --check: bound the growth of memory peaks too", false)
  .parse()
  .opts<{
    minutes: number;
    interval: number;
    warmup: number;
    dataDir?: string;
    check: boolean;
    maxSlopeMb: number;
    maxBlobs: number;
    checkRss: boolean;
  }>();

const MAIN = fileURLToPath(new URL("./main.js", import.meta.url));
const ownDir = o.dataDir === undefined;
const dataDir = resolve(o.dataDir ?? mkdtempSync(join(tmpdir(), "mzts-soak-")));
const log = (line: string) => process.stderr.write(`${line}\n`);

interface Record {
  readonly replicaId: string;
  readonly clusterId: string;
  readonly clusterdPath: string;
  readonly pid: number;
  readonly ports: { readonly http: number } | null;
}

/**
 * From a /metrics endpoint, in MB: the main thread's heap in use (`nodejs_heap_size_used_bytes`)
 * and the sum of the worker threads' (`mz_cluster_worker_heap_used_bytes`, clusterd's unified
 * runtimes; worker isolates are not in the process's heap). Undefined when unavailable.
 */
async function heapsMb(
  metricsUrl: string,
): Promise<{ main: number | undefined; workers: number | undefined }> {
  try {
    const res = await fetch(metricsUrl, { signal: AbortSignal.timeout(5000) });
    const text = await res.text();
    const m = /^nodejs_heap_size_used_bytes (\S+)$/m.exec(text);
    let workers: number | undefined;
    for (const w of text.matchAll(/^mz_cluster_worker_heap_used_bytes\{[^}]*\} (\S+)$/gm)) {
      workers = (workers ?? 0) + Number(w[1]) / 2 ** 20;
    }
    return { main: m?.[1] === undefined ? undefined : Number(m[1]) / 2 ** 20, workers };
  } catch {
    return { main: undefined, workers: undefined };
  }
}
function replicaRecords(): Record[] {
  try {
    const j = JSON.parse(readFileSync(join(dataDir, "orchestrator", "replicas.json"), "utf8")) as {
      replicas: Record[];
    };
    return j.replicas;
  } catch {
    return [];
  }
}

const env = spawn(
  process.execPath,
  [
    MAIN,
    "--demo",
    "--data-dir",
    dataDir,
    "--grpc-port",
    "0",
    "--http-port",
    "0",
    "--controller-absent-timeout",
    "30",
  ],
  { stdio: ["ignore", "pipe", "inherit"] },
);
log(`soak: environmentd pid ${env.pid}`);
let httpUrl: string | undefined;
let envExit: number | null | undefined;
env.on("exit", (code) => {
  envExit = code;
});
let buffered = "";
env.stdout.setEncoding("utf8");
env.stdout.on("data", (chunk: string) => {
  buffered += chunk;
  const lines = buffered.split("\n");
  buffered = lines.pop() ?? "";
  for (const l of lines) {
    const m = /Connect JSON \+ \/metrics (http:\/\/\S+)/.exec(l);
    if (m?.[1] !== undefined) httpUrl = m[1];
  }
});

let cleaning = false;
async function cleanup(): Promise<void> {
  if (cleaning) return;
  cleaning = true;
  if (envExit === undefined) {
    env.kill("SIGTERM");
    await new Promise((r) => setTimeout(r, 1500));
    if (envExit === undefined) env.kill("SIGKILL");
  }
  for (const r of replicaRecords()) {
    // A record outlives its process: never signal a pid that is no longer this run's clusterd.
    if (!isClusterdFor(r.pid, r.clusterdPath, r.clusterId, r.replicaId)) continue;
    try {
      process.kill(r.pid, "SIGKILL");
    } catch {
      // already gone
    }
  }
  if (ownDir) rmSync(dataDir, { recursive: true, force: true });
}
process.on("SIGINT", () => {
  log("soak: interrupted; stopping everything");
  void cleanup().then(() => process.exit(130));
});

async function peekMs(): Promise<number | string> {
  if (httpUrl === undefined) return "no api yet";
  const started = performance.now();
  try {
    const res = await fetch(`${httpUrl}/mz.environment.v1.EnvironmentService/Peek`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ object: "winning_bids", timeoutMs: 10000 }),
      signal: AbortSignal.timeout(15_000),
    });
    if (!res.ok) return `HTTP ${res.status}: ${(await res.text()).slice(0, 120)}`;
    await res.json();
    return performance.now() - started;
  } catch (e) {
    return (e as Error).message;
  }
}

interface Sample {
  readonly t: number;
  readonly series: Map<string, number>;
}
const samples: Sample[] = [];
const started = Date.now();
const endAt = started + o.minutes * 60_000;
log(`soak: data directory ${dataDir}; ${o.minutes} min, a sample every ${o.interval} s`);
let failures = 0;
try {
  while (Date.now() < endAt) {
    await new Promise((r) => setTimeout(r, o.interval * 1000));
    if (envExit !== undefined) throw new Error(`environmentd exited with code ${envExit}`);
    const t = (Date.now() - started) / 1000;
    const series = new Map<string, number>();
    const envRss = rssMb(env.pid ?? -1);
    if (envRss !== undefined) series.set("environmentd MB", envRss);
    if (httpUrl !== undefined) {
      const heap = (await heapsMb(`${httpUrl}/metrics`)).main;
      if (heap !== undefined) series.set("environmentd heap MB", heap);
    }
    for (const r of replicaRecords()) {
      const mb = rssMb(r.pid);
      if (mb !== undefined) series.set(`${r.replicaId} MB`, mb);
      if (r.ports === null) continue;
      const heaps = await heapsMb(`http://127.0.0.1:${r.ports.http}/metrics`);
      if (heaps.main !== undefined) series.set(`${r.replicaId} heap MB`, heaps.main);
      if (heaps.workers !== undefined) series.set(`${r.replicaId} workers heap MB`, heaps.workers);
    }
    const all = du(dataDir);
    const persist = du(join(dataDir, "persist"));
    const blobs = du(join(dataDir, "persist", "blob"));
    series.set("data MB", all.bytes / 2 ** 20);
    series.set("persist MB", persist.bytes / 2 ** 20);
    series.set("blobs", blobs.files);
    const peek = await peekMs();
    if (typeof peek !== "number" && t >= o.warmup) failures++; // the demo is still being created before
    samples.push({ t, series });
    const parts = [...series].map(([k, v]) =>
      k === "blobs" ? `${v} blobs` : `${k.replace(" MB", "")} ${v.toFixed(1)} MB`,
    );
    const peekText =
      typeof peek === "number" ? `peek ${peek.toFixed(0)} ms` : `peek FAILED ${peek}`;
    log(`soak: t=${t.toFixed(0).padStart(5)} s  ${parts.join(" | ")} | ${peekText}`);
  }
} finally {
  await cleanup();
}

/**
 * How much the peak grew, per 10 minutes: the maximum of the last third of the points minus the
 * maximum of the middle third, over the time between their centres. Memory moves in a saw-tooth
 * (a collection returning pages drops RSS by 30 MB, then it climbs back), which throws a
 * least-squares slope around; a leak shows as growing peaks.
 */
function peakGrowthPer10Min(points: ReadonlyArray<[number, number]>): number {
  const n = points.length;
  if (n < 3) return 0;
  const middle = points.slice(Math.floor(n / 3), Math.floor((2 * n) / 3));
  const last = points.slice(Math.floor((2 * n) / 3));
  const centre = (ps: ReadonlyArray<[number, number]>) =>
    ps.reduce((a, [t]) => a + t, 0) / ps.length;
  const dt = centre(last) - centre(middle);
  if (middle.length === 0 || last.length === 0 || dt <= 0) return 0;
  const peak = (ps: ReadonlyArray<[number, number]>) => Math.max(...ps.map(([, v]) => v));
  return ((peak(last) - peak(middle)) / dt) * 600;
}

/** Least-squares slope of (t s, v) in units per 10 minutes. */
function slopePer10Min(points: ReadonlyArray<[number, number]>): number {
  const n = points.length;
  if (n < 2) return 0;
  const mt = points.reduce((a, [t]) => a + t, 0) / n;
  const mv = points.reduce((a, [, v]) => a + v, 0) / n;
  let num = 0;
  let den = 0;
  for (const [t, v] of points) {
    num += (t - mt) * (v - mv);
    den += (t - mt) ** 2;
  }
  return den === 0 ? 0 : (num / den) * 600;
}

const used = samples.filter((s) => s.t >= o.warmup);
const half = used.slice(Math.floor(used.length / 2));
const keys = [...new Set(samples.flatMap((s) => [...s.series.keys()]))];
const rows = keys.map((k) => {
  const pts = used.flatMap((s): Array<[number, number]> => {
    const v = s.series.get(k);
    return v === undefined ? [] : [[s.t, v]];
  });
  const secondHalf = half.flatMap((s): Array<[number, number]> => {
    const v = s.series.get(k);
    return v === undefined ? [] : [[s.t, v]];
  });
  const values = pts.map(([, v]) => v);
  return {
    k,
    first: values[0],
    last: values[values.length - 1],
    min: values.length === 0 ? undefined : Math.min(...values),
    max: values.length === 0 ? undefined : Math.max(...values),
    slope: slopePer10Min(secondHalf),
    peakGrowth: peakGrowthPer10Min(pts),
  };
});
const fmt = (v: number | undefined) => (v === undefined ? "-" : v.toFixed(1));
const out = [
  `soak: ${o.minutes} min, ${samples.length} samples (${used.length} after a ${o.warmup} s warm-up), ${failures} failed peeks after the warm-up`,
  "| series | first | last | min | max | slope per 10 min (2nd half) | peak growth per 10 min |",
  "|---|---:|---:|---:|---:|---:|---:|",
  ...rows.map(
    (r) =>
      `| ${r.k} | ${fmt(r.first)} | ${fmt(r.last)} | ${fmt(r.min)} | ${fmt(r.max)} | ${fmt(r.slope)} | ${fmt(r.peakGrowth)} |`,
  ),
];
process.stdout.write(`${out.join("\n")}\n`);
if (o.check) {
  const disk = new Set(["data MB", "persist MB"]);
  // Disk by its slope; memory (saw-toothed) by the growth of its peaks.
  const problems = [
    ...rows
      .filter((r) => disk.has(r.k) && r.slope > o.maxSlopeMb)
      .map((r) => `${r.k} grows ${r.slope.toFixed(1)} MB per 10 min (bound ${o.maxSlopeMb})`),
    ...rows
      .filter((r) => o.checkRss && !disk.has(r.k) && r.k.endsWith("MB"))
      .filter((r) => r.peakGrowth > o.maxSlopeMb)
      .map(
        (r) => `${r.k} peaks grow ${r.peakGrowth.toFixed(1)} MB per 10 min (bound ${o.maxSlopeMb})`,
      ),
  ];
  const blobs = Math.max(0, ...samples.map((s) => s.series.get("blobs") ?? 0));
  if (blobs > o.maxBlobs) problems.push(`${blobs} persist blobs (bound ${o.maxBlobs})`);
  if (failures > 0) problems.push(`${failures} peeks failed`);
  if (samples.length === 0) problems.push("no samples");
  if (problems.length > 0) {
    process.stdout.write(`soak: FAILED: ${problems.join("; ")}\n`);
    process.exit(1);
  }
  process.stdout.write(
    `soak: ok: disk grows less than ${o.maxSlopeMb} MB per 10 min${o.checkRss ? " (RSS too)" : ""}, at most ${blobs} blobs\n`,
  );
}
