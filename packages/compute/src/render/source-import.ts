/**
 * `SourceReader`: a persist shard imported into a dataflow on one worker.
 *
 * ## Flow
 * 1. Open the shard; take `snapshot(asOf)` (waiting until the shard's upper passes asOf).
 * 2. Keep only this worker's partition (`hashRow(row) % W === worker`): every worker reads the
 *    shard and together they hold each update exactly once; keyed operators then exchange.
 * 3. `listen(asOf + 1)`: each event's updates (partitioned) and its upper, which becomes the
 *    input frontier (through `ImportFeed`: forwarded to asOf, closed at until).
 * The async reads only queue events; `pump()` moves them into the dataflow from the worker's
 * `step()`, so the graph is only touched between steps, never from a promise callback.
 *
 * A read error (shard dropped, since violation) stops the reader: the input frontier stays where
 * it is (the dataflow stalls; nothing wrong is produced) and the error is logged.
 */
import type { Shard } from "@mzts/persist";
import { type Frontier, hashRow, type Update } from "@mzts/repr";
import type { Logger } from "pino";
import type { ImportFeed } from "./import-feed.js";

/** Opens a persist shard by id (the worker's persist client). */
export type OpenShard = (shardId: string) => Promise<Shard>;

interface Event {
  readonly updates: readonly Update[];
  readonly upper: Frontier;
}

export interface SourceReaderOptions {
  readonly id: string;
  readonly shardId: string;
  readonly feed: ImportFeed;
  readonly worker: number;
  readonly workers: number;
  readonly openShard: OpenShard;
  readonly requestStep: () => void;
  readonly logger: Logger;
  readonly pollIntervalMs?: number;
}

export class SourceReader {
  readonly id: string;
  readonly shardId: string;
  readonly #o: SourceReaderOptions;
  /** Events read and not yet pumped into the dataflow, in order. */
  readonly #queue: Event[] = [];
  readonly #abort = new AbortController();
  /** The read error that stopped this reader, if any. */
  error: string | undefined;

  constructor(o: SourceReaderOptions) {
    this.id = o.id;
    this.shardId = o.shardId;
    this.#o = o;
  }

  /** Starts reading (async; events are queued for `pump()`). */
  start(): void {
    this.#run().catch((e: unknown) => {
      if (this.#abort.signal.aborted) return;
      this.error = (e as Error).message;
      this.#o.logger.warn(
        { source: this.id, shard: this.shardId, err: this.error },
        "compute: source import stopped",
      );
    });
  }

  async #run(): Promise<void> {
    const { feed, openShard, requestStep } = this.#o;
    const signal = this.#abort.signal;
    const shard = await openShard(this.shardId);
    if (signal.aborted) return;
    const snap = await shard.snapshot(feed.asOf, { wait: true, signal });
    if (signal.aborted) return;
    this.#queue.push({ updates: this.#mine(snap), upper: feed.asOf + 1n });
    requestStep();
    const listener = shard.listen(feed.asOf + 1n, {
      signal,
      ...(this.#o.pollIntervalMs === undefined ? {} : { pollIntervalMs: this.#o.pollIntervalMs }),
    });
    for await (const ev of listener) {
      if (signal.aborted) return;
      this.#queue.push({ updates: this.#mine(ev.updates), upper: ev.upper });
      requestStep();
      if (ev.upper === null) return;
    }
  }

  #mine(updates: readonly Update[]): Update[] {
    const { worker, workers } = this.#o;
    if (workers === 1) return updates.slice();
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

  /** Stops reading (the dataflow was dropped). */
  stop(): void {
    this.#abort.abort();
    this.#queue.length = 0;
  }
}
