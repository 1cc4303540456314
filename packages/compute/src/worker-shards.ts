/**
 * `WorkerShards`: one worker's side of persist — its client, opened on first use (the shards its
 * source imports and persist sinks read and write); the shard listeners and since holds its
 * source readers share (one of each per shard, whatever the number of dataflows reading it);
 * and the answer to a peek of a persist shard (the snapshot at the peek's time, waiting for the
 * upper to pass it, through the peek's finishing).
 *
 * A persist peek's wait is tied to the peek: `cancelPeek` (the controller canceled it),
 * `cancelPeeks` (a reconnecting controller's reconciliation forgets every pending peek) and
 * `close` abort it, so a peek whose shard's upper never reaches its time holds nothing past its
 * end (before, the snapshot polled the shard for the life of the worker).
 */
import { randomUUID } from "node:crypto";
import { createPersist, type PersistClient, type Shard } from "@mzts/persist";
import type { Peek, PeekResponse } from "@mzts/protocol";
import type { Logger } from "pino";
import type { ComputeConfig } from "./config.js";
import { finishPart } from "./peek/peek.js";
import { ShardListeners } from "./render/shard-listeners.js";
import { ShardSinceHolds } from "./render/shard-since-holds.js";

export class WorkerShards {
  readonly #config: ComputeConfig;
  #client: Promise<PersistClient> | undefined;
  /** The persist peeks in flight, by uuid: aborting one ends its snapshot's wait. */
  readonly #peeks = new Map<string, AbortController>();
  /** One persist listener per shard, shared by the source readers of every dataflow. */
  readonly listeners: ShardListeners;
  /** One since handle per source shard, at the least position of its readers. */
  readonly holds: ShardSinceHolds;

  constructor(worker: number, workers: number, config: ComputeConfig, logger: Logger) {
    this.#config = config;
    const openShard = (shardId: string) => this.open(shardId);
    this.listeners = new ShardListeners({
      worker,
      workers,
      openShard,
      logger,
      ...(config.pollIntervalMs === undefined ? {} : { pollIntervalMs: config.pollIntervalMs }),
    });
    // This replica's identity in the since handle ids (configured, else random).
    const replicaId = config.replicaId ?? `anon-${randomUUID().slice(0, 8)}`;
    this.holds = new ShardSinceHolds({
      replicaId,
      worker,
      openShard,
      logger,
      ...(config.sinceDowngradeIntervalMs === undefined
        ? {}
        : { downgradeIntervalMs: config.sinceDowngradeIntervalMs }),
    });
    if (config.replicaId === undefined && worker === 0) {
      logger.warn(
        { readerPrefix: `compute:${replicaId}` },
        "compute: no replicaId configured; source readers use random since handle ids, so a " +
          "restarted replica cannot re-attach and a crash leaves registrations until their lease lapses",
      );
    }
  }

  /**
   * Opens (creating if needed) a shard. The client is opened on first use; an open that failed
   * (e.g. the store was unavailable) is not kept, so the next call tries again.
   */
  open(shardId: string): Promise<Shard> {
    if (this.#client === undefined) {
      const client = createPersist({
        dataDir: this.#config.dataDir,
        ...(this.#config.pollIntervalMs === undefined
          ? {}
          : { pollIntervalMs: this.#config.pollIntervalMs }),
      });
      this.#client = client;
      client.catch(() => {
        if (this.#client === client) this.#client = undefined;
      });
    }
    return this.#client.then((p) => p.openShard(shardId, { create: true }));
  }

  /**
   * This worker's answer to a peek of `shardId` (a read error becomes the peek's error). The
   * wait for the shard's upper ends when the peek is canceled (`cancelPeek`, `cancelPeeks`,
   * `close`); the answer is then a `WaitAborted` error, which the caller drops.
   */
  peek(peek: Peek, shardId: string): Promise<PeekResponse> {
    const abort = new AbortController();
    this.#peeks.get(peek.uuid)?.abort();
    this.#peeks.set(peek.uuid, abort);
    const { signal } = abort;
    return this.open(shardId)
      .then((shard) => shard.snapshot(peek.timestamp, { wait: true, signal }))
      .then(
        (updates) =>
          finishPart(
            peek,
            updates.map(([row, , n]) => [row, n] as const),
          ),
        (e: unknown) => ({ kind: "error", message: (e as Error).message }) as const,
      )
      .finally(() => {
        if (this.#peeks.get(peek.uuid) === abort) this.#peeks.delete(peek.uuid);
      });
  }

  /** Ends the wait of persist peek `uuid`, if it is in flight (its answer is to be dropped). */
  cancelPeek(uuid: string): void {
    const abort = this.#peeks.get(uuid);
    if (abort === undefined) return;
    this.#peeks.delete(uuid);
    abort.abort();
  }

  /** Ends the wait of every persist peek in flight. */
  cancelPeeks(): void {
    const all = [...this.#peeks.values()];
    this.#peeks.clear();
    for (const abort of all) abort.abort();
  }

  /** Persist peeks in flight (waiting for their shard or reading it). */
  get pendingPeeks(): number {
    return this.#peeks.size;
  }

  /** Ends the persist peeks in flight and closes the client, if it was opened (never rejects). */
  async close(): Promise<void> {
    this.cancelPeeks();
    const p = this.#client;
    this.#client = undefined;
    if (p) await p.then((c) => c.close()).catch(() => {});
  }
}
