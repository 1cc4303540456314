/**
 * The storage preparation task (materialize.md §1.4, `async_storage_worker.rs`): the I/O an
 * ingestion needs before it can be rendered, run off the worker threads (on the process's main
 * thread), by the unified runtime's `prepare` and by the legacy runtime's own async task alike.
 *
 * For a `runIngestion` it reads, for every export, the shard's current upper (opening the shard,
 * creating it when missing): the resume point. Each export then resumes at
 * `clock.firstTickAtOrAfter(upper)` — no duplicates, no gaps — and the workers start generating at
 * the least of those ticks (a writer drops what its shard already holds).
 *
 * ## The tick clock's start
 * - Deterministic mode: `connection.deterministic.startTimeMs`.
 * - Real-time mode: the protocol carries no start time, yet every replica (and every restart) must
 *   use the same clock, or their compare-and-appends would interleave different data. The start is
 *   therefore agreed through persist: the ingestion's *clock anchor shard*
 *   (`<first export shard>-clock`) holds one row `[startMs]` at time 0. The first replica to
 *   prepare proposes `now` rounded down to the tick interval with a compare-and-append from upper
 *   0; whoever loses the race reads the winner's value. (A protocol field would be simpler; see
 *   the package README, "Open questions".)
 */

import { type PersistClient, UpperMismatch } from "@mzts/persist";
import type { IngestionDescription } from "@mzts/protocol";
import type { Frontier, GlobalId } from "@mzts/repr";
import { StorageError } from "./errors.js";
import type { IngestionResume } from "./ingestion.js";

/** The id of an ingestion's clock anchor shard (real-time mode). */
export function clockAnchorShardId(d: IngestionDescription): string {
  return `${d.sourceExports[0]?.shardId ?? "ingestion"}-clock`;
}

/**
 * Reads an ingestion's resume point from persist.
 * @throws PersistError (e.g. `StorageUnavailable`) when persist cannot be read; the caller fails
 * the command's preparation.
 */
export async function readIngestionResume(
  persist: PersistClient,
  d: IngestionDescription,
  nowMs: bigint,
): Promise<IngestionResume> {
  const uppers: Record<GlobalId, Frontier> = {};
  for (const e of d.sourceExports) {
    const shard = await persist.openShard(e.shardId, { create: true });
    uppers[e.id] = await shard.upper();
  }
  const det = d.connection.deterministic;
  const startMs = det ? det.startTimeMs : await anchorClock(persist, d, nowMs);
  return { uppers, startMs };
}

async function anchorClock(
  persist: PersistClient,
  d: IngestionDescription,
  nowMs: bigint,
): Promise<bigint> {
  const shard = await persist.openShard(clockAnchorShardId(d), { create: true });
  if ((await shard.upper()) === 0n) {
    const interval = BigInt(d.connection.tickIntervalMs);
    const proposed = nowMs - (nowMs % interval);
    try {
      await shard.compareAndAppend([[[proposed], 0n, 1]], 0n, 1n);
    } catch (e) {
      if (!(e instanceof UpperMismatch)) throw e;
    }
  }
  const rows = await shard.snapshot(0n, { wait: true, timeoutMs: 10_000 });
  const start = rows[0]?.[0][0];
  if (typeof start !== "bigint") {
    throw new StorageError(`clock anchor shard ${shard.id} holds no start time; drop it and retry`);
  }
  return start;
}
