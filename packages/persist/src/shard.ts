/**
 * `Shard`: the handle to one durable shard — write (`compareAndAppend`), read (`snapshot`,
 * `listen`), hold the since (`openSinceHandle`) and maintain (`maintenance`).
 *
 * ## compareAndAppend(updates, expectedUpper, newUpper) — example flow
 * 1. Validate: `expectedUpper <= newUpper` (else `InvalidBatchBounds`), every update well-formed
 *    (`InvalidUpdate`) with `expectedUpper <= time < newUpper` (`TimeOutOfBounds`).
 * 2. Check the upper against the cached state, confirming a mismatch against the head; fail
 *    early with `UpperMismatch` (carrying the current upper) before writing any blob.
 * 3. Write the batch blob (fsynced) — skipped for an empty batch, which only moves the upper.
 * 4. Compare-and-set the state with the batch appended, retrying on races that did not move the
 *    upper (e.g. a concurrent since downgrade). If the upper moved, delete the blob and throw
 *    `UpperMismatch`. If the outcome is unknown (`StorageUnavailable`), keep the blob: it may be
 *    referenced; the orphan sweep removes it later if not.
 * 5. Acknowledge; wake in-process listeners; compact opportunistically when enough batches lie
 *    below the since.
 * `newUpper = EMPTY` closes the shard: no later append can succeed.
 *
 * ## snapshot(asOf)
 * Valid when `since <= asOf < upper`. Below the since → `SinceViolation` (never waits). At or
 * beyond the upper → `SnapshotNotAvailable` by default, or, with `{ wait: true }`, waits (polling
 * plus in-process wakeups) until the upper passes `asOf`. Returns the collection as of `asOf`:
 * every row with its total count, as updates `[row, asOf, count]`, consolidated (no zero counts,
 * each row once), in unspecified order.
 */
import { encodeRow, Frontier, InvalidDatum, Timestamp, type Update } from "@mzts/repr";
import { compact, deleteBlobs, sweepOrphans } from "./compaction.js";
import { consolidateByRow, fetchBatches, type ShardContext, writeBatch } from "./context.js";
import {
  CorruptBlob,
  InvalidBatchBounds,
  InvalidUpdate,
  PersistError,
  ShardDropped,
  SinceViolation,
  SnapshotNotAvailable,
  TimeOutOfBounds,
  UpperMismatch,
  WaitAborted,
} from "./errors.js";
import { Listener, type ListenOptions } from "./listen.js";
import { logCompactionFailure, logExpired, registerAll, SinceHandle } from "./since-handle.js";
import { type BatchMeta, expireLapsed, wantsCompaction, withBatch } from "./state.js";
import { waitForChange } from "./wakeup.js";

export interface SnapshotOptions {
  /** Wait for the upper to pass `asOf` instead of throwing `SnapshotNotAvailable`. */
  readonly wait?: boolean;
  /** Give up waiting after this many ms (`WaitAborted`). Default: no limit. */
  readonly timeoutMs?: number;
  /** Abort the wait (`WaitAborted`). */
  readonly signal?: AbortSignal;
}

/** What `maintenance()` did. */
export interface MaintenanceReport {
  readonly expiredReaders: readonly string[];
  readonly mergedBatches: number;
  readonly deletedBlobs: number;
  readonly truncatedEntries: number;
}

/** A summary of the shard's state at one seqno. */
export interface ShardInfo {
  readonly shardId: string;
  readonly seqNo: bigint;
  readonly upper: Frontier;
  readonly since: Frontier;
  readonly batches: readonly BatchMeta[];
  readonly readers: Readonly<Record<string, { since: Frontier; heartbeatMs: number }>>;
}

export class Shard {
  readonly #ctx: ShardContext;

  /** @internal use `PersistClient.openShard` */
  constructor(ctx: ShardContext) {
    this.#ctx = ctx;
  }

  get id(): string {
    return this.#ctx.machine.shardId;
  }

  /**
   * The latest state: upper, since, batches and readers.
   * @throws ShardDropped, CorruptBlob, UnsupportedFormatVersion, StorageUnavailable
   */
  async info(): Promise<ShardInfo> {
    const { seqNo, state } = await this.#ctx.machine.fetch();
    if (state.dropped) throw new ShardDropped(this.id);
    const { upper, since, batches, readers } = state;
    return { shardId: this.id, seqNo, upper, since, batches, readers };
  }

  /** The latest upper. @throws as `info()` */
  async upper(): Promise<Frontier> {
    return (await this.info()).upper;
  }

  /** The latest since. @throws as `info()` */
  async since(): Promise<Frontier> {
    return (await this.info()).since;
  }

  /**
   * Atomically appends `updates` as the batch `[expectedUpper, newUpper)` if the upper is
   * `expectedUpper`, and moves the upper to `newUpper` (see the file comment).
   * @throws UpperMismatch, InvalidBatchBounds, TimeOutOfBounds, InvalidUpdate, ShardDropped,
   * ContentionExceeded, StorageUnavailable
   */
  async compareAndAppend(
    updates: readonly Update[],
    expectedUpper: Frontier,
    newUpper: Frontier,
  ): Promise<void> {
    const ctx = this.#ctx;
    const started = performance.now();
    try {
      await this.#compareAndAppend(updates, expectedUpper, newUpper);
      ctx.metrics.cmd.inc({ cmd: "compare_and_append", outcome: "ok" });
      ctx.metrics.appendSeconds.observe((performance.now() - started) / 1000);
    } catch (e) {
      ctx.metrics.cmd.inc({ cmd: "compare_and_append", outcome: "error" });
      if (e instanceof UpperMismatch) ctx.metrics.upperMismatch.inc();
      throw e;
    }
  }

  async #compareAndAppend(
    updates: readonly Update[],
    expected: Frontier,
    next: Frontier,
  ): Promise<void> {
    const ctx = this.#ctx;
    const id = this.id;
    if (!Array.isArray(updates)) throw new InvalidUpdate(id, -1, "updates must be an array");
    checkFrontier(id, expected, "expectedUpper");
    checkFrontier(id, next, "newUpper");
    if (!Frontier.lessEqual(expected, next)) {
      throw new InvalidBatchBounds(
        id,
        expected,
        next,
        "the new upper is behind the expected upper",
      );
    }
    validateUpdates(id, updates, expected, next);

    // Fail early, before writing a blob, when the upper has visibly moved. A no-op append
    // (lower == upper) is answered from a fresh state, since it writes nothing to confirm it.
    const noop = expected === null || Frontier.equal(expected, next);
    let cur = noop ? undefined : ctx.machine.cached;
    if (cur === undefined || cur.state.dropped || !Frontier.equal(cur.state.upper, expected)) {
      cur = await ctx.machine.fetch();
    }
    if (cur.state.dropped) throw new ShardDropped(id);
    if (!Frontier.equal(cur.state.upper, expected)) {
      throw new UpperMismatch(id, expected, cur.state.upper);
    }
    // lower == upper: nothing to write; the upper matched, so the no-op succeeds.
    if (noop || expected === null) return;

    const lower: bigint = expected;
    let batch: BatchMeta;
    try {
      batch = await writeBatch(ctx, updates, lower, next);
    } catch (e) {
      // Datums are checked by encoding; name the offending update.
      if (e instanceof InvalidDatum) checkRows(id, updates);
      throw e;
    }
    let out: Awaited<ReturnType<typeof ctx.machine.apply<undefined>>>;
    try {
      out = await ctx.machine.apply("compare_and_append", (s) => {
        if (s.dropped) return { error: new ShardDropped(id) };
        if (!Frontier.equal(s.upper, expected)) {
          return { error: new UpperMismatch(id, expected, s.upper) };
        }
        return { write: withBatch(s, batch), result: undefined };
      });
    } catch (e) {
      // Only a definite failure frees the blob; an unknown outcome may have referenced it.
      if (batch.key !== null && e instanceof PersistError && !isIndeterminate(e)) {
        await deleteBlobs(ctx, [batch.key]);
      }
      throw e;
    }
    ctx.logger.trace(
      { shard: id, lower: lower.toString(), upper: Frontier.toJSON(next), updates: batch.count },
      "persist: appended",
    );
    if (wantsCompaction(out.state, ctx.tuning.compactAfterBatches)) {
      await compact(ctx).catch((e: unknown) => logCompactionFailure(ctx, e));
    }
  }

  /**
   * The collection as of `asOf` (see the file comment).
   * @throws SinceViolation, SnapshotNotAvailable, WaitAborted, ShardDropped, CorruptBlob,
   * UnsupportedFormatVersion, StorageUnavailable
   */
  async snapshot(asOf: Timestamp, options: SnapshotOptions = {}): Promise<Update[]> {
    const ctx = this.#ctx;
    const started = performance.now();
    try {
      const out = await this.#snapshot(Timestamp.check(asOf), options);
      ctx.metrics.cmd.inc({ cmd: "snapshot", outcome: "ok" });
      ctx.metrics.snapshotSeconds.observe((performance.now() - started) / 1000);
      return out;
    } catch (e) {
      ctx.metrics.cmd.inc({ cmd: "snapshot", outcome: "error" });
      throw e;
    }
  }

  async #snapshot(asOf: Timestamp, options: SnapshotOptions): Promise<Update[]> {
    const ctx = this.#ctx;
    const id = this.id;
    const deadline =
      options.timeoutMs === undefined ? Number.POSITIVE_INFINITY : Date.now() + options.timeoutMs;
    let missing = 0;
    for (;;) {
      const { seqNo, state } = await ctx.machine.fetch();
      if (state.dropped) throw new ShardDropped(id);
      if (!Frontier.lessEqual(state.since, asOf)) throw new SinceViolation(id, asOf, state.since);
      if (Frontier.includes(state.upper, asOf)) {
        // asOf >= upper: not final yet.
        if (options.wait !== true) throw new SnapshotNotAvailable(id, asOf, state.upper);
        if (options.signal?.aborted) throw new WaitAborted(id, "the signal was aborted");
        const left = deadline - Date.now();
        if (left <= 0) {
          throw new WaitAborted(
            id,
            `timed out after ${options.timeoutMs} ms at upper ${Frontier.format(state.upper)}`,
          );
        }
        const ms = Math.min(left, ctx.tuning.pollIntervalMs);
        await waitForChange(ctx.machine.wakeKey, ms, options.signal);
        continue;
      }
      const needed = state.batches.filter((b) => b.key !== null && b.lower <= asOf);
      const parts = await fetchBatches(ctx, needed);
      if (parts === undefined) {
        const again = await ctx.machine.fetch();
        if (again.seqNo === seqNo || ++missing > 5) {
          throw new CorruptBlob(
            `${id}@${seqNo}`,
            "a batch referenced by the shard state is missing from blob storage",
          );
        }
        continue;
      }
      const rows = consolidateByRow(
        (function* () {
          for (const p of parts) for (const u of p) if (u[1] <= asOf) yield [u[0], u[2]] as const;
        })(),
      );
      return rows.map(([row, diff]): Update => [row, asOf, diff]);
    }
  }

  /**
   * Streams the shard's batches from `from` onward (see `listen.ts`). Validation is lazy: a
   * since violation surfaces from the first `next()`.
   */
  listen(from: Timestamp, options: ListenOptions = {}): Listener {
    this.#ctx.metrics.cmd.inc({ cmd: "listen", outcome: "ok" });
    return new Listener(this.#ctx, Timestamp.check(from), options);
  }

  /**
   * Registers (or re-attaches) the since handle `readerId`; it starts at the shard's since.
   * @throws ShardDropped, InvalidUpdate (bad id), ContentionExceeded, StorageUnavailable
   */
  async openSinceHandle(readerId: string): Promise<SinceHandle> {
    const ctx = this.#ctx;
    const id = this.id;
    if (typeof readerId !== "string" || readerId.length === 0 || readerId.length > 200) {
      throw new InvalidUpdate(id, -1, "a reader id is a non-empty string of at most 200 chars");
    }
    // Lapsed readers go first, so a new registration is not pinned to a dead reader's since;
    // the registrations of one turn share one compare-and-set and one copy (`registerAll`).
    const out = await ctx.machine.applyBatch(
      "open_since_handle",
      { id: readerId, now: ctx.tuning.now(), leaseMs: ctx.tuning.readerLeaseMs },
      registerAll,
    );
    logExpired(ctx, out.result.expired);
    ctx.metrics.cmd.inc({ cmd: "open_since_handle", outcome: "ok" });
    return new SinceHandle(ctx, readerId, out.result.since);
  }

  /**
   * One bounded maintenance pass: expire lapsed since handles, compact the batches below the
   * since, truncate the consensus history to the head, and delete orphaned blobs.
   * @throws ShardDropped, CorruptBlob, UnsupportedFormatVersion, ContentionExceeded,
   * StorageUnavailable
   */
  async maintenance(): Promise<MaintenanceReport> {
    const ctx = this.#ctx;
    const id = this.id;
    const now = ctx.tuning.now();
    const expired = await ctx.machine.apply("expire_leases", (s) => {
      if (s.dropped) return { error: new ShardDropped(id) };
      const out = expireLapsed(s, now, ctx.tuning.readerLeaseMs);
      return out.expired.length === 0
        ? { result: out.expired }
        : { write: out.state, result: out.expired };
    });
    logExpired(ctx, expired.result);
    // A few steps: each merges one run; tiers above it may become mergeable after it.
    let merged = 0;
    let compactedBlobs = 0;
    for (let i = 0; i < 4; i++) {
      const step = await compact(ctx);
      if (step.mergedBatches === 0) break;
      merged += step.mergedBatches;
      compactedBlobs += step.deletedBlobs;
    }
    const head = await ctx.machine.fetch();
    const truncated = await ctx.machine.truncate(head.seqNo);
    const orphans = await sweepOrphans(ctx);
    await ctx.blob.sweepTempFiles?.(ctx.tuning.orphanGraceMs, `${id}/`);
    ctx.metrics.cmd.inc({ cmd: "maintenance", outcome: "ok" });
    return {
      expiredReaders: expired.result,
      mergedBatches: merged,
      deletedBlobs: compactedBlobs + orphans,
      truncatedEntries: truncated,
    };
  }
}

function isIndeterminate(e: PersistError): boolean {
  return e.name === "StorageUnavailable";
}

function checkFrontier(id: string, f: unknown, what: string): void {
  if (f !== null && !Timestamp.is(f)) {
    throw new InvalidBatchBounds(
      id,
      null,
      null,
      `${what} must be a bigint timestamp or null (EMPTY), got ${typeof f}`,
    );
  }
}

function validateUpdates(id: string, updates: readonly Update[], lower: Frontier, upper: Frontier) {
  for (let i = 0; i < updates.length; i++) {
    const u = updates[i] as unknown;
    if (!Array.isArray(u) || u.length !== 3) {
      throw new InvalidUpdate(id, i, "not a [row, time, diff] triple");
    }
    const [row, time, diff] = u as [unknown, unknown, unknown];
    if (!Array.isArray(row)) throw new InvalidUpdate(id, i, "the row is not an array");
    if (!Timestamp.is(time))
      throw new InvalidUpdate(id, i, `time ${String(time)} is not a u64 bigint`);
    if (typeof diff !== "number" || !Number.isSafeInteger(diff)) {
      throw new InvalidUpdate(id, i, `diff ${String(diff)} is not a safe integer`);
    }
    if (!Frontier.lessEqual(lower, time) || Frontier.includes(upper, time)) {
      throw new TimeOutOfBounds(id, i, time, lower, upper);
    }
  }
}

/** Throws `InvalidUpdate` for the first row that does not encode. */
function checkRows(id: string, updates: readonly Update[]): void {
  for (let i = 0; i < updates.length; i++) {
    try {
      encodeRow(updates[i]![0]);
    } catch (e) {
      if (e instanceof InvalidDatum) throw new InvalidUpdate(id, i, e.message);
      throw e;
    }
  }
}
