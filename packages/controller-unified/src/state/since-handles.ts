/**
 * The controller's persist since handles, as bookkeeping: for every shard-backed collection
 * (`sourceExport`, `materializedView`) what its handle's durable since is, whether a downgrade is
 * in flight, and when it was last written. The handles themselves (persist I/O) belong to the
 * driver; this file decides, and the maintenance tick (`maintenance.ts`) asks it.
 *
 * The since the handle is downgraded to is the collection's since from the one hold table — so a
 * view's hold on a source holds the source's shard, with no second hold mechanism in between
 * (legacy: environmentd's `ImportHolds` over storage-client's `PersistReadHolds`).
 *
 * ## Rules (`plan`)
 * - A live handle is downgraded to `meet(since, upper)` (persist never lets a since pass the
 *   upper; a closed upper does not bound it) when that is beyond its durable since and no
 *   downgrade is in flight; otherwise, nothing in flight and unwritten for `heartbeatMs`, it is
 *   heartbeated (a downgrade to its durable since) so its lease never lapses.
 * - A dropped collection's handle is expired, once, when nothing holds it any more (its since is
 *   empty): a dropped subsource that a dropped-but-still-peeked dataflow reads keeps its shard.
 * - `settled(id, f, now)` / `failed(id)` settle the in-flight request (a failure is retried by
 *   the next tick).
 */
import { Frontier, type GlobalId } from "@mzts/repr";
import type { CollectionTable } from "./collection-table.js";

/** A handle to downgrade (a heartbeat when `since` equals its durable since). */
export interface SinceDowngrade {
  readonly id: GlobalId;
  readonly shardId: string;
  readonly since: Frontier;
  /** True when nothing changed: only the lease is renewed. */
  readonly heartbeat: boolean;
}

/** A handle to expire (its collection was dropped). */
export interface SinceExpiry {
  readonly id: GlobalId;
  readonly shardId: string;
}

/** What the plan needs of a collection. */
export interface ShardCollection {
  readonly id: GlobalId;
  readonly since: Frontier;
  readonly write: Frontier;
  readonly dropped: boolean;
}

interface Handle {
  readonly shardId: string;
  /** The durable since (what the handle was last downgraded to). */
  applied: Frontier;
  /** A downgrade sent and not yet settled. */
  inFlight: Frontier | undefined;
  lastWriteMs: number;
  expired: boolean;
}

/** The since handles of one cluster's shard-backed collections. */
export class SinceHandles {
  readonly #handles = new Map<GlobalId, Handle>();

  /** Tracks `id`'s handle, whose durable since is `since` (from persist, when it was opened). */
  register(id: GlobalId, shardId: string, since: Frontier, nowMs: number): void {
    this.#handles.set(id, {
      shardId,
      applied: since,
      inFlight: undefined,
      lastWriteMs: nowMs,
      expired: false,
    });
  }

  has(id: GlobalId): boolean {
    return this.#handles.has(id);
  }

  /** The durable since of `id`'s handle. */
  durableSince(id: GlobalId): Frontier | undefined {
    return this.#handles.get(id)?.applied;
  }

  /** What the tick should do now (see the file comment); marks the downgrades in flight. */
  plan(
    rows: (id: GlobalId) => ShardCollection | undefined,
    nowMs: number,
    heartbeatMs: number,
  ): { downgrades: SinceDowngrade[]; expiries: SinceExpiry[] } {
    const downgrades: SinceDowngrade[] = [];
    const expiries: SinceExpiry[] = [];
    for (const [id, h] of this.#handles) {
      const c = rows(id);
      if (c === undefined || (c.dropped && c.since === null)) {
        if (!h.expired) {
          h.expired = true;
          expiries.push({ id, shardId: h.shardId });
        }
        if (c === undefined) this.#handles.delete(id);
        continue;
      }
      if (h.inFlight !== undefined) continue;
      const target = c.write === null ? c.since : Frontier.meet(c.since, c.write);
      if (Frontier.lessThan(h.applied, target)) {
        h.inFlight = target;
        downgrades.push({ id, shardId: h.shardId, since: target, heartbeat: false });
      } else if (nowMs - h.lastWriteMs >= heartbeatMs) {
        h.inFlight = h.applied;
        downgrades.push({ id, shardId: h.shardId, since: h.applied, heartbeat: true });
      }
    }
    return { downgrades, expiries };
  }

  /** A downgrade (or heartbeat) of `id` succeeded: the handle's since is now `since`. */
  settled(id: GlobalId, since: Frontier, nowMs: number): void {
    const h = this.#handles.get(id);
    if (h === undefined) return;
    h.applied = Frontier.join(h.applied, since);
    h.inFlight = undefined;
    h.lastWriteMs = nowMs;
  }

  /** A downgrade of `id` failed: the next tick retries. */
  failed(id: GlobalId): void {
    const h = this.#handles.get(id);
    if (h !== undefined) h.inFlight = undefined;
  }

  get size(): number {
    return this.#handles.size;
  }
}

/**
 * A row as the since handles see it: a compute row's write frontier starts at its as-of, which is
 * not its shard's upper — until a replica reported one, the upper is taken as unknown (the
 * minimum), so a handle is never asked past the shard's upper.
 */
export function shardRow(table: CollectionTable, id: GlobalId): ShardCollection | undefined {
  const c = table.find(id);
  if (c === undefined) return undefined;
  const write = c.workload === "compute" && !c.reported ? Frontier.MIN : c.write;
  return { id, since: c.since, write, dropped: c.dropped };
}
