/**
 * Shard garbage collection: a persist shard that no catalog object references (nor is derived
 * from one, like an ingestion's `<shard>-clock` anchor), with no reader and the same upper for
 * `confirmMs`, is dropped and its blobs deleted — so dropping a source or view frees its disk.
 *
 * ## Invariants
 * - A pass runs in the DDL queue (a shard is in the catalog before it is created): soon after
 *   boot (one second, or the interval if shorter), every `intervalMs`, and on demand
 *   (`collectOrphanShards`).
 * - A shard is dropped only once it was seen orphaned, unread and with the same upper at passes
 *   at least `confirmMs` apart (`orphanVerdict`): a replica still finishing its drop (writing) or
 *   reading it keeps it. The sightings survive restarts (`OrphanSightings`, on disk), so an
 *   environmentd restarted more often than the interval still collects. Readers whose lease
 *   lapsed (a crashed replica's) are expired first (`maintenance()`).
 * - Shards that vanished or are referenced again are forgotten; a tombstone is skipped.
 * - environmentd's own shards are never garbage: the persisted introspection collections
 *   (`introspection/persisted-relations.ts`), which no catalog object references.
 */
import { type PersistClient, ShardDropped } from "@mzts/persist";
import type { Frontier } from "@mzts/repr";
import type { Logger } from "pino";
import type { Catalog } from "../catalog/catalog.js";
import { isPersistedIntrospectionShard } from "../introspection/persisted-relations.js";
import { OrphanSightings, orphanVerdict } from "./orphan-sightings.js";

export interface ShardGcOptions {
  readonly catalog: Catalog;
  readonly persist: PersistClient;
  readonly log: Logger;
  /** Where the orphan sightings are kept across restarts (`<dataDir>/shard-gc.json`). */
  readonly sightingsPath: string;
  /** How long an orphan must stay unread and unchanged before it is dropped (ms). */
  readonly confirmMs: number;
}

/** Orphaned-shard collection (see the file comment). */
export class ShardGc {
  readonly #o: ShardGcOptions;
  /** Orphaned shards seen by earlier passes, this boot's or a previous one's. */
  readonly #sightings: OrphanSightings;
  #timer: NodeJS.Timeout | undefined;
  #first: NodeJS.Timeout | undefined;

  constructor(opts: ShardGcOptions) {
    this.#o = opts;
    this.#sightings = new OrphanSightings(opts.sightingsPath, opts.log);
  }

  /**
   * Runs `pass` soon after boot and every `intervalMs` (0 = never); failures are logged and
   * retried next time.
   */
  start(intervalMs: number, pass: () => Promise<number>): void {
    if (intervalMs <= 0) return;
    const run = () => {
      pass().catch((e: unknown) =>
        this.#o.log.warn({ err: e }, "shard garbage collection failed; retrying next time"),
      );
    };
    // The first pass soon after boot: an environmentd restarted more often than the interval
    // would otherwise never collect anything.
    this.#timer = setInterval(run, intervalMs);
    this.#first = setTimeout(run, Math.min(intervalMs, 1000));
    this.#timer.unref();
    this.#first.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
    clearTimeout(this.#first);
  }

  /** One pass; returns how many shards were dropped. Run it in the DDL queue. */
  async collect(): Promise<number> {
    const { persist, log } = this.#o;
    const sightings = this.#sightings;
    const snap = await this.#o.catalog.snapshot();
    const referenced = new Set<string>();
    for (const item of snap.items) {
      if (item.kind === "source") for (const e of item.exports) referenced.add(e.shardId);
      else if (item.kind === "materialized-view") referenced.add(item.shardId);
    }
    let dropped = 0;
    const seen = new Set<string>();
    for (const shardId of await persist.listShards()) {
      if (referenced.has(shardId) || isPersistedIntrospectionShard(shardId)) continue;
      // Shards derived from a referenced one (`<shard>-<suffix>`) belong to its object.
      const dash = shardId.lastIndexOf("-");
      if (dash > 0 && referenced.has(shardId.slice(0, dash))) continue;
      let upper: Frontier;
      let readers: number;
      try {
        const shard = await persist.openShard(shardId);
        await shard.maintenance(); // expires readers whose lease lapsed (e.g. a crashed replica's)
        const info = await shard.info();
        upper = info.upper;
        readers = Object.keys(info.readers).length;
      } catch (e) {
        if (e instanceof ShardDropped) continue; // a tombstone
        throw e;
      }
      seen.add(shardId);
      const now = Date.now();
      // Still read, first seen, or still written (a replica finishing its drop): a later pass.
      const verdict = orphanVerdict(sightings.get(shardId), readers, upper, now, this.#o.confirmMs);
      sightings.see(shardId, upper, now);
      if (verdict === "wait") continue;
      await persist.dropShard(shardId);
      sightings.forget(shardId);
      dropped++;
      log.info(
        { shard: shardId },
        "dropped an orphaned shard (no catalog object, reader or writer)",
      );
    }
    sightings.retainOnly(seen);
    sightings.save();
    return dropped;
  }
}
