/**
 * Replays after repeated kills (issue 16, "replays grow with repeated kills"): for each build,
 * one environmentd with one replica (size 1), the COUNTER source ticking once a second and N
 * indexes on its subsource; then `--kills` rounds, each a kill -9 of the replica (the builds in
 * turn, alternating the order each round) timed until every index's write frontier in Status is
 * past the one at the kill, followed by a snapshot of what a replay reads:
 * - per shard in the persist consensus (`<data-dir>/persist/consensus.sqlite`): the head state's
 *   bytes, its readers (count, and how many are compute holds) and batches, and the rows kept;
 * - environmentd's and the replica's RSS.
 * Growth per kill in any of these is the suspect; a replay ratio per round against the first
 * build's in the same round gives the A/B.
 *
 * Usage: tsx bench/replay-growth.bench.ts [--indexes 100] [--kills 6] LABEL=path/to/environmentd/dist/main.js ...
 */
import { mkdtempSync, readFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import {
  type EnvironmentApi,
  isOurClusterd,
  readReplicaRecords,
  startEnvironmentd,
} from "../src/harness/environment.js";
import type { Started } from "../src/harness/processes.js";
import {
  closeSides,
  createTickerCluster,
  indexFrontiers,
  replicaPid,
  TICKER_SUBSOURCE,
} from "./ticker-cluster.js";

const HELP = `usage: tsx bench/replay-growth.bench.ts [--indexes N] [--kills K] LABEL=path/to/environmentd/dist/main.js ...
env: BENCH_SETTLE_S (seconds between kills, default 5)`;

const args = process.argv.slice(2);
let indexes = 100;
let kills = 6;
const builds: { label: string; path: string }[] = [];
for (let i = 0; i < args.length; i++) {
  const a = args[i]!;
  if (a === "--indexes") indexes = Number(args[++i]);
  else if (a === "--kills") kills = Number(args[++i]);
  else if (a === "--help") {
    console.log(HELP);
    process.exit(0);
  } else if (a.includes("=")) {
    const [label, path] = a.split("=") as [string, string];
    builds.push({ label, path });
  } else throw new Error(`unknown argument ${a}\n${HELP}`);
}
if (builds.length === 0 || ![indexes, kills].every((n) => Number.isInteger(n) && n > 0))
  throw new Error(HELP);
const SETTLE_S = Number(process.env.BENCH_SETTLE_S ?? 5);
const progress = (s: string) => process.stderr.write(`${s}\n`);
const load = () =>
  loadavg()
    .map((v) => v.toFixed(1))
    .join("/");
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

interface Side {
  readonly label: string;
  readonly dir: string;
  readonly proc: Started;
  readonly api: EnvironmentApi;
  readonly rows: string[];
  readonly replayMs: number[];
  /** Kill → a live clusterd with a new pid recorded (the orchestrator's restart pause + spawn). */
  readonly respawnMs: number[];
}

/** One shard's head as a replay reads it. */
interface ShardSnapshot {
  readonly shard: string;
  readonly bytes: number;
  readonly readers: number;
  readonly computeReaders: number;
  readonly batches: number;
  readonly rowsKept: number;
}

function shardSnapshots(dir: string): ShardSnapshot[] {
  const db = new Database(join(dir, "persist", "consensus.sqlite"), { readonly: true });
  try {
    const heads = db
      .prepare(
        `SELECT c.shard AS shard, c.data AS data, n.k AS k FROM consensus c
         JOIN (SELECT shard, MAX(seqno) AS m, COUNT(*) AS k FROM consensus GROUP BY shard) n
         ON c.shard = n.shard AND c.seqno = n.m`,
      )
      .all() as { shard: string; data: Buffer; k: number }[];
    return heads.map((h) => {
      const state = JSON.parse(h.data.subarray(12).toString("utf8")) as {
        readers: Record<string, unknown>;
        batches: unknown[];
      };
      const ids = Object.keys(state.readers);
      return {
        shard: h.shard,
        bytes: h.data.length,
        readers: ids.length,
        computeReaders: ids.filter((r) => r.startsWith("compute:")).length,
        batches: state.batches.length,
        rowsKept: h.k,
      };
    });
  } finally {
    db.close();
  }
}

function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return m === null ? Number.NaN : Number(m[1]) / 1024;
}

/** Waits until every index is reported past `before` (or past its first frontier). */
async function untilPast(
  s: Side,
  before: Map<string, bigint | null>,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const now = await indexFrontiers(s);
    let behind = 0;
    for (const [name, f] of before) {
      const g = now.get(name);
      if (g === undefined || (f !== null && (g === null ? false : g <= f))) behind++;
    }
    if (now.size >= indexes && behind === 0) return;
    if (Date.now() > deadline) throw new Error(`${s.label}: ${behind} indexes behind`);
    await sleep(200);
  }
}

function describe(s: Side, round: string, ms: number | undefined): void {
  const shards = shardSnapshots(s.dir);
  const total = shards.reduce((a, x) => a + x.bytes, 0);
  const readers = shards.reduce((a, x) => a + x.readers, 0);
  const compute = shards.reduce((a, x) => a + x.computeReaders, 0);
  const kept = shards.reduce((a, x) => a + x.rowsKept, 0);
  const biggest = [...shards].sort((a, b) => b.bytes - a.bytes)[0];
  const rp = replicaPid(s, true);
  const respawn = ms === undefined ? undefined : s.respawnMs.at(-1);
  const row = `| ${s.label} | ${round} | ${ms === undefined ? "—" : (ms / 1000).toFixed(2)} | ${respawn === undefined ? "—" : (respawn / 1000).toFixed(2)} | ${shards.length} | ${total} | ${biggest?.bytes ?? 0} (${biggest?.batches ?? 0} batches) | ${readers} | ${compute} | ${kept} | ${rssMb(s.proc.child.pid!).toFixed(0)} | ${rp === undefined ? "—" : rssMb(rp).toFixed(0)} | ${load()} |`;
  s.rows.push(row);
  progress(row);
}

async function start(label: string, path: string): Promise<Side> {
  const dir = mkdtempSync(join(tmpdir(), `replay-growth-${label}-`));
  const { process: proc, api } = await startEnvironmentd({
    dataDir: dir,
    entry: path,
    readyTimeoutMs: 60_000,
  });
  await createTickerCluster(api);
  for (let i = 0; i < indexes; i++)
    await api.createIndex({ name: `i${i}`, cluster: "c", on: TICKER_SUBSOURCE, key: [0] });
  const side: Side = { label, dir, proc, api, rows: [], replayMs: [], respawnMs: [] };
  await untilPast(side, new Map(), 180_000);
  return side;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * kill -9 of the replica until every index's write frontier is past the one after the kill. The
 * frontiers are read once the killed process is gone: a report it sent just before dying would
 * otherwise count as the replay (seen once: a "replay" of 0.64 s, before any respawn).
 */
async function replay(s: Side): Promise<number> {
  const pid = replicaPid(s)!;
  const t0 = performance.now();
  process.kill(pid, "SIGKILL");
  const deadline = Date.now() + 300_000;
  while (alive(pid)) await sleep(5);
  await sleep(50);
  const before = await indexFrontiers(s);
  for (;;) {
    const r = readReplicaRecords(s.dir).find((x) => x.pid !== pid && isOurClusterd(x.pid, s.dir));
    if (r !== undefined) break;
    if (Date.now() > deadline) throw new Error(`${s.label}: the replica was not restarted`);
    await sleep(20);
  }
  s.respawnMs.push(performance.now() - t0);
  await untilPast(s, before, 300_000);
  return performance.now() - t0;
}

const sides: Side[] = [];
try {
  progress(`starting ${builds.map((b) => b.label).join(", ")} with ${indexes} indexes`);
  for (const b of builds) sides.push(await start(b.label, b.path));
  await sleep(SETTLE_S * 1000);
  progress(
    "| build | round | replay s | respawn s | shards | state bytes (sum of heads) | largest head | readers | compute readers | consensus rows kept | environmentd RSS MB | replica RSS MB | load |",
  );
  for (const s of sides) describe(s, "start", undefined);
  for (let r = 0; r < kills; r++) {
    const order = r % 2 === 0 ? sides : [...sides].reverse();
    for (const s of order) {
      const ms = await replay(s);
      s.replayMs.push(ms);
      await sleep(SETTLE_S * 1000);
      describe(s, `kill ${r + 1}`, ms);
    }
  }
  console.log(`\nreplay after repeated kills at ${indexes} indexes`);
  console.log(
    "| build | round | replay s | respawn s | shards | state bytes (sum of heads) | largest head | readers | compute readers | consensus rows kept | environmentd RSS MB | replica RSS MB | load |",
  );
  console.log("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |");
  for (const s of sides) for (const row of s.rows) console.log(row);
  const base = sides[0]!;
  console.log(
    "\n| build | replay s per kill | ÷ first build, per kill | last ÷ first kill | respawn s per kill | replay − respawn s per kill |",
  );
  console.log("| --- | --- | --- | --- | --- | --- |");
  const s2 = (ms: number) => (ms / 1000).toFixed(2);
  for (const s of sides)
    console.log(
      `| ${s.label} | ${s.replayMs.map(s2).join(", ")} | ${s.replayMs.map((m, i) => (m / base.replayMs[i]!).toFixed(2)).join(", ")} | ${(s.replayMs.at(-1)! / s.replayMs[0]!).toFixed(2)} | ${s.respawnMs.map(s2).join(", ")} | ${s.replayMs.map((m, i) => s2(m - s.respawnMs[i]!)).join(", ")} |`,
    );
} finally {
  await closeSides(sides);
}
