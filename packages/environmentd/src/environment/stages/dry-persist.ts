/**
 * Dry since handles for the shadow controller of a `state` migration stage: one owner per since
 * handle, so the shadow never opens, downgrades or expires a persist since handle. It is handed
 * the durable sinces the authoritative controller's `openShards` returned (`seed`) and keeps its
 * own since per shard in memory, as persist would (never back).
 *
 * - `drySinceHandleIo` — a unified shadow's `SinceHandleIo`.
 * - `dryPersist` — a legacy shadow's persist client for its own `PersistReadHolds`: shards whose
 *   since handles are the dry ones above, whose upper is read from the real shard (read only:
 *   the policy hold trails it, as the authoritative's does; none given: `Frontier.MIN`) and
 *   whose maintenance does nothing.
 *
 * ## Invariants
 * - No write of any kind reaches persist through these.
 * - A shard not seeded opens at `Frontier.MIN` (the authoritative opened it first, so this only
 *   happens when its `openShards` failed, and then the shadow's is compared as it is).
 */
import type { SinceHandleIo } from "@mzts/controller-unified/state";
import type { PersistClient } from "@mzts/persist";
import { Frontier } from "@mzts/repr";
import type { ShardUpperSource } from "../shards.js";

/** In-memory sinces per shard, seeded with the authoritative's durable ones. */
export class DrySinces {
  readonly #sinces = new Map<string, Frontier>();

  /** The durable since the authoritative controller opened `shardId` at. */
  seed(shardId: string, since: Frontier): void {
    if (!this.#sinces.has(shardId)) this.#sinces.set(shardId, since);
  }

  since(shardId: string): Frontier {
    return this.#sinces.get(shardId) ?? Frontier.MIN;
  }

  downgrade(shardId: string, since: Frontier): Frontier {
    const next = Frontier.join(this.since(shardId), since);
    this.#sinces.set(shardId, next);
    return next;
  }

  expire(shardId: string): void {
    this.#sinces.delete(shardId);
  }
}

/** A unified shadow's since-handle I/O (no persist at all). */
export function drySinceHandleIo(sinces: DrySinces): SinceHandleIo {
  return {
    open: async (shardId) => sinces.since(shardId),
    downgrade: async (shardId, since) => sinces.downgrade(shardId, since),
    expire: async (shardId) => sinces.expire(shardId),
  };
}

/**
 * A legacy shadow's persist client (`PersistReadHolds` takes a `PersistClient`; only the slice
 * it uses exists: `openShard` → `openSinceHandle`, `upper`, `maintenance`).
 */
export function dryPersist(sinces: DrySinces, uppers: ShardUpperSource | undefined): PersistClient {
  // One real shard per id (opened once, read only), as `PersistReadHolds` keeps its own.
  const real = new Map<string, Promise<{ upper(): Promise<Frontier> }>>();
  const upperOf = async (shardId: string): Promise<Frontier> => {
    if (uppers === undefined) return Frontier.MIN;
    let shard = real.get(shardId);
    if (shard === undefined) {
      shard = uppers.openShard(shardId, { create: false });
      real.set(shardId, shard);
      shard.catch(() => real.delete(shardId));
    }
    return (await shard).upper();
  };
  const client = {
    async openShard(shardId: string) {
      return {
        async openSinceHandle() {
          return {
            get since() {
              return sinces.since(shardId);
            },
            async downgradeSince(since: Frontier) {
              sinces.downgrade(shardId, since);
            },
            async expire() {
              sinces.expire(shardId);
              real.delete(shardId);
            },
          };
        },
        upper: () => upperOf(shardId),
        maintenance: async () => ({
          expiredReaders: [],
          mergedBatches: 0,
          deletedBlobs: 0,
          truncatedEntries: 0,
        }),
      };
    },
  };
  return client as unknown as PersistClient;
}
