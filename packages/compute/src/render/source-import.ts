/**
 * `SourceReader`: a persist shard imported into a dataflow on one worker. The shard's since is
 * held at its read position by the worker's one since handle of the shard (`ShardSinceHolds`,
 * Materialize's leased reader shared by every reader of the shard in the worker).
 *
 * ## Flow
 * 1. `start()` joins the worker's hold of the shard at the as-of (`SinceLease`) and waits until
 *    the hold's handle is at or below it: an existing handle already there, or a (re-)registration
 *    at the shard's since, which the controller holds at or below the as-of while the replica
 *    builds the dataflow. From here the hold keeps the shard's since at or below this reader's
 *    position, so the controller may compact the shard up to the fastest replica without pulling
 *    data from under a lagging one.
 * 2. Take `snapshot(asOf)` (waiting until the shard's upper passes asOf).
 * 3. Keep only this worker's partition (`hashRow(row) % W === worker`): every worker reads the
 *    shard and together they hold each update exactly once; keyed operators then exchange.
 * 4. The updates from `asOf + 1` on, through the worker's one listener of the shard
 *    (`ShardListeners`: partitioned once, fanned out to every reader of the shard): each event's
 *    updates and its upper, which becomes the input frontier (through `ImportFeed`: forwarded to
 *    asOf, closed at until). The lease follows the position read so far (asOf + 1 after the
 *    snapshot, then each consumed event's upper); the hold downgrades its handle to the least
 *    lease on its tick (`ShardSinceHolds`).
 * 5. When reading ends (dataflow dropped, replica closing, shard closed, read error), the lease
 *    is released; the last lease of the shard expires the handle (best effort). On a crash the
 *    handle stays until the restarted replica re-attaches (deterministic ids) or its lease lapses.
 * The async reads only queue events; `pump()` moves them into the dataflow from the worker's
 * `step()`, so the graph is only touched between steps, never from a promise callback.
 *
 * A read error (shard dropped, since violation, storage failure) stops the reader for good (but
 * opening the shard is retried while the store is unavailable: nothing was read yet): the
 * input frontier stays where it is (the dataflow stalls; nothing wrong is produced). The reader
 * logs it and reports it as a `SourceImportFailure` (`failure`, and `onFailed`, through which the
 * worker marks the dataflow stalled on every worker), so a peek that would wait on the stalled
 * frontier is answered with an error naming the source, the shard and what to do next instead of
 * waiting until its timeout (Materialize answers peeks of a dataflow in error with
 * `PeekResponse::Error`).
 */
import { type Shard, SinceViolation } from "@mzts/persist";
import { Frontier, type GlobalId, hashRow, type Timestamp, type Update } from "@mzts/repr";
import type { Logger } from "pino";
import type { ImportFeed } from "./import-feed.js";
import { retryWhileUnavailable } from "./retry-unavailable.js";
import type { ShardListeners } from "./shard-listeners.js";
import type { ShardSinceHolds, SinceLease } from "./shard-since-holds.js";

/**
 * Why a source import stopped for good: the dataflow's frontier no longer moves, so its peeks at
 * or beyond that frontier are answered with `message` (a plain object: it is sent to the other
 * workers, whose part of the dataflow stalls with it).
 */
export interface SourceImportFailure {
  /** The import's id (the source collection). */
  readonly source: GlobalId;
  readonly shard: string;
  /** The worker whose reader stopped. */
  readonly worker: number;
  /** `sinceViolation`: the shard was compacted past what the reader still had to read. */
  readonly kind: "sinceViolation" | "readFailed";
  /** What happened and what to do next. */
  readonly message: string;
}

/** What to do about a stalled dataflow (the end of every `SourceImportFailure` message). */
const RECOVERY =
  "the dataflow cannot advance past it; drop and recreate the objects built on this source " +
  "(or restart the replica) so the controller rebuilds them at an as-of it holds";

/** The failure report of a reader stopped by `e` (`snapshotRead`: it had read its snapshot). */
export function sourceImportFailure(
  source: GlobalId,
  shard: string,
  worker: number,
  e: unknown,
  at: { readonly asOf: Timestamp; readonly snapshotRead: boolean },
): SourceImportFailure {
  const where = `source ${source} (shard ${shard}) stopped on worker ${worker}`;
  if (e instanceof SinceViolation) {
    const why = at.snapshotRead
      ? `since violation: the shard was compacted to ${Frontier.format(e.since)}, past this ` +
        `worker's read position ${e.time} (its since handle did not hold the shard)`
      : `since violation: the shard was compacted to ${Frontier.format(e.since)}, past the ` +
        `dataflow's as-of ${at.asOf}, before its snapshot was read (the controller's read hold ` +
        "on the shard was not at or below the as-of)";
    return {
      source,
      shard,
      worker,
      kind: "sinceViolation",
      message: `${where}: ${why}; ${RECOVERY}`,
    };
  }
  const err = e instanceof Error ? e.message : String(e);
  return {
    source,
    shard,
    worker,
    kind: "readFailed",
    message: `${where}: reading the shard failed: ${err}; ${RECOVERY}`,
  };
}

/** Opens a persist shard by id (the worker's persist client). */
export type OpenShard = (shardId: string) => Promise<Shard>;

export interface SourceReaderOptions {
  readonly id: string;
  readonly shardId: string;
  readonly feed: ImportFeed;
  readonly worker: number;
  readonly workers: number;
  readonly openShard: OpenShard;
  /** The worker's shared listeners: the updates after the snapshot come from there. */
  readonly listeners: ShardListeners;
  /** The worker's since holds: one handle per shard, at the least position of its readers. */
  readonly holds: ShardSinceHolds;
  readonly requestStep: () => void;
  readonly logger: Logger;
  /** The reader stopped for good (after `failure` is set; at most once). */
  readonly onFailed?: (failure: SourceImportFailure) => void;
}

export class SourceReader {
  readonly id: string;
  readonly shardId: string;
  readonly #o: SourceReaderOptions;
  /**
   * Events read and not yet pumped into the dataflow, in order: each one's updates (read-only,
   * possibly shared with other readers of the shard) and upper, in the first `#n` slots
   * (parallel arrays written by index and never shrunk: nothing is allocated per event and
   * reader; emptying an array with `length = 0` would drop its backing store every tick).
   */
  readonly #queued: Array<readonly Update[] | undefined> = [];
  readonly #uppers: Frontier[] = [];
  #n = 0;
  readonly #abort = new AbortController();
  /** The read error that stopped this reader, if any. */
  error: string | undefined;
  /** Why this reader stopped for good, if it did (see `SourceImportFailure`). */
  failure: SourceImportFailure | undefined;
  /** This reader's place in the worker's hold of the shard; set by `start()`. */
  #lease: SinceLease | undefined;
  /** Whether the snapshot was read (the position is past the as-of). */
  #snapshotRead = false;
  /** Settles when reading has ended and the lease is released; set by `start()`. */
  #done: Promise<void> | undefined;

  constructor(o: SourceReaderOptions) {
    this.id = o.id;
    this.shardId = o.shardId;
    this.#o = o;
  }

  /** The since of the shard's hold in this worker, or undefined while it has no handle. */
  get handleSince(): Frontier | undefined {
    return this.#lease?.handleSince;
  }

  /** The id of the hold's since handle, or undefined while it has none. */
  get readerId(): string | undefined {
    return this.#lease?.readerId;
  }

  /** Starts reading (async; events are queued for `pump()`). */
  start(): void {
    if (this.#done !== undefined) return;
    this.#lease = this.#o.holds.join(this.shardId, this.#o.feed.asOf);
    this.#done = this.#run()
      .catch((e: unknown) => this.#failed(e))
      .then(() => this.#lease?.release());
  }

  async #run(): Promise<void> {
    const { feed, openShard, requestStep } = this.#o;
    const lease = this.#lease!;
    const signal = this.#abort.signal;
    // Opening is retried while the store is unavailable (nothing was read yet).
    const shard = await retryWhileUnavailable(
      () => openShard(this.shardId),
      signal,
      (e, ms) =>
        this.#o.logger.warn(
          { ...this.#fields(), err: e.message, retryInMs: ms },
          "compute: opening a source import's shard failed (storage unavailable); retrying",
        ),
    );
    if (shard === undefined || signal.aborted) return;
    await lease.ready;
    if (signal.aborted) return;
    const snap = await shard.snapshot(feed.asOf, { wait: true, signal });
    if (signal.aborted) return;
    this.#enqueue(this.#mine(snap), feed.asOf + 1n);
    this.#snapshotRead = true;
    lease.advance(feed.asOf + 1n);
    requestStep();
    // The worker's shared listener of the shard from asOf + 1 (`ShardListeners`).
    await new Promise<void>((resolve, reject) => {
      const unsubscribe = this.#o.listeners.subscribe(this.shardId, feed.asOf + 1n, {
        event: (updates, upper) => {
          if (signal.aborted) return;
          this.#enqueue(updates, upper);
          requestStep();
          if (upper === null) resolve();
          else lease.advance(upper);
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

  #failed(e: unknown): void {
    if (this.#abort.signal.aborted) return;
    this.error = e instanceof Error ? e.message : String(e);
    this.#report(e);
    if (e instanceof SinceViolation) {
      const since = this.handleSince;
      this.#o.logger.warn(
        {
          ...this.#fields(),
          err: this.error,
          readTime: e.time.toString(),
          since: Frontier.toJSON(e.since),
          handleSince: since === undefined ? null : Frontier.toJSON(since),
        },
        this.#snapshotRead
          ? "compute: source import stopped: the shard was compacted past this reader's position " +
              "(since violation) — the worker's since handle of the shard did not hold it (lease " +
              "lapsed or reader id shared) and the controller's hold had moved beyond it; the " +
              "dataflow stalls"
          : "compute: source import stopped: the shard was compacted past the dataflow's as-of " +
              "before its snapshot was read (since violation) — the controller's read hold on the " +
              "shard was not at or below the as-of; the dataflow stalls until it is recreated",
      );
      return;
    }
    this.#o.logger.warn({ ...this.#fields(), err: this.error }, "compute: source import stopped");
  }

  /** Sets `failure`, tells the worker, and asks for a step (pending peeks look again). */
  #report(e: unknown): void {
    const { id, shardId, worker, feed, onFailed, requestStep, logger } = this.#o;
    this.failure = sourceImportFailure(id, shardId, worker, e, {
      asOf: feed.asOf,
      snapshotRead: this.#snapshotRead,
    });
    try {
      onFailed?.(this.failure);
    } catch (err) {
      logger.error({ ...this.#fields(), err }, "compute: reporting a stopped source import failed");
    }
    requestStep();
  }

  #fields() {
    return { source: this.id, shard: this.shardId, reader: this.readerId ?? null };
  }

  #mine(updates: readonly Update[]): readonly Update[] {
    const { worker, workers } = this.#o;
    if (workers === 1) return updates;
    return updates.filter(([row]) => hashRow(row) % workers === worker);
  }

  #enqueue(updates: readonly Update[], upper: Frontier): void {
    const n = this.#n++;
    this.#queued[n] = updates;
    this.#uppers[n] = upper;
  }

  /** Moves queued events into the dataflow. Returns true when it moved any. */
  pump(): boolean {
    const n = this.#n;
    if (n === 0) return false;
    const queued = this.#queued;
    const uppers = this.#uppers;
    const feed = this.#o.feed;
    // Events only queue from the async reads, never while this runs.
    this.#n = 0;
    for (let i = 0; i < n; i++) {
      const updates = queued[i]!;
      queued[i] = undefined;
      feed.sendShared(updates);
      feed.advance(uppers[i]!);
    }
    return true;
  }

  /**
   * Stops reading (the dataflow was dropped or the replica is closing). The returned promise
   * settles (never rejects) once the lease is released: when it was the shard's last in this
   * worker, once the since handle is expired.
   */
  stop(): Promise<void> {
    this.#abort.abort();
    this.#queued.length = 0;
    this.#uppers.length = 0;
    this.#n = 0;
    return this.#done ?? Promise.resolve();
  }
}
