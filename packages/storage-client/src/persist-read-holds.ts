/**
 * `PersistReadHolds`: the controller's critical since handle on each collection's persist shard,
 * the read holds readers take on it, and the compaction-window read policy (materialize.md §3.4,
 * Materialize's `StorageCollections`). Without it nobody ever downgrades a shard's since, nothing
 * below it can be compacted, and every tick of a source adds a batch forever.
 *
 * ## Model
 * - Per collection: one since handle (reader id `opts.readerId`, e.g. `environmentd`; the next
 *   environmentd re-attaches to it, keeping its since) and a multiset of holds. The **policy**
 *   hold trails the shard's upper by the compaction window (`join(policy, upper − window)`, never
 *   back; a closed shard keeps it). Other holds are taken by readers (`acquire`), e.g. one per
 *   compute dataflow import at its as-of, moved forward as the dataflow's own since moves.
 * - `since(id)` = the meet of the holds, in memory and synchronous: an `acquire` at or above it is
 *   always valid, because the durable since (applied by `tick`) never passes it.
 * - `tick()` (every `tickMs`, also callable): reads each shard's upper, advances the policy hold,
 *   and downgrades the handle to the meet when it moved (persist then compacts opportunistically);
 *   otherwise heartbeats it every `heartbeatMs` so its lease never lapses. The first tick after
 *   `register` and then every `maintenanceEveryMs` it runs `shard.maintenance()` (compaction
 *   steps, consensus truncation, orphan sweep, expiry of lapsed readers such as a dead replica
 *   incarnation's). Running it at once matters under churn: an environmentd restarted more often
 *   than the interval would otherwise never maintain anything (persist also expires lapsed
 *   readers on every downgrade, so the since moves even between maintenance passes).
 * - `advancePolicy(id, f)` moves the policy hold up to `f` at once (never back): a collection that
 *   is not readable below `f` — a materialized view's shard below the as-of its sink started
 *   writing at, which holds an empty collection there — gets a since of at least `f` (the meet
 *   with the other holds), and the next tick makes it durable as soon as the shard's upper passes
 *   `f` (a since never passes the upper in persist).
 * - `unregister(id)` expires the handle (dropped collection); `handOff(id)` stops tracking it
 *   without expiring it (another owner re-attaches it under the same reader id).
 *
 * ## Errors
 * `acquire` below the since → `ReadHoldBelowSince`; unknown ids → `CollectionMissing`. Persist
 * failures inside `tick` are logged and retried on the next tick; a lapsed handle
 * (`ReaderExpired`) is re-opened.
 */
import { type PersistClient, ReaderExpired, type Shard, type SinceHandle } from "@mzts/persist";
import { Frontier, type GlobalId, invariant } from "@mzts/repr";
import type { Logger } from "pino";
import { Counter, Gauge, type Registry } from "prom-client";
import { CollectionMissing, ReadHoldBelowSince } from "./errors.js";

export interface PersistReadHoldsOptions {
  readonly persist: PersistClient;
  /** The critical reader's id on every shard (stable across restarts). */
  readonly readerId: string;
  /** How far the policy hold trails the upper (ms of timestamp). Default 1000. */
  readonly compactionWindowMs?: bigint;
  /** Tick interval (ms). Default 1000; 0 = no timer (call `tick()` yourself). */
  readonly tickMs?: number;
  /** Heartbeat an unchanged handle this often (ms). Default 60 000. */
  readonly heartbeatMs?: number;
  /** Run `shard.maintenance()` at the first tick and then this often per shard (ms). Default 60 000. */
  readonly maintenanceEveryMs?: number;
  readonly logger: Logger;
  readonly registry: Registry;
}

/** One reader's hold on a collection; move it forward with `downgrade`, end it with `release`. */
export interface ReadHold {
  readonly collectionId: GlobalId;
  readonly frontier: Frontier;
  /** Moves the hold to `join(frontier, f)` (never back). No-op after `release`. */
  downgrade(f: Frontier): void;
  release(): void;
}

interface Entry {
  readonly id: GlobalId;
  readonly shardId: string;
  readonly shard: Shard;
  handle: SinceHandle;
  /**
   * Hold frontier → count (> 0). Keyed by the frontier itself (a `Map` compares bigints by
   * value): a downgrade allocates no key (issue 16: one a second per dataflow import).
   */
  readonly holds: Map<Frontier, number>;
  /** The number of holds with multiplicity (the hold-count gauge's value). */
  holdCount: number;
  policy: Frontier;
  /** The meet of the holds (what the durable since may reach). */
  since: Frontier;
  /** The durable since (what the handle was last downgraded to). */
  applied: Frontier;
  upper: Frontier;
  lastWriteMs: number;
  /** When maintenance last ran; `-Infinity` until the first tick, which always runs it. */
  lastMaintenanceMs: number;
  busy: boolean;
  dropped: boolean;
}

export class PersistReadHolds {
  readonly #o: PersistReadHoldsOptions;
  readonly #log: Logger;
  readonly #window: bigint;
  readonly #entries = new Map<GlobalId, Entry>();
  readonly #timer: NodeJS.Timeout | undefined;
  #ticking: Promise<void> | undefined;
  #closed = false;
  readonly #downgrades: Counter<"outcome">;
  readonly #lag: Gauge<"collection_id">;
  readonly #holdCount: Gauge<"collection_id">;

  constructor(opts: PersistReadHoldsOptions) {
    this.#o = opts;
    this.#log = opts.logger.child({ component: "persist-read-holds" });
    this.#window = opts.compactionWindowMs ?? 1000n;
    this.#downgrades = new Counter({
      name: "mz_storage_controller_since_downgrades_total",
      help: "Downgrades of the controller's since handles on collection shards, by outcome",
      labelNames: ["outcome"],
      registers: [opts.registry],
    });
    this.#lag = new Gauge({
      name: "mz_storage_collection_since_lag",
      help: "Upper minus durable since of a collection's shard (timestamp units, ms)",
      labelNames: ["collection_id"],
      registers: [opts.registry],
    });
    this.#holdCount = new Gauge({
      name: "mz_storage_collection_read_holds",
      help: "Read holds on a collection, the policy hold included",
      labelNames: ["collection_id"],
      registers: [opts.registry],
    });
    const tickMs = opts.tickMs ?? 1000;
    if (tickMs > 0) {
      this.#timer = setInterval(() => void this.tick(), tickMs);
      this.#timer.unref();
    }
  }

  /**
   * Opens (or re-attaches) the since handle of `id`'s shard; returns its since. Idempotent.
   * @throws persist errors (UnknownShard, StorageUnavailable, …)
   */
  async register(id: GlobalId, shardId: string): Promise<Frontier> {
    const known = this.#entries.get(id);
    if (known !== undefined) return known.since;
    const shard = await this.#o.persist.openShard(shardId, { create: true });
    const handle = await shard.openSinceHandle(this.#o.readerId);
    const upper = await shard.upper();
    const racing = this.#entries.get(id);
    if (racing !== undefined) return racing.since;
    const since = handle.since;
    const e: Entry = {
      id,
      shardId,
      shard,
      handle,
      holds: new Map([[since, 1]]),
      holdCount: 1,
      policy: since,
      since,
      applied: since,
      upper,
      lastWriteMs: Date.now(),
      lastMaintenanceMs: Number.NEGATIVE_INFINITY,
      busy: false,
      dropped: false,
    };
    this.#entries.set(id, e);
    this.#holdCount.set({ collection_id: id }, 1);
    this.#log.debug({ collection_id: id, shard: shardId, since: `${since}` }, "since handle open");
    return since;
  }

  has(id: GlobalId): boolean {
    return this.#entries.has(id);
  }

  /** The meet of `id`'s holds: reads at or after it stay valid while a hold exists. */
  since(id: GlobalId): Frontier {
    return this.#entry(id, "since").since;
  }

  /** The shard's upper as of the last tick (or registration). */
  upper(id: GlobalId): Frontier {
    return this.#entry(id, "upper").upper;
  }

  /** The durable since (the handle's). */
  appliedSince(id: GlobalId): Frontier {
    return this.#entry(id, "appliedSince").applied;
  }

  /**
   * Holds `id` at `at` until released.
   * @throws ReadHoldBelowSince, CollectionMissing
   */
  acquire(id: GlobalId, at: Frontier): ReadHold {
    const e = this.#entry(id, "acquire");
    if (!Frontier.lessEqual(e.since, at)) throw new ReadHoldBelowSince(id, at, e.since);
    this.#add(e, at, 1);
    this.#recompute(e, true);
    let current: Frontier = at;
    let released = false;
    const holds = this;
    return {
      collectionId: id,
      get frontier() {
        return current;
      },
      downgrade(f: Frontier) {
        if (released) return;
        const next = Frontier.join(current, f);
        if (Frontier.equal(next, current)) return;
        holds.#add(e, next, 1);
        holds.#add(e, current, -1);
        current = next;
        holds.#recompute(e, false);
      },
      release() {
        if (released) return;
        released = true;
        holds.#add(e, current, -1);
        holds.#recompute(e, true);
      },
    };
  }

  /**
   * Moves `id`'s policy hold to `join(policy, f)` (see the file comment); returns the new since.
   * @throws CollectionMissing
   */
  advancePolicy(id: GlobalId, f: Frontier): Frontier {
    const e = this.#entry(id, "advancePolicy");
    const next = Frontier.join(e.policy, f);
    if (!Frontier.equal(next, e.policy)) {
      this.#add(e, next, 1);
      this.#add(e, e.policy, -1);
      e.policy = next;
      this.#recompute(e, false);
    }
    return e.since;
  }

  /** Stops tracking `id` and expires its handle (the collection was dropped). */
  async unregister(id: GlobalId): Promise<void> {
    const e = this.#forget(id);
    if (e === undefined) return;
    try {
      await e.handle.expire();
    } catch (err) {
      this.#log.debug({ collection_id: id, err }, "expiring a dropped collection's handle failed");
    }
  }

  /**
   * Stops tracking `id` WITHOUT expiring its handle: another owner re-attaches it under the same
   * reader id (a live rebuild of a cluster's controller onto the unified path). Waits for a tick
   * in flight on it, so no downgrade of this tracker lands after the hand-off. Holds taken on it
   * are void afterwards (their owner re-acquires them from the new owner).
   */
  async handOff(id: GlobalId): Promise<void> {
    const e = this.#forget(id);
    if (e === undefined) return;
    while (e.busy && this.#ticking !== undefined) await this.#ticking;
  }

  /** Stops tracking `id` (its entry, marked dropped, and its series); undefined: not tracked. */
  #forget(id: GlobalId): Entry | undefined {
    const e = this.#entries.get(id);
    if (e === undefined) return undefined;
    this.#entries.delete(id);
    e.dropped = true;
    this.#lag.remove({ collection_id: id });
    this.#holdCount.remove({ collection_id: id });
    return e;
  }

  /** One pass over every collection (see the file comment). Concurrent calls share one pass. */
  tick(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    this.#ticking ??= this.#tickAll().finally(() => {
      this.#ticking = undefined;
    });
    return this.#ticking;
  }

  async #tickAll(): Promise<void> {
    await Promise.all([...this.#entries.values()].map((e) => this.#tickOne(e)));
  }

  async #tickOne(e: Entry): Promise<void> {
    if (e.busy || e.dropped) return;
    e.busy = true;
    try {
      e.upper = await e.shard.upper();
      if (e.upper !== null) {
        const lagged = e.upper > this.#window ? e.upper - this.#window : 0n;
        const next = Frontier.join(e.policy, lagged);
        if (!Frontier.equal(next, e.policy)) {
          this.#add(e, next, 1);
          this.#add(e, e.policy, -1);
          e.policy = next;
          this.#recompute(e, false);
        }
      }
      const target = e.upper === null ? e.since : Frontier.meet(e.since, e.upper);
      const now = Date.now();
      if (Frontier.lessThan(e.applied, target) || now - e.lastWriteMs >= this.#heartbeatMs) {
        const to = Frontier.join(e.applied, target);
        await this.#downgrade(e, to);
        e.lastWriteMs = now;
      }
      if (e.upper !== null && e.applied !== null) {
        this.#lag.set({ collection_id: e.id }, Number(e.upper - e.applied));
      }
      if (now - e.lastMaintenanceMs >= (this.#o.maintenanceEveryMs ?? 60_000)) {
        e.lastMaintenanceMs = now;
        const report = await e.shard.maintenance();
        this.#log.debug({ collection_id: e.id, ...report }, "shard maintenance");
      }
    } catch (err) {
      this.#downgrades.inc({ outcome: "error" });
      if (!e.dropped && !this.#closed) {
        this.#log.warn(
          { collection_id: e.id, shard: e.shardId, err },
          "since upkeep failed; retrying next tick",
        );
      }
    } finally {
      e.busy = false;
    }
  }

  get #heartbeatMs(): number {
    return this.#o.heartbeatMs ?? 60_000;
  }

  async #downgrade(e: Entry, to: Frontier): Promise<void> {
    try {
      await e.handle.downgradeSince(to);
    } catch (err) {
      if (!(err instanceof ReaderExpired)) throw err;
      // The lease lapsed (e.g. environmentd was down longer than it): register again.
      this.#log.warn({ collection_id: e.id }, "since handle lease lapsed; re-opening it");
      e.handle = await e.shard.openSinceHandle(this.#o.readerId);
      if (Frontier.lessThan(e.handle.since, to)) await e.handle.downgradeSince(to);
    }
    e.applied = Frontier.join(e.applied, e.handle.since);
    this.#downgrades.inc({ outcome: "ok" });
  }

  /** Waits for a running tick and stops the timer; handles stay registered (the next boot re-attaches). */
  async close(): Promise<void> {
    this.#closed = true;
    if (this.#timer !== undefined) clearInterval(this.#timer);
    await this.#ticking;
  }

  #entry(id: GlobalId, operation: string): Entry {
    const e = this.#entries.get(id);
    if (e === undefined) throw new CollectionMissing(id, operation);
    return e;
  }

  #add(e: Entry, f: Frontier, delta: 1 | -1): void {
    const count = e.holds.get(f);
    if (delta === 1) {
      e.holds.set(f, (count ?? 0) + 1);
      e.holdCount++;
      return;
    }
    invariant(
      count !== undefined,
      `read hold at ${Frontier.format(f)} on ${e.id} released but never acquired`,
    );
    if (count === 1) e.holds.delete(f);
    else e.holds.set(f, count - 1);
    e.holdCount--;
  }

  /**
   * Re-derives the since (the meet of the distinct hold frontiers); `counted`: a hold was taken
   * or released, so the hold-count gauge moves (a downgrade leaves it).
   */
  #recompute(e: Entry, counted: boolean): void {
    let meet: Frontier = Frontier.EMPTY;
    for (const f of e.holds.keys()) meet = Frontier.meet(meet, f);
    invariant(Frontier.lessEqual(e.since, meet), `the since of ${e.id} would move back`);
    e.since = meet;
    if (counted) this.#holdCount.set({ collection_id: e.id }, e.holdCount);
  }
}
