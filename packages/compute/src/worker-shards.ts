/**
 * `WorkerShards`: one worker's persist client, opened on first use — the shards its source
 * imports and persist sinks read and write — and the answer to a peek of a persist shard (the
 * snapshot at the peek's time, waiting for the upper to pass it, through the peek's finishing).
 */
import { createPersist, type PersistClient, type Shard } from "@mzts/persist";
import type { Peek, PeekResponse } from "@mzts/protocol";
import type { ComputeConfig } from "./config.js";
import { finishPart } from "./peek/peek.js";

export class WorkerShards {
  readonly #config: ComputeConfig;
  #client: Promise<PersistClient> | undefined;

  constructor(config: ComputeConfig) {
    this.#config = config;
  }

  /** Opens (creating if needed) a shard. */
  open(shardId: string): Promise<Shard> {
    this.#client ??= createPersist({
      dataDir: this.#config.dataDir,
      ...(this.#config.pollIntervalMs === undefined
        ? {}
        : { pollIntervalMs: this.#config.pollIntervalMs }),
    });
    return this.#client.then((p) => p.openShard(shardId, { create: true }));
  }

  /** This worker's answer to a peek of `shardId` (a read error becomes the peek's error). */
  peek(peek: Peek, shardId: string): Promise<PeekResponse> {
    return this.open(shardId)
      .then((shard) => shard.snapshot(peek.timestamp, { wait: true }))
      .then(
        (updates) =>
          finishPart(
            peek,
            updates.map(([row, , n]) => [row, n] as const),
          ),
        (e: unknown) => ({ kind: "error", message: (e as Error).message }) as const,
      );
  }

  /** Closes the client, if it was opened (never rejects). */
  async close(): Promise<void> {
    const p = this.#client;
    this.#client = undefined;
    if (p) await p.then((c) => c.close()).catch(() => {});
  }
}
