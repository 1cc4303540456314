/**
 * `SourceReader`: a persist shard imported into a dataflow on one worker, holding the shard's
 * since at its read position with its own since handle (Materialize's leased reader).
 *
 * ## Flow
 * 1. Open the shard and its since handle, `readerId` (`sourceReaderId()`: replica, import,
 *    dataflow, worker). The id is deterministic, so a restarted replica re-attaches to its
 *    previous registration instead of leaking a new one. A registration found above the as-of
 *    (the previous incarnation had read further) would not protect the snapshot and the catch-up
 *    below it, and a since never moves back: it is expired and registered afresh at the shard's
 *    since, which the controller holds at or below the as-of.
 * 2. Take `snapshot(asOf)` (waiting until the shard's upper passes asOf). From here the handle
 *    holds the shard's since at or below this reader's position, so the controller may compact
 *    the shard up to the fastest replica without pulling data from under a lagging one.
 * 3. Keep only this worker's partition (`hashRow(row) % W === worker`): every worker reads the
 *    shard and together they hold each update exactly once; keyed operators then exchange.
 * 4. The updates from `asOf + 1` on, through the worker's one listener of the shard
 *    (`ShardListeners`: partitioned once, fanned out to every reader of the shard): each event's
 *    updates and its upper, which becomes the input frontier (through `ImportFeed`: forwarded to
 *    asOf, closed at until).
 * 5. A tick (every `sinceDowngradeIntervalMs`, default 1 s, on the thread's shared
 *    `sinceTicker`, so all readers downgrade in one turn and persist writes once per shard) downgrades the handle to the
 *    position read so far (asOf + 1 after the snapshot, then each consumed event's upper) when it
 *    advanced, and otherwise heartbeats once per `sinceHeartbeatIntervalMs` (default 1 min) so
 *    the persist lease never lapses while the dataflow lives. Downgrades never block reading: at
 *    most one is in flight, failures are logged and retried at the next tick, and the target is
 *    always `join(handle.since, position)` (never a regression).
 * 6. When reading ends (dataflow dropped, replica closing, shard closed, read error), the handle
 *    is expired (best effort). On a crash it stays until the restarted replica re-attaches (1.)
 *    or its lease lapses. A later reader with the same id in this thread waits for that expiry
 *    (reconciliation may drop and rebuild a dataflow with the same exports at once).
 * The async reads only queue events; `pump()` moves them into the dataflow from the worker's
 * `step()`, so the graph is only touched between steps, never from a promise callback.
 *
 * A read error (shard dropped, since violation) stops the reader: the input frontier stays where
 * it is (the dataflow stalls; nothing wrong is produced) and the error is logged.
 */
import { createHash } from "node:crypto";
import {
  ReaderExpired,
  type Shard,
  SinceBeyondUpper,
  type SinceHandle,
  SinceRegression,
  SinceViolation,
} from "@mzts/persist";
import { Frontier, hashRow, type Timestamp, type Update } from "@mzts/repr";
import type { Logger } from "pino";
import type { ImportFeed } from "./import-feed.js";
import type { ShardListeners } from "./shard-listeners.js";
import { sinceTicker } from "./since-ticker.js";

/** Opens a persist shard by id (the worker's persist client). */
export type OpenShard = (shardId: string) => Promise<Shard>;

/** Default least time between two since downgrades of one reader, ms. */
export const DEFAULT_SINCE_DOWNGRADE_INTERVAL_MS = 1000;
/** Default longest time without a write to a reader's since handle, ms (the lease is 15 min). */
export const DEFAULT_SINCE_HEARTBEAT_INTERVAL_MS = 60_000;
/** Longest wait for an earlier holder of the same reader id in this thread to release it, ms. */
const RELEASE_WAIT_MS = 10_000;
/** Persist's limit on reader ids. */
const MAX_READER_ID = 200;

/**
 * The since handle id of a source reader:
 * `compute:<replicaId>:<importId>:<dataflowId>:w<worker>`, where the dataflow is named by its
 * first export. Ids longer than persist's 200 characters keep a prefix and end in a hash of the
 * whole id.
 */
export function sourceReaderId(
  replicaId: string,
  importId: string,
  dataflowId: string,
  worker: number,
): string {
  const id = `compute:${replicaId}:${importId}:${dataflowId}:w${worker}`;
  if (id.length <= MAX_READER_ID) return id;
  const hash = createHash("sha256").update(id).digest("hex").slice(0, 16);
  return `${id.slice(0, MAX_READER_ID - hash.length - 1)}~${hash}`;
}

/**
 * Releases (expiries) of since handles still in flight in this thread, by shard and reader id:
 * a new holder of the same id waits for the previous one, or the late expiry would unregister it.
 */
const releasing = new Map<string, Promise<void>>();

interface Event {
  readonly updates: readonly Update[];
  readonly upper: Frontier;
}

export interface SourceReaderOptions {
  readonly id: string;
  readonly shardId: string;
  /** The since handle's reader id (`sourceReaderId()`); at most 200 characters. */
  readonly readerId: string;
  readonly feed: ImportFeed;
  readonly worker: number;
  readonly workers: number;
  readonly openShard: OpenShard;
  /** The worker's shared listeners: the updates after the snapshot come from there. */
  readonly listeners: ShardListeners;
  readonly requestStep: () => void;
  readonly logger: Logger;
  /** Least time between two since downgrades, ms (default 1000). */
  readonly sinceDowngradeIntervalMs?: number;
  /** Longest time without a downgrade before a heartbeat, ms (default 60 000; < the lease). */
  readonly sinceHeartbeatIntervalMs?: number;
}

export class SourceReader {
  readonly id: string;
  readonly shardId: string;
  readonly readerId: string;
  readonly #o: SourceReaderOptions;
  /** Events read and not yet pumped into the dataflow, in order. */
  readonly #queue: Event[] = [];
  readonly #abort = new AbortController();
  /** The read error that stopped this reader, if any. */
  error: string | undefined;
  /** The shard, once opened; kept to re-attach the handle. */
  #shard: Shard | undefined;
  /** The since handle: set once opened, replaced on re-attach, cleared when released. */
  #handle: SinceHandle | undefined;
  /** Where the handle may go: the next time to read (undefined until the snapshot is read). */
  #position: Timestamp | undefined;
  /** When the handle was last written (opened, downgraded or heartbeated), ms. */
  #lastWriteMs = 0;
  /** The downgrade in flight, if any (at most one). */
  #inFlight: Promise<void> | undefined;
  /** Stops this reader's downgrade ticks (shared timer), from the handle's opening until the release. */
  #stopTicks: (() => void) | undefined;
  /** Settles when reading has ended and the handle is released; set by `start()`. */
  #done: Promise<void> | undefined;

  constructor(o: SourceReaderOptions) {
    this.id = o.id;
    this.shardId = o.shardId;
    this.readerId = o.readerId;
    this.#o = o;
  }

  /** The since of this reader's handle, or undefined while it has none. */
  get handleSince(): Frontier | undefined {
    return this.#handle?.since;
  }

  /** Starts reading (async; events are queued for `pump()`). */
  start(): void {
    this.#done ??= this.#run()
      .catch((e: unknown) => this.#failed(e))
      .then(() => this.#release());
  }

  async #run(): Promise<void> {
    const { feed, openShard, requestStep } = this.#o;
    const signal = this.#abort.signal;
    const shard = await openShard(this.shardId);
    this.#shard = shard;
    if (signal.aborted) return;
    await this.#previousHolder();
    if (signal.aborted) return;
    this.#handle = await shard.openSinceHandle(this.readerId);
    if (signal.aborted) return;
    if (!Frontier.lessEqual(this.#handle.since, feed.asOf)) {
      this.#o.logger.info(
        { ...this.#fields(), handleSince: Frontier.toJSON(this.#handle.since) },
        "compute: source import re-attached above its as-of; registering its since handle afresh",
      );
      await this.#handle.expire();
      this.#handle = undefined;
      if (signal.aborted) return;
      this.#handle = await shard.openSinceHandle(this.readerId);
      if (signal.aborted) return;
    }
    this.#lastWriteMs = Date.now();
    this.#stopTicks = sinceTicker.register(
      this.#o.sinceDowngradeIntervalMs ?? DEFAULT_SINCE_DOWNGRADE_INTERVAL_MS,
      () => this.#tick(),
    );

    const snap = await shard.snapshot(feed.asOf, { wait: true, signal });
    if (signal.aborted) return;
    this.#queue.push({ updates: this.#mine(snap), upper: feed.asOf + 1n });
    this.#position = feed.asOf + 1n;
    requestStep();
    // The worker's shared listener of the shard from asOf + 1 (`ShardListeners`).
    await new Promise<void>((resolve, reject) => {
      const unsubscribe = this.#o.listeners.subscribe(this.shardId, feed.asOf + 1n, {
        event: (updates, upper) => {
          if (signal.aborted) return;
          this.#queue.push({ updates, upper });
          requestStep();
          if (upper === null) resolve();
          else this.#position = upper;
        },
        failed: reject,
      });
      signal.addEventListener(
        "abort",
        () => {
          unsubscribe();
          resolve();
        },
        { once: true },
      );
      if (signal.aborted) {
        unsubscribe();
        resolve();
      }
    });
  }

  /** Waits (bounded) until an earlier reader of this thread with the same id has released it. */
  async #previousHolder(): Promise<void> {
    const prev = releasing.get(this.#key);
    if (prev === undefined) return;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<boolean>((r) => {
      timer = setTimeout(() => r(true), RELEASE_WAIT_MS);
    });
    const timedOut = await Promise.race([prev.then(() => false), late]);
    clearTimeout(timer);
    if (timedOut) {
      this.#o.logger.warn(
        this.#fields(),
        "compute: the previous reader with this since handle id has not released it; going on",
      );
    }
  }

  #failed(e: unknown): void {
    if (this.#abort.signal.aborted) return;
    this.error = (e as Error).message;
    if (e instanceof SinceViolation) {
      const inSnapshot = this.#position === undefined;
      this.#o.logger.warn(
        {
          ...this.#fields(),
          err: this.error,
          readTime: e.time.toString(),
          since: Frontier.toJSON(e.since),
          handleSince: this.#handle === undefined ? null : Frontier.toJSON(this.#handle.since),
        },
        inSnapshot
          ? "compute: source import stopped: the shard was compacted past the dataflow's as-of " +
              "before its snapshot was read (since violation) — the controller's read hold on the " +
              "shard was not at or below the as-of; the dataflow stalls until it is recreated"
          : "compute: source import stopped: the shard was compacted past this reader's position " +
              "(since violation) — its since handle did not hold it (lease lapsed or reader id " +
              "shared) and the controller's hold had moved beyond it; the dataflow stalls",
      );
      return;
    }
    this.#o.logger.warn({ ...this.#fields(), err: this.error }, "compute: source import stopped");
  }

  /** Downgrades to the position when it advanced, else heartbeats when due (timer). */
  #tick(): void {
    const handle = this.#handle;
    if (handle === undefined || this.#inFlight !== undefined || this.#abort.signal.aborted) return;
    const pos = this.#position;
    let target: Frontier | undefined;
    if (pos !== undefined && Frontier.lessThan(handle.since, pos)) target = pos;
    else {
      const heartbeatMs = this.#o.sinceHeartbeatIntervalMs ?? DEFAULT_SINCE_HEARTBEAT_INTERVAL_MS;
      if (Date.now() - this.#lastWriteMs >= heartbeatMs) target = handle.since;
    }
    if (target === undefined) return;
    const p = this.#downgrade(handle, Frontier.join(handle.since, target));
    this.#inFlight = p;
    void p.finally(() => {
      if (this.#inFlight === p) this.#inFlight = undefined;
    });
  }

  /** One downgrade (or heartbeat); never rejects. */
  async #downgrade(handle: SinceHandle, target: Frontier): Promise<void> {
    try {
      await handle.downgradeSince(target);
      this.#lastWriteMs = Date.now();
    } catch (e) {
      if (this.#abort.signal.aborted) return;
      const fields = { ...this.#fields(), target: Frontier.toJSON(target), err: e };
      if (e instanceof SinceBeyondUpper) {
        this.#o.logger.warn(fields, "compute: since downgrade beyond the shard's upper skipped");
      } else if (e instanceof ReaderExpired || e instanceof SinceRegression) {
        // Expired (lease lapsed) or moved by another holder of this id: register again.
        this.#o.logger.warn(fields, "compute: since handle lost; re-attaching");
        await this.#reattach();
      } else {
        this.#o.logger.warn(fields, "compute: since downgrade failed; retrying at the next tick");
      }
    }
  }

  async #reattach(): Promise<void> {
    const shard = this.#shard;
    if (shard === undefined) return;
    try {
      const handle = await shard.openSinceHandle(this.readerId);
      if (this.#abort.signal.aborted || this.#handle === undefined) {
        // Released meanwhile: do not leave the new registration behind.
        await handle.expire();
        return;
      }
      this.#handle = handle;
      this.#lastWriteMs = Date.now();
      const pos = this.#position ?? this.#o.feed.asOf;
      if (!Frontier.lessEqual(handle.since, pos)) {
        this.#o.logger.warn(
          {
            ...this.#fields(),
            handleSince: Frontier.toJSON(handle.since),
            position: pos.toString(),
          },
          "compute: re-attached since handle is beyond this reader's position; compaction may pass it",
        );
      }
    } catch (e) {
      if (!this.#abort.signal.aborted) {
        this.#o.logger.warn(
          { ...this.#fields(), err: e },
          "compute: re-attaching the since handle failed; retrying at the next tick",
        );
      }
    }
  }

  /** Stops the timer and expires the handle (best effort, after any downgrade in flight). */
  async #release(): Promise<void> {
    this.#stopTicks?.();
    this.#stopTicks = undefined;
    await this.#inFlight;
    const handle = this.#handle;
    this.#handle = undefined;
    if (handle === undefined) return;
    try {
      await handle.expire();
    } catch (e) {
      this.#o.logger.debug(
        { ...this.#fields(), err: e },
        "compute: expiring the source import's since handle failed; its lease will lapse",
      );
    }
  }

  get #key(): string {
    return `${this.shardId}\u0000${this.readerId}`;
  }

  #fields() {
    return { source: this.id, shard: this.shardId, reader: this.readerId };
  }

  #mine(updates: readonly Update[]): readonly Update[] {
    const { worker, workers } = this.#o;
    if (workers === 1) return updates;
    return updates.filter(([row]) => hashRow(row) % workers === worker);
  }

  /** Moves queued events into the dataflow. Returns true when it moved any. */
  pump(): boolean {
    if (this.#queue.length === 0) return false;
    const feed = this.#o.feed;
    for (const ev of this.#queue.splice(0, this.#queue.length)) {
      feed.send(ev.updates);
      feed.advance(ev.upper);
    }
    return true;
  }

  /**
   * Stops reading (the dataflow was dropped or the replica is closing). The returned promise
   * settles (never rejects) once the since handle is expired.
   */
  stop(): Promise<void> {
    this.#abort.abort();
    this.#queue.length = 0;
    const done = this.#done ?? Promise.resolve();
    const key = this.#key;
    releasing.set(key, done);
    void done.then(() => {
      if (releasing.get(key) === done) releasing.delete(key);
    });
    return done;
  }
}
