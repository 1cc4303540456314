/**
 * `ShardSinceHolds`: one persist since handle per shard per worker, shared by every source reader
 * of the worker that imports the shard, held at the least position of those readers
 * (Materialize's leased reader, one per worker and shard instead of one per dataflow: issue 16 —
 * with 1,000 indexes on one source every state of the source shard listed 1,000 handles, and
 * every once-a-second downgrade round rewrote, encoded and decoded all of them).
 *
 * ## Flow
 * 1. `join(shardId, asOf)` (synchronous, when the reader starts) adds a `SinceLease` at
 *    `asOf` to the shard's hold; the first lease creates the hold. `lease.ready` settles once the
 *    hold's handle is at or below `asOf` (and no downgrade in flight goes beyond it): from then on
 *    the reader may take its snapshot at `asOf` and listen after it.
 * 2. The reader moves its lease forward with the position it has read (`advance`: `asOf + 1`
 *    after the snapshot, then each consumed event's upper). The leases are a multiset of
 *    positions; a tick (every `downgradeIntervalMs`, default 1 s, on the thread's shared
 *    `sinceTicker`) downgrades the handle to their least when it advanced, and otherwise
 *    heartbeats once per `heartbeatIntervalMs` (default 1 min) so the lease never lapses. At most
 *    one downgrade is in flight; failures are logged and retried at the next tick; the target is
 *    never below the handle's since. So the shard's since never passes a live reader's position.
 * 3. A lease whose `asOf` is below the handle's since (a new dataflow behind the others; the
 *    controller holds the shard's since at or below each dataflow's as-of while the replica builds
 *    it, until the replica reports an input frontier beyond it) cannot be served by the handle: a
 *    since never moves back. The hold then **re-registers**: it registers its other id (at the
 *    shard's since, which the current handle and the controller's hold keep at or below the
 *    as-of), switches to it and expires the old one. The leases that join in one turn share one
 *    re-registration (persist folds the registrations of a turn into one write).
 * 4. The last lease released (`release()`) expires the handle (best effort) and forgets the hold;
 *    a new hold of the same shard in this thread first waits for that expiry.
 *
 * ## Ids and restarts
 * A hold registers one of two ids, `sourceHoldIds()`: `compute:<replica>:w<worker>:a` and `…:b`
 * in the shard's state (the two let a re-registration register before it expires). They are deterministic,
 * so a restarted replica re-attaches: its first registration opens both in one round (a new one
 * lands at the shard's since), keeps the one with the greatest since at or below the least
 * reader position and expires the other. When neither is that low (the previous incarnation had
 * read further), the kept one would not protect the snapshots and a since never moves back: it
 * is expired and registered afresh, at the shard's since. After a crash
 * the registrations stay until re-attached or their 15-minute lease lapses.
 *
 * A registration that fails because the store is unavailable (`StorageUnavailable`, e.g. the
 * worker's persist client could not open its consensus) is retried after 10 ms, doubling to 1 s,
 * until it succeeds or the hold closes; the leases waiting for it wait on (each until it is
 * released). Before, the first such failure let every lease that joined before it go on
 * unprotected.
 *
 * `ready` never rejects: when the hold cannot get a handle at or below the as-of (the shard was
 * compacted past it, or persist failed otherwise), it logs and lets the reader go on; its
 * snapshot then reports the since violation (or the error) itself.
 */
import { createHash } from "node:crypto";
import {
  ReaderExpired,
  type Shard,
  SinceBeyondUpper,
  type SinceHandle,
  SinceRegression,
} from "@mzts/persist";
import { Frontier, type Timestamp } from "@mzts/repr";
import type { Logger } from "pino";
import { retryWhileUnavailable } from "./retry-unavailable.js";
import { sinceTicker } from "./since-ticker.js";

/** Default least time between two since downgrades of a hold, ms. */
export const DEFAULT_SINCE_DOWNGRADE_INTERVAL_MS = 1000;
/** Default longest time without a write to a hold's since handle, ms (the lease is 15 min). */
export const DEFAULT_SINCE_HEARTBEAT_INTERVAL_MS = 60_000;
/** Longest wait for an earlier hold of the same shard in this thread to expire its handle, ms. */
const RELEASE_WAIT_MS = 10_000;
/** Persist's limit on reader ids. */
const MAX_READER_ID = 200;

/**
 * The two since handle ids of a worker's hold of a shard: `compute:<replicaId>:w<worker>:a` and
 * `…:b` (the shard is the one whose state lists them; the dataflows and import ids reading it do
 * not matter). Ids longer than persist's 200 characters keep a prefix and end in a hash of the
 * whole id.
 */
export function sourceHoldIds(replicaId: string, worker: number): readonly [string, string] {
  const base = `compute:${replicaId}:w${worker}`;
  return [bounded(`${base}:a`), bounded(`${base}:b`)];
}

function bounded(id: string): string {
  if (id.length <= MAX_READER_ID) return id;
  const hash = createHash("sha256").update(id).digest("hex").slice(0, 16);
  return `${id.slice(0, MAX_READER_ID - hash.length - 1)}~${hash}`;
}

/**
 * Expiries of holds still in flight in this thread, by shard and id: a new hold of the same
 * shard waits for the previous one, or the late expiry would unregister it.
 */
const releasing = new Map<string, Promise<void>>();

export interface ShardSinceHoldsOptions {
  /** This replica's identity in the handle ids. */
  readonly replicaId: string;
  readonly worker: number;
  readonly openShard: (shardId: string) => Promise<Shard>;
  readonly logger: Logger;
  /** Least time between two since downgrades, ms (default 1000). */
  readonly downgradeIntervalMs?: number;
  /** Longest time without a downgrade before a heartbeat, ms (default 60 000; < the lease). */
  readonly heartbeatIntervalMs?: number;
}

/** A source reader's place in its shard's hold (see the file comment). */
export class SinceLease {
  readonly asOf: Timestamp;
  /** The next time this reader reads: the hold never goes beyond it. Only advances. */
  position: Timestamp;
  /** Settles (never rejects) once the hold's handle is at or below `asOf`. */
  ready: Promise<void> = Promise.resolve();
  /** Registrations of the hold started before this lease joined. */
  readonly joinedAt: number;
  released = false;
  /** @internal Settles when the lease is released (a wait for the hold ends with it). */
  readonly left: Promise<void>;
  /** @internal Settles `left`. */
  readonly markReleased: () => void;
  readonly #hold: ShardSinceHold;

  /** @internal `ShardSinceHolds.join` */
  constructor(hold: ShardSinceHold, asOf: Timestamp, joinedAt: number) {
    this.#hold = hold;
    this.asOf = asOf;
    this.position = asOf;
    this.joinedAt = joinedAt;
    let markReleased = () => {};
    this.left = new Promise<void>((resolve) => {
      markReleased = resolve;
    });
    this.markReleased = () => {
      this.released = true;
      markReleased();
    };
  }

  /** The reader has read everything before `position`. */
  advance(position: Timestamp): void {
    if (position > this.position) this.position = position;
  }

  /** The hold's handle since (undefined while it has none). */
  get handleSince(): Frontier | undefined {
    return this.#hold.handleSince;
  }

  /** The hold's current handle id (undefined while it has none). */
  get readerId(): string | undefined {
    return this.#hold.readerId;
  }

  /**
   * Leaves the hold. The returned promise settles (never rejects) once the handle is expired
   * when this was the last lease, at once otherwise. Idempotent.
   */
  release(): Promise<void> {
    return this.#hold.leave(this);
  }
}

export class ShardSinceHolds {
  readonly #o: ShardSinceHoldsOptions;
  readonly #holds = new Map<string, ShardSinceHold>();

  constructor(o: ShardSinceHoldsOptions) {
    this.#o = o;
  }

  /** Adds a reader of `shardId` at `asOf`. */
  join(shardId: string, asOf: Timestamp): SinceLease {
    let hold = this.#holds.get(shardId);
    if (hold === undefined) {
      hold = new ShardSinceHold(
        this.#o,
        shardId,
        sourceHoldIds(this.#o.replicaId, this.#o.worker),
        () => {
          if (this.#holds.get(shardId) === hold) this.#holds.delete(shardId);
        },
      );
      this.#holds.set(shardId, hold);
    }
    return hold.join(asOf);
  }

  /** Live holds (= since handles of this worker, for tests and statistics). */
  get size(): number {
    return this.#holds.size;
  }
}

/** One shard's hold on one worker (see the file comment). */
class ShardSinceHold {
  readonly #o: ShardSinceHoldsOptions;
  readonly #shardId: string;
  readonly #ids: readonly [string, string];
  readonly #forget: () => void;
  readonly #leases = new Set<SinceLease>();
  /** The handle; replaced by a re-registration, cleared when released. */
  #handle: SinceHandle | undefined;
  /** The highest since the handle was asked for (its since, or a downgrade's target in flight). */
  #promised: Frontier = Frontier.EMPTY;
  /** The registration in flight, with its sequence number. */
  #registering: { readonly seq: number; readonly done: Promise<void> } | undefined;
  /** Registrations started so far. */
  #registrations = 0;
  /** The downgrade in flight, if any (at most one). */
  #inFlight: Promise<void> | undefined;
  /** When the handle was last written (registered, downgraded or heartbeated), ms. */
  #lastWriteMs = 0;
  readonly #stopTicks: () => void;
  #closed = false;
  /** Aborted when the hold closes (ends a registration's wait before retrying). */
  readonly #closing = new AbortController();

  constructor(
    o: ShardSinceHoldsOptions,
    shardId: string,
    ids: readonly [string, string],
    forget: () => void,
  ) {
    this.#o = o;
    this.#shardId = shardId;
    this.#ids = ids;
    this.#forget = forget;
    this.#stopTicks = sinceTicker.register(
      o.downgradeIntervalMs ?? DEFAULT_SINCE_DOWNGRADE_INTERVAL_MS,
      () => this.#tick(),
    );
  }

  get handleSince(): Frontier | undefined {
    return this.#handle?.since;
  }

  get readerId(): string | undefined {
    return this.#handle?.readerId;
  }

  join(asOf: Timestamp): SinceLease {
    const lease = new SinceLease(this, asOf, this.#registrations);
    this.#leases.add(lease);
    lease.ready = this.#protect(lease);
    return lease;
  }

  /** Waits until the handle is at or below the lease's as-of, registering when needed. */
  async #protect(lease: SinceLease): Promise<void> {
    for (;;) {
      if (this.#closed || lease.released) return;
      const r = this.#registering;
      if (r !== undefined) {
        // A registration retried while the store is unavailable may take long: a released lease
        // stops waiting for it.
        await Promise.race([r.done, lease.left]);
        continue;
      }
      if (this.#handle !== undefined && Frontier.lessEqual(this.#promised, lease.asOf)) return;
      if (this.#registrations > lease.joinedAt) {
        // A registration that started after this lease joined could not go low enough.
        this.#o.logger.warn(
          {
            ...this.#fields(),
            asOf: lease.asOf.toString(),
            handleSince: this.#handle === undefined ? null : Frontier.toJSON(this.#handle.since),
          },
          "compute: no since handle at or below a source import's as-of (the shard's since is " +
            "beyond it, or registering failed); its snapshot will report why",
        );
        return;
      }
      this.#register();
    }
  }

  /** Starts a (re-)registration (see the file comment, 3. and "Ids and restarts"). */
  #register(): void {
    const seq = this.#registrations++;
    const done = this.#registerRetrying()
      .catch((e: unknown) => {
        if (!this.#closed) {
          this.#o.logger.warn(
            { ...this.#fields(), err: e },
            "compute: registering the source imports' since handle failed",
          );
        }
      })
      .finally(() => {
        if (this.#registering?.seq === seq) this.#registering = undefined;
      });
    this.#registering = { seq, done };
  }

  /** `#registerNow`, retried while the store is unavailable until it succeeds or the hold closes. */
  async #registerRetrying(): Promise<void> {
    await retryWhileUnavailable(
      () => this.#registerNow(),
      this.#closing.signal,
      (e, ms) =>
        this.#o.logger.warn(
          { ...this.#fields(), err: e.message, retryInMs: ms },
          "compute: registering the source imports' since handle failed (storage unavailable); retrying",
        ),
    );
  }

  async #registerNow(): Promise<void> {
    const old = this.#handle;
    if (old === undefined) await this.#previousHold();
    const shard = await this.#o.openShard(this.#shardId);
    // First registration: both ids in one round (a crashed incarnation may have left either);
    // a re-registration: the id not in use.
    const ids = old === undefined ? this.#ids : [this.#ids[old.readerId === this.#ids[0] ? 1 : 0]];
    const opened = await Promise.all(ids.map((id) => shard.openSinceHandle(id)));
    // The registration closest below what the readers need (a re-attach keeps its since).
    const need = this.#least();
    let handle = opened[0]!;
    for (const h of opened) {
      const fits = need === undefined || Frontier.lessEqual(h.since, need);
      const handleFits = need === undefined || Frontier.lessEqual(handle.since, need);
      if (fits && (!handleFits || Frontier.lessThan(handle.since, h.since))) handle = h;
    }
    const others = opened.filter((h) => h !== handle);
    if (need !== undefined && !Frontier.lessEqual(handle.since, need)) {
      this.#o.logger.info(
        { ...this.#fields(), reader: handle.readerId, handleSince: Frontier.toJSON(handle.since) },
        "compute: source imports' since handle re-attached above their position; registering it afresh",
      );
      await handle.expire();
      handle = await shard.openSinceHandle(handle.readerId);
    }
    this.#handle = handle;
    this.#promised = handle.since;
    this.#lastWriteMs = Date.now();
    if (old !== undefined) others.push(old);
    await this.#inFlight;
    await Promise.all(others.map((h) => this.#expire(h)));
  }

  /** Waits (bounded) until an earlier hold of this shard in this thread has expired its handle. */
  async #previousHold(): Promise<void> {
    const prev = releasing.get(this.#key);
    if (prev === undefined) return;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<boolean>((r) => {
      timer = setTimeout(() => r(true), RELEASE_WAIT_MS);
    });
    const timedOut = await Promise.race([prev.then(() => false), late]);
    clearTimeout(timer);
    if (timedOut) {
      this.#o.logger.warn(
        this.#fields(),
        "compute: the previous hold of this shard has not expired its since handle; going on",
      );
    }
  }

  /** The least position of the leases (undefined when there are none). */
  #least(): Timestamp | undefined {
    let least: Timestamp | undefined;
    for (const l of this.#leases) if (least === undefined || l.position < least) least = l.position;
    return least;
  }

  /** Downgrades to the least position when it advanced, else heartbeats when due (timer). */
  #tick(): void {
    const handle = this.#handle;
    if (handle === undefined || this.#closed) return;
    if (this.#inFlight !== undefined || this.#registering !== undefined) return;
    const least = this.#least();
    if (least === undefined) return;
    let target: Frontier | undefined;
    if (Frontier.lessThan(handle.since, least)) target = least;
    else {
      const heartbeatMs = this.#o.heartbeatIntervalMs ?? DEFAULT_SINCE_HEARTBEAT_INTERVAL_MS;
      if (Date.now() - this.#lastWriteMs >= heartbeatMs) target = handle.since;
    }
    if (target === undefined) return;
    const to = Frontier.join(handle.since, target);
    this.#promised = to;
    const p = this.#downgrade(handle, to);
    this.#inFlight = p;
    void p.finally(() => {
      if (this.#inFlight === p) this.#inFlight = undefined;
    });
  }

  /** One downgrade (or heartbeat); never rejects. */
  async #downgrade(handle: SinceHandle, target: Frontier): Promise<void> {
    try {
      await handle.downgradeSince(target);
      this.#lastWriteMs = Date.now();
    } catch (e) {
      if (this.#closed || this.#handle !== handle) return;
      this.#promised = handle.since;
      const fields = {
        ...this.#fields(),
        reader: handle.readerId,
        target: Frontier.toJSON(target),
      };
      if (e instanceof SinceBeyondUpper) {
        this.#o.logger.warn(
          { ...fields, err: e },
          "compute: since downgrade beyond the shard's upper skipped",
        );
      } else if (e instanceof ReaderExpired || e instanceof SinceRegression) {
        // Expired (lease lapsed) or moved by another holder of this id: register again.
        this.#o.logger.warn({ ...fields, err: e }, "compute: since handle lost; registering again");
        // A registration already in flight (for a new reader) replaces the handle too.
        if (this.#registering === undefined) this.#register();
        void this.#registering?.done.then(() => this.#warnIfAbove());
      } else {
        this.#o.logger.warn(
          { ...fields, err: e },
          "compute: since downgrade failed; retrying at the next tick",
        );
      }
    }
  }

  /** After a lost handle: the new one may be beyond a reader (compaction may pass it). */
  #warnIfAbove(): void {
    const h = this.#handle;
    const least = this.#least();
    if (h === undefined || least === undefined || Frontier.lessEqual(h.since, least)) return;
    this.#o.logger.warn(
      { ...this.#fields(), handleSince: Frontier.toJSON(h.since), position: least.toString() },
      "compute: re-registered since handle is beyond a source reader's position; compaction may pass it",
    );
  }

  /** Removes a lease; the last one closes the hold and expires its handle. */
  leave(lease: SinceLease): Promise<void> {
    if (lease.released) return Promise.resolve();
    lease.markReleased();
    this.#leases.delete(lease);
    if (this.#leases.size > 0 || this.#closed) return Promise.resolve();
    this.#closed = true;
    this.#closing.abort();
    this.#stopTicks();
    this.#forget();
    const done = this.#release();
    const key = this.#key;
    releasing.set(key, done);
    void done.then(() => {
      if (releasing.get(key) === done) releasing.delete(key);
    });
    return done;
  }

  /** Expires the handle after the registration and downgrade in flight (best effort). */
  async #release(): Promise<void> {
    await this.#registering?.done;
    await this.#inFlight;
    const handle = this.#handle;
    this.#handle = undefined;
    if (handle !== undefined) await this.#expire(handle);
  }

  async #expire(h: SinceHandle): Promise<void> {
    try {
      await h.expire();
    } catch (e) {
      this.#o.logger.debug(
        { ...this.#fields(), reader: h.readerId, err: e },
        "compute: expiring a source imports' since handle failed; its lease will lapse",
      );
    }
  }

  get #key(): string {
    return `${this.#shardId}\u0000${this.#ids[0]}`;
  }

  #fields() {
    return { shard: this.#shardId, holdId: this.#ids[0] };
  }
}
