/**
 * The persist I/O of a unified cluster controller's since handles, injected: the driver
 * (`unified-cluster-controller.ts`) asks it to open, downgrade (or heartbeat) and expire the
 * controller's critical since handle on a shard, and confirms the outcome to its `ClusterState`
 * (`sinceSettled` / `sinceFailed`). Tests pass an in-memory implementation; environmentd passes
 * `persistSinceHandleIo(persistClient, readerId)` — written over a structural slice of
 * `@mzts/persist`'s client so this package keeps depending on nothing but the protocol.
 *
 * ## Contract
 * - `open(shardId)` opens (or re-attaches, after a restart) the handle and resolves with its
 *   durable since. Idempotent per shard.
 * - `downgrade(shardId, since)` resolves with the handle's durable since afterwards (persist may
 *   keep it lower than asked, never higher); a downgrade to the current since is a heartbeat.
 *   A lapsed lease (`ReaderExpired`) re-opens the handle and downgrades the new one.
 * - `expire(shardId)` releases the handle (the collection was dropped); the shard is then free to
 *   compact. Any rejection is retried by the driver's next tick (downgrades) or logged (expiries).
 */
import { Frontier } from "@mzts/repr";

/** What the driver needs of persist for its since handles (see the file comment). */
export interface SinceHandleIo {
  open(shardId: string): Promise<Frontier>;
  downgrade(shardId: string, since: Frontier): Promise<Frontier>;
  expire(shardId: string): Promise<void>;
}

/** The slice of `@mzts/persist`'s `SinceHandle` used here. */
export interface PersistSinceHandleLike {
  readonly since: Frontier;
  downgradeSince(since: Frontier): Promise<unknown>;
  expire(): Promise<unknown>;
}

/** The slice of `@mzts/persist`'s `PersistClient` used here. */
export interface PersistClientLike {
  openShard(
    shardId: string,
    options: { readonly create: boolean },
  ): Promise<{ openSinceHandle(readerId: string): Promise<PersistSinceHandleLike> }>;
}

/** `SinceHandleIo` over a persist client, holding one handle per shard as `readerId`. */
export function persistSinceHandleIo(persist: PersistClientLike, readerId: string): SinceHandleIo {
  const handles = new Map<string, Promise<PersistSinceHandleLike>>();
  const reopen = (shardId: string) => {
    const h = persist
      .openShard(shardId, { create: true })
      .then((shard) => shard.openSinceHandle(readerId));
    handles.set(shardId, h);
    h.catch(() => handles.delete(shardId));
    return h;
  };
  const handle = (shardId: string) => handles.get(shardId) ?? reopen(shardId);
  return {
    open: async (shardId) => (await handle(shardId)).since,
    async downgrade(shardId, since) {
      let h = await handle(shardId);
      try {
        await h.downgradeSince(since);
      } catch (e) {
        if ((e as Error | undefined)?.name !== "ReaderExpired") throw e;
        h = await reopen(shardId);
        if (Frontier.lessThan(h.since, since)) await h.downgradeSince(since);
      }
      return h.since;
    },
    async expire(shardId) {
      const h = handles.get(shardId);
      handles.delete(shardId);
      if (h !== undefined) await (await h).expire();
    },
  };
}
