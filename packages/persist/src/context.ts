/**
 * `ShardContext`: what every shard operation needs (machine, blob, metrics, logger, tuning), and
 * the batch I/O helpers built on it — writing a batch blob and fetching one back.
 *
 * Blob keys are `<shard>/<createdMs>-<random>`: the shard prefix lets `dropShard` and the orphan
 * sweep list a shard's blobs, and the creation time lets the sweep leave recent blobs alone
 * (they may belong to an append or compaction that has not committed yet).
 */
import { randomBytes } from "node:crypto";
import { type Row, rowKey, type Timestamp, type Update } from "@mzts/repr";
import type { Logger } from "pino";
import type { Blob } from "./blob/blob.js";
import { decodeBatch, encodeBatch } from "./codec.js";
import type { ShardMachine } from "./machine.js";
import type { PersistMetrics } from "./metrics.js";
import type { BatchMeta } from "./state.js";

/** Tuning knobs, resolved with defaults by `createPersist`. */
export interface PersistTuning {
  /** Listen / snapshot-wait poll interval of consensus, ms. */
  readonly pollIntervalMs: number;
  /** Compact opportunistically once this many batches lie below the since. */
  readonly compactAfterBatches: number;
  /** At most this many batches merged per compaction (bounds the work of one step). */
  readonly maxCompactBatches: number;
  /** A since handle without a heartbeat for this long is expired by the next write to the readers. */
  readonly readerLeaseMs: number;
  /** Unreferenced blobs younger than this are left alone by the orphan sweep. */
  readonly orphanGraceMs: number;
  /** Truncate consensus history every this many seqnos. */
  readonly truncateEvery: number;
  /** Parallel blob reads per snapshot / listen step. */
  readonly blobReadConcurrency: number;
  /** Wall clock, ms (injectable for lease tests). */
  readonly now: () => number;
}

export interface ShardContext {
  readonly machine: ShardMachine;
  readonly blob: Blob;
  readonly metrics: PersistMetrics;
  readonly logger: Logger;
  readonly tuning: PersistTuning;
}

/** A fresh blob key for a batch of `shardId`. */
export function newBatchKey(shardId: string, nowMs: number): string {
  return `${shardId}/${nowMs}-${randomBytes(8).toString("hex")}`;
}

/** The creation time encoded in a batch key, or undefined for a key of another shape. */
export function batchKeyCreatedMs(key: string): number | undefined {
  const m = /\/(\d{1,16})-[0-9a-f]+$/.exec(key);
  return m === null ? undefined : Number(m[1]);
}

/** Encodes and stores `updates`; returns the batch metadata (not yet referenced by a state). */
export async function writeBatch(
  ctx: ShardContext,
  updates: readonly Update[],
  lower: Timestamp,
  upper: BatchMeta["upper"],
  since?: Timestamp,
): Promise<BatchMeta> {
  const base = since === undefined ? { lower, upper } : { lower, upper, since };
  if (updates.length === 0) return { key: null, count: 0, bytes: 0, ...base };
  const bytes = encodeBatch(updates);
  const key = newBatchKey(ctx.machine.shardId, ctx.tuning.now());
  await ctx.blob.set(key, bytes);
  ctx.metrics.blobBytes.inc({ op: "set" }, bytes.byteLength);
  return { key, count: updates.length, bytes: bytes.byteLength, ...base };
}

/**
 * Fetches the updates of `batch`; `undefined` when its blob is gone (garbage-collected after a
 * compaction that this reader's state predates — the caller re-reads the state and retries).
 * @throws CorruptBlob, UnsupportedFormatVersion, StorageUnavailable
 */
export async function fetchBatch(
  ctx: ShardContext,
  batch: BatchMeta,
): Promise<Update[] | undefined> {
  if (batch.key === null) return [];
  const key = batch.key;
  let recent = recentBatches.get(ctx.machine);
  if (recent === undefined) {
    recent = new Map();
    recentBatches.set(ctx.machine, recent);
  }
  let read = recent.get(key);
  if (read === undefined) {
    read = (async () => {
      const bytes = await ctx.blob.get(key);
      if (bytes === undefined) return undefined;
      ctx.metrics.blobBytes.inc({ op: "get" }, bytes.byteLength);
      return decodeBatch(key, bytes);
    })();
    recent.set(key, read);
    if (recent.size > RECENT_BATCHES) recent.delete(recent.keys().next().value as string);
    const mine = recent;
    // A missing blob or a failed read is never remembered: the caller re-reads the state.
    read.then(
      (u) => {
        if (u === undefined && mine.get(key) === read) mine.delete(key);
      },
      () => {
        if (mine.get(key) === read) mine.delete(key);
      },
    );
  }
  const updates = await read;
  return updates === undefined ? undefined : updates.slice();
}

/**
 * How many decoded batches each shard keeps for readers in this process. Batch blobs are
 * immutable (a key is written once), so every listener of a shard in a process — a replica has
 * one per dataflow and worker — shares one read and decode of each new batch.
 */
const RECENT_BATCHES = 32;
const recentBatches = new WeakMap<ShardMachine, Map<string, Promise<Update[] | undefined>>>();

/** Fetches several batches with bounded parallelism; `undefined` if any blob is missing. */
export async function fetchBatches(
  ctx: ShardContext,
  batches: readonly BatchMeta[],
): Promise<Update[][] | undefined> {
  const out = new Array<Update[]>(batches.length);
  let missing = false;
  let next = 0;
  const worker = async () => {
    while (!missing && next < batches.length) {
      const i = next++;
      const u = await fetchBatch(ctx, batches[i]!);
      if (u === undefined) missing = true;
      else out[i] = u;
    }
  };
  const n = Math.min(ctx.tuning.blobReadConcurrency, batches.length);
  await Promise.all(Array.from({ length: n }, worker));
  return missing ? undefined : out;
}

/** Sums the diffs of equal rows and drops zeros (order of first appearance). */
export function consolidateByRow(rows: Iterable<readonly [Row, number]>): Array<[Row, number]> {
  const byKey = new Map<string, [Row, number]>();
  for (const [row, diff] of rows) {
    if (diff === 0) continue;
    const k = rowKey(row);
    const e = byKey.get(k);
    if (e === undefined) byKey.set(k, [row, diff]);
    else e[1] += diff;
  }
  const out: Array<[Row, number]> = [];
  for (const e of byKey.values()) if (e[1] !== 0) out.push(e);
  return out;
}
