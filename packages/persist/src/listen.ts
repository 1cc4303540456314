/**
 * `Listener`: an async iterator of a shard's batches from a position onward, as the upper
 * advances.
 *
 * ## Semantics
 * `listen(from)` yields `{lower, upper, updates}` events that are contiguous and in order: the
 * first has `lower = from`, each next one starts at the previous `upper`, and `updates` holds
 * exactly the updates with `lower <= time < upper` (unconsolidated, as written). An event with no
 * updates still reports progress. After an event whose upper is EMPTY the iterator ends.
 * The usual subscribe pattern is `snapshot(t)` then `listen(t + 1)`.
 *
 * ## Flow
 * Each `next()` returns a buffered event, or else reads the consensus head: if the upper is past
 * the position, it fetches the batches overlapping `[position, upper)` and buffers one event per
 * batch; otherwise it waits on the shard's shared `ChangeWatch` until a state's upper is past the
 * position (a since downgrade or heartbeat of another reader does not wake it) — looked at after
 * an in-process commit (a write through any client of the same store in this process) and at the
 * watch's one poll every `pollIntervalMs` for all idle listeners of the shard (writes by other
 * processes) — and looks again.
 *
 * The batches a listener needs must not be compacted: hold a since handle at or below the
 * position. If a batch at or beyond the position has been compacted, `next()` rejects with
 * `SinceViolation`. `close()` (or `return()`, e.g. `break` in `for await`) ends the iterator and
 * resolves a pending `next()` with `done`.
 */
import { Frontier, type Timestamp, type Update } from "@mzts/repr";
import type { ChangeWait } from "./change-watch.js";
import { fetchBatches, type ShardContext } from "./context.js";
import { CorruptBlob, ShardDropped, SinceViolation } from "./errors.js";

/** One step of a listen: the updates with `lower <= time < upper`. */
export interface ListenEvent {
  readonly lower: Timestamp;
  readonly upper: Frontier;
  readonly updates: readonly Update[];
}

export interface ListenOptions {
  /** Poll interval for writes by other processes, ms (default: the client's, 20 ms). */
  readonly pollIntervalMs?: number;
  /** Closes the listener when aborted. */
  readonly signal?: AbortSignal;
}

export class Listener implements AsyncIterableIterator<ListenEvent> {
  readonly #ctx: ShardContext;
  readonly #pollMs: number;
  /** The next time to emit from; EMPTY once the shard's upper was EMPTY and emitted. */
  #position: Frontier;
  /** Events fetched but not yet returned, in order. */
  readonly #queue: ListenEvent[] = [];
  #closed = false;
  /** The wait in progress, cancelled by `close()`. */
  #wait: ChangeWait | undefined;

  constructor(ctx: ShardContext, from: Timestamp, options: ListenOptions = {}) {
    this.#ctx = ctx;
    this.#position = from;
    this.#pollMs = options.pollIntervalMs ?? ctx.tuning.pollIntervalMs;
    options.signal?.addEventListener("abort", () => this.close(), { once: true });
    if (options.signal?.aborted) this.close();
  }

  /** The next time this listener will emit from (EMPTY when finished). */
  get position(): Frontier {
    return this.#position;
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  /**
   * The next event, waiting for the upper to advance if needed.
   * @throws SinceViolation, ShardDropped, CorruptBlob, UnsupportedFormatVersion, StorageUnavailable
   */
  async next(): Promise<IteratorResult<ListenEvent, undefined>> {
    for (;;) {
      if (this.#closed) return { done: true, value: undefined };
      const ev = this.#queue.shift();
      if (ev !== undefined) return { done: false, value: ev };
      if (this.#position === null) return { done: true, value: undefined };
      const progressed = await this.#step(this.#position);
      if (!progressed && !this.#closed) {
        const w = this.#ctx.machine.changeWatch(this.#pollMs).wait(this.#position);
        this.#wait = w;
        await w.changed;
        this.#wait = undefined;
      }
    }
  }

  /** Ends the iterator. */
  async return(): Promise<IteratorResult<ListenEvent, undefined>> {
    this.close();
    return { done: true, value: undefined };
  }

  /** Ends the iterator; a pending `next()` resolves with `done`. Idempotent. */
  close(): void {
    this.#closed = true;
    this.#queue.length = 0;
    this.#wait?.cancel();
  }

  /** Buffers the events past `pos` if the upper moved; returns whether it did. */
  async #step(pos: Timestamp): Promise<boolean> {
    const ctx = this.#ctx;
    for (let attempt = 0; ; attempt++) {
      // A shared poll: a listener that sees nothing new just looks again later.
      const { seqNo, state } = await (attempt === 0 ? ctx.machine.poll() : ctx.machine.fetch());
      if (state.dropped) throw new ShardDropped(ctx.machine.shardId);
      if (!Frontier.lessThan(pos, state.upper)) return false;
      const needed = state.batches.filter((b) => Frontier.lessThan(pos, b.upper));
      if (needed.some((b) => b.since !== undefined)) {
        throw new SinceViolation(ctx.machine.shardId, pos, state.since);
      }
      const parts = await fetchBatches(ctx, needed);
      if (parts === undefined) {
        // A blob vanished under us: the state changed (compaction). Re-read and retry.
        const again = await ctx.machine.fetch();
        if (again.seqNo === seqNo || attempt >= 5) {
          throw new CorruptBlob(
            `${ctx.machine.shardId}@${seqNo}`,
            "a batch referenced by the shard state is missing from blob storage",
          );
        }
        continue;
      }
      if (this.#closed) return true;
      for (let i = 0; i < needed.length; i++) {
        const b = needed[i]!;
        const lower = b.lower > pos ? b.lower : pos;
        const updates = b.lower >= pos ? parts[i]! : parts[i]!.filter((u) => u[1] >= pos);
        this.#queue.push({ lower, upper: b.upper, updates });
      }
      this.#position = state.upper;
      return true;
    }
  }
}
