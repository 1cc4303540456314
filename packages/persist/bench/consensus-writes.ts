/**
 * The `consensus` table of the persist bench: compare-and-sets on the SQLite consensus, `C` at a
 * time (one per shard, as a controller's since-upkeep tick issues them), in rounds, per commit
 * placement. Baseline: one `BEGIN IMMEDIATE` transaction (one fsync) per compare-and-set on the
 * calling thread — how every write committed before group commit. Columns: writes/s, the round's
 * p50, and the main thread's event-loop utilization over the row (`performance.eventLoopUtilization`:
 * the share of wall time the loop was busy, which includes a synchronous fsync; the head reads
 * every compare-and-set needs are in it too). Rounds of C = 1 show the cost of a lone write
 * (the thread hop), rounds of C = 32 the grouping.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Consensus } from "../src/consensus/consensus.js";
import { createSqliteConsensus, type SqliteCommitMode } from "../src/consensus/sqlite.js";
import { openConsensusDb, prepareConsensusDb } from "../src/consensus/sqlite-db.js";

export interface ConsensusRow {
  readonly name: string;
  readonly concurrency: number;
  readonly writesPerSec: number;
  readonly roundP50Ms: number;
  readonly elu: number;
}

/** The pre-group-commit path: every compare-and-set its own transaction, on this thread. */
function inlinePerWrite(file: string): Consensus {
  const c = createSqliteConsensus(file, { commit: "turn" });
  const cdb = prepareConsensusDb(
    openConsensusDb(file, { synchronous: "FULL", busyTimeoutMs: 10_000 }).db,
    10_000,
  );
  return {
    ...c,
    async compareAndSet(key, expected, entry) {
      const [o] = cdb.applyWrites([
        { op: "cas", key, expected, seqNo: entry.seqNo, data: entry.data },
      ]);
      return o?.ok === true && o.value === true;
    },
    async close() {
      cdb.db.close();
      await c.close();
    },
  };
}

async function rounds(c: Consensus, concurrency: number, writes: number) {
  const data = new Uint8Array(2048).fill(7);
  const keys = Array.from({ length: concurrency }, (_, i) => `shard-${i}`);
  const seq = new Map<string, bigint>();
  const one = async (k: string) => {
    const head = await c.head(k);
    const expected = head?.seqNo;
    if (!(await c.compareAndSet(k, expected, { seqNo: (expected ?? 0n) + 1n, data })))
      throw new Error(`bench: ${k} lost a compare-and-set nobody raced`);
    seq.set(k, (expected ?? 0n) + 1n);
  };
  await Promise.all(keys.map(one)); // warm-up (and the writer thread's start)
  const times: number[] = [];
  const elu0 = performance.eventLoopUtilization();
  const t0 = performance.now();
  for (let done = 0; done < writes; done += concurrency) {
    const r0 = performance.now();
    await Promise.all(keys.map(one));
    times.push(performance.now() - r0);
  }
  const ms = performance.now() - t0;
  const elu = performance.eventLoopUtilization(elu0).utilization;
  times.sort((a, b) => a - b);
  return {
    writesPerSec: ((times.length * concurrency) / ms) * 1000,
    roundP50Ms: times[Math.floor(times.length / 2)]!,
    elu,
  };
}

/** Measures every placement at each concurrency; `writes` compare-and-sets per row. */
export async function benchConsensusWrites(
  writes: number,
  concurrencies: readonly number[],
): Promise<ConsensusRow[]> {
  const dir = mkdtempSync(join(tmpdir(), "mzts-persist-bench-cas-"));
  const rows: ConsensusRow[] = [];
  const modes: ReadonlyArray<[string, (file: string) => Consensus]> = [
    ["baseline: one transaction per write, this thread", inlinePerWrite],
    ...(["turn", "thread"] as SqliteCommitMode[]).map(
      (commit) =>
        [
          `grouped, commit "${commit}"`,
          (file: string) => createSqliteConsensus(file, { commit }),
        ] as [string, (file: string) => Consensus],
    ),
  ];
  try {
    let n = 0;
    for (const concurrency of concurrencies)
      for (const [name, open] of modes) {
        const c = open(join(dir, `c${n++}.sqlite`));
        try {
          rows.push({ name, concurrency, ...(await rounds(c, concurrency, writes)) });
        } finally {
          await c.close();
        }
      }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return rows;
}
