/**
 * `createPersist` / `PersistClient`: opens the stores and hands out shard handles.
 *
 * By default the client owns an embedded store under `dataDir`:
 * ```
 * <dataDir>/consensus.sqlite (+ -wal, -shm)   shard states (SQLite, WAL, synchronous=FULL)
 * <dataDir>/blob/<shard>/<createdMs>-<rand>   batch blobs (files, fsync + rename)
 * ```
 * A caller may pass its own `consensus` (e.g. `createPostgresConsensus`) and/or `blob`; stores
 * the client created are closed by `close()`, stores passed in are left to their owner.
 *
 * ## dropShard(id)
 * Finalizes the shard — one compare-and-set to a tombstone state (upper = since = EMPTY, no
 * batches, no readers) — then deletes every blob under the shard's prefix and the consensus
 * history below the tombstone. The tombstone (one small row) stays so the id is never reused
 * by accident; handles of a dropped shard fail with `ShardDropped`. Idempotent.
 */
import { join } from "node:path";
import { type Logger, pino } from "pino";
import { Registry } from "prom-client";
import type { Blob } from "./blob/blob.js";
import { createFileBlob } from "./blob/fs.js";
import { deleteBlobs } from "./compaction.js";
import type { Consensus } from "./consensus/consensus.js";
import { createSqliteConsensus, type SqliteConsensusOptions } from "./consensus/sqlite.js";
import type { PersistTuning, ShardContext } from "./context.js";
import { InvalidShardId, PersistClosed, PersistError, ShardDropped } from "./errors.js";
import { ShardMachine } from "./machine.js";
import { createPersistMetrics, type PersistMetrics } from "./metrics.js";
import { Shard } from "./shard.js";
import { initialState } from "./state.js";

export interface PersistConfig extends Partial<PersistTuning> {
  /** Directory for the embedded stores; required unless both `consensus` and `blob` are given. */
  readonly dataDir?: string;
  /** Consensus to use instead of `<dataDir>/consensus.sqlite` (not closed by the client). */
  readonly consensus?: Consensus;
  /** Blob store to use instead of `<dataDir>/blob` (not closed by the client). */
  readonly blob?: Blob;
  /** SQLite options for the embedded consensus. */
  readonly sqlite?: SqliteConsensusOptions;
  /** Logger (default: silent). */
  readonly logger?: Logger;
  /** Metrics registry (default: a fresh `Registry`). */
  readonly registry?: Registry;
  /** Compare-and-set attempts before `ContentionExceeded` (default 100). */
  readonly maxAttempts?: number;
}

export interface OpenShardOptions {
  /** Create the shard if it does not exist (default false: `UnknownShard`). */
  readonly create?: boolean;
}

const SHARD_ID = /^[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}$/;

/** Default tuning; see `PersistTuning` for each knob. */
export const DEFAULT_TUNING: PersistTuning = {
  pollIntervalMs: 20,
  compactAfterBatches: 8,
  maxCompactBatches: 64,
  readerLeaseMs: 15 * 60_000,
  orphanGraceMs: 10 * 60_000,
  truncateEvery: 16,
  blobReadConcurrency: 8,
  now: () => Date.now(),
};

/**
 * Opens a persist client over the embedded stores under `config.dataDir` (or the given ones).
 * @throws PersistError (InvalidShardId never; StorageUnavailable / UnsupportedFormatVersion from
 * opening the stores; MetricsAlreadyRegistered when `config.registry` holds another client's
 * metrics; a plain PersistError when neither a dataDir nor both stores are given)
 */
export async function createPersist(config: PersistConfig): Promise<PersistClient> {
  const owned: Array<{ close(): Promise<void> }> = [];
  try {
    return openPersist(config, owned);
  } catch (e) {
    // A later step failed (e.g. the registry already holds persist's metrics): close what was
    // opened, or each failed attempt of a retrying caller leaks a SQLite handle and its writer.
    for (const store of owned.reverse()) await store.close().catch(() => {});
    throw e;
  }
}

function openPersist(
  config: PersistConfig,
  owned: Array<{ close(): Promise<void> }>,
): PersistClient {
  let consensus = config.consensus;
  let blob = config.blob;
  if (consensus === undefined || blob === undefined) {
    if (config.dataDir === undefined) {
      throw new PersistError(
        "createPersist needs a dataDir (for the embedded SQLite consensus and file blobs) or " +
          "both a consensus and a blob store; pass { dataDir }",
      );
    }
    if (consensus === undefined) {
      consensus = createSqliteConsensus(join(config.dataDir, "consensus.sqlite"), config.sqlite);
      owned.push(consensus);
    }
    if (blob === undefined) {
      blob = createFileBlob(join(config.dataDir, "blob"));
      owned.push(blob);
    }
  }
  const tuning: PersistTuning = {
    pollIntervalMs: config.pollIntervalMs ?? DEFAULT_TUNING.pollIntervalMs,
    compactAfterBatches: Math.max(
      2,
      config.compactAfterBatches ?? DEFAULT_TUNING.compactAfterBatches,
    ),
    maxCompactBatches: Math.max(2, config.maxCompactBatches ?? DEFAULT_TUNING.maxCompactBatches),
    readerLeaseMs: config.readerLeaseMs ?? DEFAULT_TUNING.readerLeaseMs,
    orphanGraceMs: config.orphanGraceMs ?? DEFAULT_TUNING.orphanGraceMs,
    truncateEvery: Math.max(1, config.truncateEvery ?? DEFAULT_TUNING.truncateEvery),
    blobReadConcurrency: Math.max(
      1,
      config.blobReadConcurrency ?? DEFAULT_TUNING.blobReadConcurrency,
    ),
    now: config.now ?? DEFAULT_TUNING.now,
  };
  const logger = config.logger ?? pino({ level: "silent" });
  const registry = config.registry ?? new Registry();
  const metrics = createPersistMetrics(registry);
  logger.info({ consensus: consensus.location, blob: blob.location }, "persist: client opened");
  return new PersistClient({
    consensus,
    blob,
    owned,
    logger,
    registry,
    metrics,
    tuning,
    maxAttempts: config.maxAttempts ?? 100,
  });
}

interface ClientDeps {
  readonly consensus: Consensus;
  readonly blob: Blob;
  readonly owned: ReadonlyArray<{ close(): Promise<void> }>;
  readonly logger: Logger;
  readonly registry: Registry;
  readonly metrics: PersistMetrics;
  readonly tuning: PersistTuning;
  readonly maxAttempts: number;
}

export class PersistClient {
  readonly #deps: ClientDeps;
  /** One machine (state cache) per shard id, shared by every handle of this client. */
  readonly #machines = new Map<string, ShardMachine>();
  #closed = false;

  /** @internal use `createPersist` */
  constructor(deps: ClientDeps) {
    this.#deps = deps;
  }

  /** The metrics registry (scrape it with `registry.metrics()`). */
  get registry(): Registry {
    return this.#deps.registry;
  }

  get consensus(): Consensus {
    return this.#deps.consensus;
  }

  get blob(): Blob {
    return this.#deps.blob;
  }

  /**
   * Opens shard `shardId`, creating it (upper = since = 0) when `create` is set.
   * @throws UnknownShard (missing, without create), ShardDropped, InvalidShardId, CorruptBlob,
   * UnsupportedFormatVersion, StorageUnavailable, PersistClosed
   */
  async openShard(shardId: string, options: OpenShardOptions = {}): Promise<Shard> {
    const ctx = this.#context(shardId);
    const head =
      options.create === true
        ? await ((await ctx.machine.fetchMaybe()) ??
            ctx.machine.create(initialState(shardId, ctx.tuning.now())))
        : await ctx.machine.fetch();
    if (head.state.dropped) throw new ShardDropped(shardId);
    this.#deps.metrics.cmd.inc({ cmd: "open_shard", outcome: "ok" });
    return new Shard(ctx);
  }

  /** Ids of every shard with state in consensus (dropped shards included, as tombstones). */
  async listShards(): Promise<string[]> {
    this.#check();
    return (await this.#deps.consensus.listKeys()).sort();
  }

  /**
   * Drops the shard and deletes its data (see the file comment). Idempotent; a shard that never
   * existed is a no-op.
   * @throws InvalidShardId, ContentionExceeded, StorageUnavailable, PersistClosed
   */
  async dropShard(shardId: string): Promise<void> {
    const ctx = this.#context(shardId);
    if ((await ctx.machine.fetchMaybe()) === undefined) return;
    const out = await ctx.machine.apply("drop_shard", (s) =>
      s.dropped
        ? { result: undefined }
        : {
            write: {
              ...s,
              upper: null,
              since: null,
              batches: [],
              readers: {},
              dropped: true,
            },
            result: undefined,
          },
    );
    const keys = await this.#deps.blob.list(`${shardId}/`);
    await deleteBlobs(ctx, keys);
    await this.#deps.blob.sweepTempFiles?.(0, `${shardId}/`);
    await ctx.machine.truncate(out.seqNo);
    this.#deps.metrics.cmd.inc({ cmd: "drop_shard", outcome: "ok" });
    this.#deps.logger.info({ shard: shardId, blobs: keys.length }, "persist: dropped shard");
  }

  /** Closes the stores this client opened. Handles fail with `PersistClosed` afterwards. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const s of this.#deps.owned) await s.close();
  }

  #check(): void {
    if (this.#closed) throw new PersistClosed("persist client");
  }

  #context(shardId: string): ShardContext {
    this.#check();
    if (typeof shardId !== "string" || !SHARD_ID.test(shardId)) throw new InvalidShardId(shardId);
    let machine = this.#machines.get(shardId);
    if (machine === undefined) {
      machine = new ShardMachine(shardId, {
        consensus: this.#deps.consensus,
        metrics: this.#deps.metrics,
        logger: this.#deps.logger,
        truncateEvery: this.#deps.tuning.truncateEvery,
        maxAttempts: this.#deps.maxAttempts,
      });
      this.#machines.set(shardId, machine);
    }
    return {
      machine,
      blob: this.#deps.blob,
      metrics: this.#deps.metrics,
      logger: this.#deps.logger,
      tuning: this.#deps.tuning,
    };
  }
}
