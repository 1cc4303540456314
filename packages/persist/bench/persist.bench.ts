/**
 * Persist benchmarks: compare-and-append throughput/latency and snapshot speed, each table
 * against a baseline measured in the same run (shared/style.md §13).
 *
 * Tables
 * - append: 1k-update batches. Baseline = a raw SQLite `INSERT` + commit of one blob of the
 *   same byte size (WAL, synchronous=FULL: the storage floor of one acknowledged write). Rows:
 *   persist on SQLite + files, the same with a since handle following the upper (compaction
 *   and GC on), and persist on PostgreSQL + files (only when MZ_TEST_POSTGRES_URL is reachable).
 * - snapshot: a shard of 1M updates in 100 batches. Baseline = reading the same blob files and
 *   decoding them (no consolidation). Rows: persist `snapshot` (first and repeated) on SQLite +
 *   files and on PostgreSQL + files.
 *
 * - consensus: compare-and-sets on the SQLite consensus, 1 and 32 at a time, grouped on the
 *   calling thread (`commit: "turn"`) and on the writer thread (`"thread"`). Baseline = one
 *   transaction per write on the calling thread (the path before group commit). See
 *   `consensus-writes.ts`.
 *
 * Usage: pnpm bench [regex] [--appends N] [--snapshot-updates N] [--cas N] [--help]
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Update } from "@mzts/repr";
import Database from "better-sqlite3";
import pg from "pg";
import {
  type Consensus,
  createFileBlob,
  createPersist,
  createPostgresConsensus,
  decodeBatch,
  encodeBatch,
  type PersistClient,
} from "../src/index.js";
import { benchConsensusWrites } from "./consensus-writes.js";

// `pnpm bench -- x` forwards the `--` itself; drop it.
const args = process.argv.slice(2).filter((a, i) => !(i === 0 && a === "--"));
if (args.includes("--help") || args.includes("-h")) {
  console.log(`Usage: pnpm bench [regex] [options]

  regex                  run only rows whose "table/row" name matches (baselines always run)
  --appends N            appends measured per row (default 200)
  --batch N              updates per appended batch (default 1000)
  --snapshot-updates N   updates in the snapshot shard (default 1000000)
  --cas N                compare-and-sets per consensus row (default 2000)

Environment: MZ_TEST_POSTGRES_URL=postgres://user:pw@host:5432/db enables the PostgreSQL rows.`);
  process.exit(0);
}
function opt(name: string, dflt: number): number {
  const i = args.indexOf(name);
  if (i < 0) return dflt;
  const v = Number(args[i + 1]);
  if (!Number.isFinite(v) || v <= 0) throw new Error(`${name} needs a positive number`);
  args.splice(i, 2);
  return v;
}
const APPENDS = opt("--appends", 200);
const BATCH = opt("--batch", 1000);
const SNAPSHOT_UPDATES = opt("--snapshot-updates", 1_000_000);
const CAS = opt("--cas", 2000);
const filter = new RegExp(args[0] ?? ".");
const want = (table: string, row: string) => filter.test(`${table}/${row}`);

const pgUrl = process.env.MZ_TEST_POSTGRES_URL;
async function pgReachable(): Promise<string | undefined> {
  if (pgUrl === undefined || pgUrl === "") return "MZ_TEST_POSTGRES_URL is not set";
  const c = new pg.Client({ connectionString: pgUrl, connectionTimeoutMillis: 2000 });
  try {
    await c.connect();
    await c.query("SELECT 1");
    return undefined;
  } catch (e) {
    return `PostgreSQL unreachable (${(e as Error).message})`;
  } finally {
    await c.end().catch(() => {});
  }
}

// ---- helpers ----------------------------------------------------------------------------------

function batchAt(t: bigint, n: number): Update[] {
  const out: Update[] = new Array(n);
  for (let i = 0; i < n; i++) {
    out[i] = [[BigInt(i), `row-${i}-payload`, t], t, 1];
  }
  return out;
}

function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

interface LatencyRow {
  name: string;
  skipped?: string;
  ops: number;
  first: number;
  perSec: number;
  p50: number;
  p99: number;
}

function latencyRow(name: string, samples: number[]): LatencyRow {
  const [first, ...rest] = samples;
  const sorted = [...rest].sort((a, b) => a - b);
  const total = rest.reduce((a, b) => a + b, 0);
  return {
    name,
    ops: rest.length,
    first: first!,
    perSec: (rest.length / total) * 1000,
    p50: quantile(sorted, 0.5),
    p99: quantile(sorted, 0.99),
  };
}

function printTable(title: string, header: string[], rows: string[][]): void {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) =>
    `| ${cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(" | ")} |`;
  console.log(`\n${title}`);
  console.log(line(header));
  console.log(
    `|${widths.map((w, i) => (i === 0 ? `:${"-".repeat(w + 1)}` : `${"-".repeat(w + 1)}:`)).join("|")}|`,
  );
  for (const r of rows) console.log(line(r));
}

const f2 = (x: number) => x.toFixed(2);
const f0 = (x: number) => Math.round(x).toLocaleString("en-US");

// ---- append -------------------------------------------------------------------------------------

async function timeAppends(
  client: PersistClient,
  shardId: string,
  follow: boolean,
): Promise<number[]> {
  const s = await client.openShard(shardId, { create: true });
  const h = follow ? await s.openSinceHandle("bench") : undefined;
  const samples: number[] = [];
  let upper = 0n;
  for (let i = 0; i < APPENDS + 1; i++) {
    const batch = batchAt(upper, BATCH);
    const t0 = performance.now();
    await s.compareAndAppend(batch, upper, upper + 1n);
    if (h !== undefined) await h.downgradeSince(upper);
    samples.push(performance.now() - t0);
    upper += 1n;
  }
  return samples;
}

async function benchAppend(pgSkip: string | undefined): Promise<void> {
  const table = "append";
  const blobBytes = encodeBatch(batchAt(0n, BATCH)).byteLength;
  const rows: LatencyRow[] = [];
  const dir = mkdtempSync(join(tmpdir(), "mzts-persist-bench-"));
  try {
    // Baseline: raw SQLite insert + commit of one blob of the same size.
    {
      const db = new Database(join(dir, "raw.sqlite"));
      db.pragma("journal_mode = WAL");
      db.pragma("synchronous = FULL");
      db.exec("CREATE TABLE t (k INTEGER PRIMARY KEY, v BLOB NOT NULL)");
      const ins = db.prepare("INSERT INTO t (k, v) VALUES (?, ?)");
      const payload = encodeBatch(batchAt(0n, BATCH));
      const samples: number[] = [];
      for (let i = 0; i < APPENDS + 1; i++) {
        const t0 = performance.now();
        ins.run(i, payload);
        samples.push(performance.now() - t0);
      }
      db.close();
      rows.push(latencyRow(`baseline: raw SQLite insert+commit of ${blobBytes} B`, samples));
    }
    if (want(table, "sqlite")) {
      const client = await createPersist({ dataDir: join(dir, "persist") });
      rows.push(
        latencyRow(
          "persist compareAndAppend (sqlite + files)",
          await timeAppends(client, "a", false),
        ),
      );
      await client.close();
    }
    if (want(table, "sqlite since")) {
      const client = await createPersist({ dataDir: join(dir, "persist2") });
      rows.push(
        latencyRow(
          "persist append + since downgrade (sqlite + files, compaction on)",
          await timeAppends(client, "b", true),
        ),
      );
      await client.close();
    }
    if (want(table, "postgres")) {
      const name = "persist compareAndAppend (postgres + files)";
      if (pgSkip !== undefined)
        rows.push({ name, skipped: pgSkip, ops: 0, first: 0, perSec: 0, p50: 0, p99: 0 });
      else {
        const schema = `mzts_persist_bench_${process.pid}`;
        const consensus = await createPostgresConsensus(pgUrl!, { schema });
        try {
          const client = await createPersist({
            consensus,
            blob: createFileBlob(join(dir, "pgblob")),
          });
          rows.push(latencyRow(name, await timeAppends(client, "c", false)));
          await client.close();
        } finally {
          await consensus.close();
          await dropSchema(schema);
        }
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const base = rows[0]!;
  printTable(
    `append: ${BATCH}-update batches (${blobBytes} B encoded), ${APPENDS} appends per row after 1 cold append`,
    ["row", "first ms", "appends/s", "p50 ms", "p99 ms", "ratio (p50 / baseline p50)"],
    rows.map((r) =>
      r.skipped !== undefined
        ? [r.name, "-", "-", "-", "-", `skipped: ${r.skipped}`]
        : [r.name, f2(r.first), f0(r.perSec), f2(r.p50), f2(r.p99), `${f2(r.p50 / base.p50)}x`],
    ),
  );
}

async function dropSchema(schema: string): Promise<void> {
  const c = new pg.Client({ connectionString: pgUrl! });
  await c.connect();
  await c.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  await c.end();
}

// ---- snapshot -----------------------------------------------------------------------------------

async function fillShard(client: PersistClient, id: string): Promise<bigint> {
  const s = await client.openShard(id, { create: true });
  const batches = 100;
  const per = Math.ceil(SNAPSHOT_UPDATES / batches);
  const distinct = Math.max(1, Math.floor(SNAPSHOT_UPDATES / 4));
  let n = 0;
  for (let b = 0n; b < BigInt(batches); b++) {
    const updates: Update[] = [];
    for (let i = 0; i < per && n < SNAPSHOT_UPDATES; i++, n++) {
      const k = (n * 7919) % distinct;
      updates.push([[BigInt(k), `name-${k}`], b, n % 5 === 4 ? -1 : 1]);
    }
    await s.compareAndAppend(updates, b, b + 1n);
  }
  return BigInt(batches);
}

interface ThroughputRow {
  name: string;
  skipped?: string;
  ms: number;
  rows: number;
}

async function benchSnapshot(pgSkip: string | undefined): Promise<void> {
  const table = "snapshot";
  const rows: ThroughputRow[] = [];
  const dir = mkdtempSync(join(tmpdir(), "mzts-persist-bench-"));
  try {
    const client = await createPersist({ dataDir: join(dir, "persist") });
    const t0 = performance.now();
    const upper = await fillShard(client, "snap");
    const fillMs = performance.now() - t0;
    const s = await client.openShard("snap");
    const { batches } = await s.info();
    // Baseline: read the same blob files and decode them (no consolidation).
    {
      const t = performance.now();
      let count = 0;
      for (const b of batches) {
        if (b.key === null) continue;
        const bytes = readFileSync(join(dir, "persist", "blob", ...b.key.split("/")));
        count += decodeBatch(b.key, bytes).length;
      }
      rows.push({
        name: "baseline: read + decode the same blob files",
        ms: performance.now() - t,
        rows: count,
      });
    }
    if (want(table, "sqlite")) {
      for (const run of ["first", "repeat"]) {
        const t = performance.now();
        const snap = await s.snapshot(upper - 1n);
        rows.push({
          name: `persist snapshot, ${run} (sqlite + files) → ${snap.length} rows`,
          ms: performance.now() - t,
          rows: SNAPSHOT_UPDATES,
        });
      }
    }
    await client.close();
    if (want(table, "postgres")) {
      const name = "persist snapshot (postgres + files)";
      if (pgSkip !== undefined) rows.push({ name, skipped: pgSkip, ms: 0, rows: 0 });
      else {
        const schema = `mzts_persist_bench_snap_${process.pid}`;
        let consensus: Consensus | undefined;
        try {
          consensus = await createPostgresConsensus(pgUrl!, { schema });
          const pc = await createPersist({ consensus, blob: createFileBlob(join(dir, "pgblob")) });
          const up = await fillShard(pc, "snap");
          const ps = await pc.openShard("snap");
          const t = performance.now();
          const snap = await ps.snapshot(up - 1n);
          rows.push({
            name: `${name} → ${snap.length} rows`,
            ms: performance.now() - t,
            rows: SNAPSHOT_UPDATES,
          });
          await pc.close();
        } finally {
          await consensus?.close();
          await dropSchema(schema);
        }
      }
    }
    const base = rows[0]!;
    printTable(
      `snapshot: ${SNAPSHOT_UPDATES.toLocaleString("en-US")} updates in 100 batches (written in ${f0(fillMs)} ms)`,
      ["row", "ms", "updates/s", "ratio (ms / baseline ms)"],
      rows.map((r) =>
        r.skipped !== undefined
          ? [r.name, "-", "-", `skipped: ${r.skipped}`]
          : [r.name, f0(r.ms), f0((r.rows / r.ms) * 1000), `${f2(r.ms / base.ms)}x`],
      ),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// ---- main ---------------------------------------------------------------------------------------

const pgSkip = await pgReachable();
if (pgSkip !== undefined) console.log(`PostgreSQL rows skipped: ${pgSkip}`);
const started = performance.now();
if (
  filter.test("append/") ||
  ["sqlite", "postgres", "sqlite since"].some((r) => want("append", r))
) {
  await benchAppend(pgSkip);
}
if (["sqlite", "postgres"].some((r) => want("snapshot", r))) await benchSnapshot(pgSkip);
if (filter.test("consensus/")) {
  const rows = await benchConsensusWrites(CAS, [1, 32]);
  const base = new Map(
    rows.filter((r) => r.name.startsWith("baseline")).map((r) => [r.concurrency, r]),
  );
  printTable(
    "consensus: compare-and-sets (2 KiB state each), C concurrent on C shards per round; ELU = the main thread's event-loop utilization",
    ["row", "C", "writes/s", "round p50 ms", "ELU", "writes/s vs baseline", "ELU vs baseline"],
    rows.map((r) => {
      const b = base.get(r.concurrency)!;
      return [
        r.name,
        String(r.concurrency),
        f0(r.writesPerSec),
        f2(r.roundP50Ms),
        f2(r.elu),
        `${f2(r.writesPerSec / b.writesPerSec)}x`,
        `${f2(r.elu / b.elu)}x`,
      ];
    }),
  );
}
console.log(`\ntotal ${((performance.now() - started) / 1000).toFixed(1)} s`);
