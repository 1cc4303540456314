/**
 * Compaction and garbage collection of one shard. Background-free: these run inside the calls
 * that make them necessary — opportunistically after an append or since downgrade (once
 * `compactAfterBatches` batches lie below the since, or four times that many beyond it) and in
 * an explicit `maintenance()`.
 *
 * ## Compaction
 * 1. Among the leading batches with `upper <= since`, pick a run of similar-sized batches
 *    (`planCompaction`: size-tiered, at most `maxCompactBatches`, at least two), so each update
 *    is rewritten O(log n) times and one step's work is bounded by what it merges.
 * 2. Read them, advance every time to the since (times below the since are indistinguishable to
 *    every allowed reader), consolidate, and write one blob (none if everything cancelled).
 *    If the since is empty nothing is readable any more and the batch is simply empty.
 * 3. Compare-and-set a state where that run of batches is replaced by the merged batch, whose
 *    `since` records the advance. If another process compacted first, the run is gone: delete
 *    our blob and stop.
 * 4. Delete the blobs of the replaced batches. A reader still holding the older state finds a
 *    blob missing, re-reads the state and retries (see `snapshot` / `listen`).
 * 5. When nothing lies below the since but the tail beyond it grew long (`planMerge`: a since
 *    held back by a stalled reader), the same steps merge a run of the tail **without**
 *    advancing times: the merged batch has no `since` and reads exactly like the run it replaced
 *    (a listener inside it filters by time), so blobs stay O(log n) whatever holds the since.
 *
 * ## Garbage collection
 * - Compacted-away blobs: step 4 above.
 * - Blobs of failed appends: deleted by the writer when the compare-and-set definitely failed.
 * - Orphans (a process died between writing a blob and committing it): `sweepOrphans` deletes
 *   unreferenced blobs older than `orphanGraceMs`.
 * - Consensus history: truncated to the head every `truncateEvery` seqnos and in maintenance.
 * - Dropped shards: every blob under the shard's prefix and the history below the tombstone.
 */
import { Frontier, type Timestamp, type Update } from "@mzts/repr";
import {
  batchKeyCreatedMs,
  consolidateByRow,
  fetchBatches,
  type ShardContext,
  writeBatch,
} from "./context.js";
import {
  type BatchMeta,
  planCompaction,
  planMerge,
  referencedKeys,
  replaceBatches,
} from "./state.js";

/** The outcome of one compaction attempt. */
export interface CompactionResult {
  /** Batches merged away (0 when nothing was compacted). */
  readonly mergedBatches: number;
  /** Blobs deleted afterwards. */
  readonly deletedBlobs: number;
}

const inFlight = new WeakSet<object>();

/**
 * Compacts the batches below the since (see the file comment). At most one compaction per
 * machine runs at a time in this process; a concurrent call returns at once.
 * @throws CorruptBlob, UnsupportedFormatVersion, StorageUnavailable, ShardDropped
 */
export async function compact(ctx: ShardContext): Promise<CompactionResult> {
  const none = { mergedBatches: 0, deletedBlobs: 0 };
  if (inFlight.has(ctx.machine)) return none;
  inFlight.add(ctx.machine);
  try {
    for (let attempt = 0; attempt < 3; attempt++) {
      const { state } = ctx.machine.cached ?? (await ctx.machine.fetch());
      if (state.dropped) return none;
      const prefixRun = planCompaction(state, ctx.tuning.maxCompactBatches);
      const run =
        prefixRun ?? planMerge(state, ctx.tuning.maxCompactBatches, ctx.tuning.compactAfterBatches);
      if (run === undefined) return none;
      const advance = prefixRun !== undefined;
      const first = run[0]!;
      const last = run[run.length - 1]!;
      let merged: BatchMeta;
      if (advance && state.since === null) {
        merged = { key: null, lower: first.lower, upper: last.upper, count: 0, bytes: 0 };
      } else {
        const parts = await fetchBatches(ctx, run);
        if (parts === undefined) {
          // Someone else compacted these batches; refresh and look again.
          await ctx.machine.fetch();
          continue;
        }
        if (advance && state.since !== null) {
          const since: Timestamp = state.since;
          const consolidated = consolidateByRow(
            (function* () {
              for (const p of parts) for (const u of p) yield [u[0], u[2]] as const;
            })(),
          );
          const updates: Update[] = consolidated.map(([row, diff]) => [row, since, diff]);
          merged = await writeBatch(ctx, updates, first.lower, last.upper, since);
        } else {
          // Beyond the since (step 5): every update keeps its time, the batch has no since.
          merged = await writeBatch(ctx, parts.flat(), first.lower, last.upper);
        }
      }
      const applied = await ctx.machine.apply("compact", (s) => {
        const next = s.dropped ? undefined : replaceBatches(s, run, merged);
        return next === undefined ? { result: false } : { write: next, result: true };
      });
      if (!applied.result) {
        ctx.metrics.compaction.inc({ outcome: "lost_race" });
        if (merged.key !== null) await ctx.blob.delete(merged.key);
        return none;
      }
      ctx.metrics.compaction.inc({ outcome: advance ? "ok" : "merged" });
      ctx.metrics.compactionBatches.inc(run.length);
      const live = referencedKeys(applied.state);
      const dead = run.flatMap((b) => (b.key !== null && !live.has(b.key) ? [b.key] : []));
      const deleted = await deleteBlobs(ctx, dead);
      ctx.logger.debug(
        {
          shard: ctx.machine.shardId,
          batches: run.length,
          lower: first.lower.toString(),
          upper: Frontier.toJSON(last.upper),
          updates: merged.count,
        },
        "persist: compacted batches",
      );
      return { mergedBatches: run.length, deletedBlobs: deleted };
    }
    return none;
  } finally {
    inFlight.delete(ctx.machine);
  }
}

/** Deletes blobs, counting them; a failure is logged and the rest continue. */
export async function deleteBlobs(ctx: ShardContext, keys: readonly string[]): Promise<number> {
  let n = 0;
  for (const key of keys) {
    try {
      await ctx.blob.delete(key);
      n++;
    } catch (e) {
      ctx.logger.warn(
        { shard: ctx.machine.shardId, key, err: e },
        "persist: blob delete failed; maintenance() will sweep it as an orphan",
      );
    }
  }
  ctx.metrics.blobDeleted.inc(n);
  return n;
}

/** Deletes unreferenced blobs of the shard older than `orphanGraceMs`; returns how many. */
export async function sweepOrphans(ctx: ShardContext): Promise<number> {
  const { state } = await ctx.machine.fetch();
  const live = referencedKeys(state);
  const cutoff = ctx.tuning.now() - ctx.tuning.orphanGraceMs;
  const keys = await ctx.blob.list(`${ctx.machine.shardId}/`);
  const dead = keys.filter((k) => {
    if (live.has(k)) return false;
    const created = batchKeyCreatedMs(k);
    return created !== undefined && created < cutoff;
  });
  return deleteBlobs(ctx, dead);
}
