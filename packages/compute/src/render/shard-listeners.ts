/**
 * `ShardListeners`: one persist listener per shard per worker, fanning its events out to every
 * source reader of the worker that imports the shard (issue 16: with 1,000 indexes on one source
 * each dataflow had its own listener — its own wake, head poll, event, filter and copy of every
 * batch, every second).
 *
 * ## Flow
 * 1. `subscribe(shardId, from, sink)`: the first subscriber of a shard starts the shared listener
 *    at its `from` (the position after its snapshot). The shared position `P` is the upper of the
 *    last event delivered (or the start).
 * 2. Every event of the shared listener is partitioned once (`hashRow(row) % W === worker`) and
 *    handed to every subscriber, restricted to times at or after the subscriber's `from`: an event
 *    wholly before it is skipped, one straddling it is filtered. Subscribers receive the same
 *    (read-only) array.
 * 3. A subscriber joining with `from < P` (its as-of is older than where the shared listener
 *    already is) catches up on its own: a private listener from `from`, its updates cut at `P` and
 *    its frontier capped at `P`, while the shared events from `P` on are buffered for it; then the
 *    buffer, then live. Each subscriber therefore sees exactly the updates in `[from, ∞)`, in
 *    order, with contiguous uppers — what its own listener would have given.
 * 4. `close()` of a subscription (dataflow dropped, replica closing) removes it; the last one stops
 *    the shared listener. A new subscriber later starts a new one.
 *
 * ## Read holds
 * The shared listener reads batches at `P`, which only persist's since must not have passed. The
 * worker's since handle of the shard is held at the least position of its readers
 * (`ShardSinceHolds`); a subscriber that started at or before `P` has a position at or below
 * `P`, so while one exists the shard since is at or below `P`. When only subscribers that start after `P` remain (the
 * others left before the shared listener reached them), nothing holds `P`: the shared listener is
 * restarted at the least of their `from`s (none of them has received anything yet).
 *
 * ## Errors
 * A read error of the shared listener (since violation, shard dropped) fails every subscriber
 * (`sink.failed`) and forgets the entry; a catch-up's error fails only its subscriber. Sinks are
 * called synchronously from the read loop and must not throw (a throw is logged and the
 * subscriber dropped).
 */
import type { Shard } from "@mzts/persist";
import { type Frontier, hashRow, type Timestamp, type Update } from "@mzts/repr";
import type { Logger } from "pino";

/** What a subscriber receives. */
export interface ShardSink {
  /**
   * The updates of this worker's partition at times in `[previous upper or from, upper)` (the
   * array is shared between subscribers: read-only), then the new upper (EMPTY: the shard ended,
   * nothing follows).
   */
  event(updates: readonly Update[], upper: Frontier): void;
  /** Reading failed; nothing follows. */
  failed(e: unknown): void;
}

export interface ShardListenersOptions {
  readonly worker: number;
  readonly workers: number;
  readonly openShard: (shardId: string) => Promise<Shard>;
  readonly logger: Logger;
  readonly pollIntervalMs?: number;
}

interface Pending {
  readonly lower: Timestamp;
  readonly updates: readonly Update[];
  readonly upper: Frontier;
}

class Subscriber {
  readonly from: Timestamp;
  readonly sink: ShardSink;
  /** Shared events held while the catch-up runs; undefined once live. */
  buffer: Pending[] | undefined;
  readonly abort = new AbortController();
  closed = false;
  constructor(from: Timestamp, sink: ShardSink) {
    this.from = from;
    this.sink = sink;
  }
}

class Entry {
  readonly shardId: string;
  readonly subs = new Set<Subscriber>();
  /** The upper of the last shared event delivered (or the start): the next one starts here. */
  position: Frontier;
  /** Stops the current read loop (replaced on a restart). */
  run = new AbortController();
  constructor(shardId: string, position: Timestamp) {
    this.shardId = shardId;
    this.position = position;
  }
}

export class ShardListeners {
  readonly #o: ShardListenersOptions;
  readonly #entries = new Map<string, Entry>();

  constructor(o: ShardListenersOptions) {
    this.#o = o;
  }

  /** Shards with a running shared listener (for tests and statistics). */
  get listening(): number {
    return this.#entries.size;
  }

  /** Subscribers of `shardId` (for tests). */
  subscribers(shardId: string): number {
    return this.#entries.get(shardId)?.subs.size ?? 0;
  }

  /** Delivers the shard's updates at times `>= from` to `sink`; returns the unsubscribe. */
  subscribe(shardId: string, from: Timestamp, sink: ShardSink): () => void {
    let e = this.#entries.get(shardId);
    const sub = new Subscriber(from, sink);
    if (e === undefined) {
      e = new Entry(shardId, from);
      this.#entries.set(shardId, e);
      e.subs.add(sub);
      this.#start(e);
    } else {
      e.subs.add(sub);
      const p = e.position;
      if (p !== null && from < p) {
        sub.buffer = [];
        void this.#catchUp(e, sub, p);
      } else if (p === null) {
        // The shard ended before this subscriber joined: nothing more will come on the entry.
        sink.event([], null);
      }
    }
    const entry = e;
    return () => this.#leave(entry, sub);
  }

  /** Starts (or restarts) the entry's read loop at its position. */
  #start(e: Entry): void {
    const run = new AbortController();
    e.run.abort();
    e.run = run;
    const from = e.position;
    if (from === null) return;
    void this.#read(e, from, run.signal).catch((err: unknown) => {
      if (run.signal.aborted) return;
      this.#fail(e, err);
    });
  }

  async #read(e: Entry, from: Timestamp, signal: AbortSignal): Promise<void> {
    const shard = await this.#o.openShard(e.shardId);
    if (signal.aborted) return;
    const listener = shard.listen(from, {
      signal,
      ...(this.#o.pollIntervalMs === undefined ? {} : { pollIntervalMs: this.#o.pollIntervalMs }),
    });
    for await (const ev of listener) {
      if (signal.aborted) return;
      const mine = this.#mine(ev.updates);
      for (const sub of e.subs) {
        if (sub.buffer !== undefined)
          sub.buffer.push({ lower: ev.lower, updates: mine, upper: ev.upper });
        else this.#deliver(e, sub, ev.lower, mine, ev.upper);
      }
      e.position = ev.upper;
      if (ev.upper === null) {
        if (this.#entries.get(e.shardId) === e) this.#entries.delete(e.shardId);
        return;
      }
    }
  }

  /** A subscriber behind the shared position reads `[from, p)` itself, then goes live. */
  async #catchUp(e: Entry, sub: Subscriber, p: Timestamp): Promise<void> {
    const signal = sub.abort.signal;
    try {
      const shard = await this.#o.openShard(e.shardId);
      if (signal.aborted) return;
      const listener = shard.listen(sub.from, {
        signal,
        ...(this.#o.pollIntervalMs === undefined ? {} : { pollIntervalMs: this.#o.pollIntervalMs }),
      });
      for await (const ev of listener) {
        if (signal.aborted) return;
        const capped = ev.upper === null || ev.upper >= p;
        const mine = this.#mine(ev.updates);
        this.#deliver(
          e,
          sub,
          ev.lower,
          capped ? mine.filter((u) => u[1] < p) : mine,
          capped ? p : ev.upper,
        );
        if (capped) break;
      }
      if (signal.aborted) return;
      const held = sub.buffer ?? [];
      sub.buffer = undefined;
      for (const ev of held) {
        if (sub.closed) return;
        this.#deliver(e, sub, ev.lower, ev.updates, ev.upper);
      }
    } catch (err) {
      if (signal.aborted) return;
      e.subs.delete(sub);
      sub.closed = true;
      this.#notifyFailed(sub, err);
      this.#afterLeave(e);
    }
  }

  /** One event to one subscriber, restricted to times at or after its `from`. */
  #deliver(
    e: Entry,
    sub: Subscriber,
    lower: Timestamp,
    updates: readonly Update[],
    upper: Frontier,
  ): void {
    if (sub.closed) return;
    if (upper !== null && upper <= sub.from) return;
    const from = sub.from;
    const ups = lower < from ? updates.filter((u) => u[1] >= from) : updates;
    try {
      sub.sink.event(ups, upper);
    } catch (err) {
      this.#o.logger.error(
        { shard: e.shardId, err },
        "compute: a source reader's event handler threw; dropping its subscription",
      );
      this.#leave(e, sub);
    }
  }

  #mine(updates: readonly Update[]): readonly Update[] {
    const { worker, workers } = this.#o;
    if (workers === 1) return updates;
    return updates.filter(([row]) => hashRow(row) % workers === worker);
  }

  #fail(e: Entry, err: unknown): void {
    if (this.#entries.get(e.shardId) === e) this.#entries.delete(e.shardId);
    e.run.abort();
    const subs = [...e.subs];
    e.subs.clear();
    for (const sub of subs) {
      sub.closed = true;
      sub.abort.abort();
      this.#notifyFailed(sub, err);
    }
  }

  #notifyFailed(sub: Subscriber, err: unknown): void {
    try {
      sub.sink.failed(err);
    } catch {
      // A sink's failure handler never throws (SourceReader's records and logs).
    }
  }

  #leave(e: Entry, sub: Subscriber): void {
    if (sub.closed) return;
    sub.closed = true;
    sub.abort.abort();
    e.subs.delete(sub);
    this.#afterLeave(e);
  }

  /**
   * The last subscriber gone: stop. Only subscribers starting after the shared position left:
   * nothing holds the since at it any more, so restart at the least of their starts.
   */
  #afterLeave(e: Entry): void {
    if (e.subs.size === 0) {
      e.run.abort();
      if (this.#entries.get(e.shardId) === e) this.#entries.delete(e.shardId);
      return;
    }
    const p = e.position;
    if (p === null) return;
    let least: Timestamp | undefined;
    for (const s of e.subs) {
      if (s.from <= p) return;
      if (least === undefined || s.from < least) least = s.from;
    }
    if (least === undefined) return;
    e.position = least;
    this.#start(e);
  }
}
