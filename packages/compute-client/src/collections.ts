/**
 * The collections of one compute instance: indexes and persist sinks with their frontiers and
 * read holds (materialize.md §4.2 "Read holds").
 *
 * ## Frontiers and read holds
 * - Per replica and collection the reported write frontier (regressions ignored); the global write
 *   frontier is their join — the first replica to advance wins — and never moves back.
 * - Holds (`ReadHolds`): the implied hold `join(floor, write − window)`, one per pending peek
 *   (`holdAt`/`releaseAt`), and one per replica incarnation from the as-of it was told to build
 *   the collection at until it reports an input frontier beyond it (a rehydrating replica's inputs
 *   stay readable at its replay as-of while the others move on: the caller's import holds follow
 *   the since). When their meet (the since) advances, `allowCompaction(id, since)` is broadcast.
 * - Persist sinks (materialized views) are collections too: no peeks, but the same implied hold,
 *   so their `allowCompaction` advances the as-of a replay rebuilds them at (and the caller's
 *   holds on their imports, which follow `frontiers(id).since`, may advance with it).
 * - `drop` releases the implied hold; once no peek holds it either the since becomes empty
 *   (`allowCompaction(id, [])`), and the collection is forgotten when every replica reported an
 *   empty write frontier (a replica added after the drop never had it).
 */
import type { ComputeCommand, ComputeResponse } from "@mzts/protocol";
import { Frontier, type GlobalId, type ReplicaId, type Timestamp } from "@mzts/repr";
import type { Logger } from "pino";
import { CollectionMissing } from "./errors.js";
import { impliedHold, ReadHolds } from "./read-holds.js";

/** Frontiers of a collection as the controller sees them. */
export interface CollectionFrontiers {
  /** Meet of the read holds (what the replicas were allowed to compact to). */
  readonly since: Frontier;
  /** Join of the replicas' write frontiers (the as-of until one reports). */
  readonly write: Frontier;
  /** Whether a replica has reported a write frontier for it to this controller yet. */
  readonly reported: boolean;
}

/** One collection as one replica reported it, beside the global frontier (hydration checks). */
export interface ReplicaCollectionFrontier {
  /** The replica's write frontier; undefined until its current incarnation reports one. */
  readonly replica: Frontier | undefined;
  /** The global write frontier (the join over replicas). */
  readonly global: Frontier;
  /** The collection's as-of. */
  readonly asOf: Timestamp;
}

/** Per-collection state (indexes and persist sinks). */
export interface CollectionState {
  readonly id: GlobalId;
  /** Indexes answer peeks; a persist sink's since only bounds replays and its imports' holds. */
  readonly kind: "index" | "persistSink";
  /** Arity of the indexed object (for peeks). */
  readonly arity: number;
  readonly asOf: Timestamp;
  /** Join of the replicas' reports; starts at the as-of, only advances. */
  write: Frontier;
  /** The client's read-policy floor: starts at the as-of, raised by `allowCompaction`. */
  floor: Timestamp;
  /** The implied hold's frontier while it is held (until the drop). */
  implied: Frontier | undefined;
  readonly holds: ReadHolds;
  /** The last since sent (the as-of at first); only advances. */
  since: Frontier;
  /** Each replica's write frontier; absent = nothing reported by this incarnation yet. */
  readonly replicaWrite: Map<ReplicaId, Frontier>;
  /** Set by `drop`. */
  dropped: boolean;
  /** Set once any replica reported a write frontier (sticky across rehydrations). */
  reported: boolean;
  /**
   * Per-replica holds: from the moment a replica (incarnation) is told to build the collection
   * at some as-of until it reports an input frontier beyond it. Until then its inputs must stay
   * readable at that as-of, although the other replicas may have moved the since far ahead.
   */
  readonly replicaHolds: Map<ReplicaId, Frontier>;
}

/** A collection a dataflow exports. */
export interface CollectionExport {
  readonly id: GlobalId;
  readonly kind: "index" | "persistSink";
  readonly arity: number;
}

/** What the collections need from their instance. */
export interface InstanceCollectionsOptions {
  readonly log: Logger;
  /** How far the implied read hold lags the write frontier. */
  readonly compactionWindowMs: bigint;
  /** The instance's replicas (ids), for the per-replica holds and the forget rule. */
  replicaIds(): Iterable<ReplicaId>;
  /** Pushes into the history and sends to every replica. */
  broadcast(commands: readonly ComputeCommand[]): void;
  /** A collection was created / forgotten (the controller's id index). */
  onCollection(id: GlobalId, live: boolean): void;
  /** A collection's global write frontier advanced (the controller's `onWriteFrontier`). */
  onWriteFrontier?(id: GlobalId): void;
  /** The collection count changed. */
  onGaugesChanged(): void;
}

/** The indexes and persist sinks of one instance. */
export class InstanceCollections {
  readonly #opts: InstanceCollectionsOptions;
  readonly #collections = new Map<GlobalId, CollectionState>();

  constructor(opts: InstanceCollectionsOptions) {
    this.#opts = opts;
  }

  get size(): number {
    return this.#collections.size;
  }

  /** Whether `id` is a collection (live, or dropped and not yet forgotten). */
  has(id: GlobalId): boolean {
    return this.#collections.has(id);
  }

  /** The collection, live or dropped-but-not-forgotten. */
  find(id: GlobalId): CollectionState | undefined {
    return this.#collections.get(id);
  }

  /** A live collection. @throws CollectionMissing when `id` is unknown or dropped. */
  live(id: GlobalId): CollectionState {
    const c = this.#collections.get(id);
    if (c === undefined || c.dropped) throw new CollectionMissing(id);
    return c;
  }

  /** Creates the collections a dataflow exports at `asOf`, with a hold per current replica. */
  create(exports: readonly CollectionExport[], asOf: Timestamp): void {
    for (const e of exports) {
      const holds = new ReadHolds();
      holds.acquire(asOf);
      const state: CollectionState = {
        id: e.id,
        kind: e.kind,
        arity: e.arity,
        asOf,
        write: asOf,
        floor: asOf,
        implied: asOf,
        holds,
        since: asOf,
        replicaWrite: new Map(),
        dropped: false,
        reported: false,
        replicaHolds: new Map(),
      };
      for (const replicaId of this.#opts.replicaIds())
        this.#acquireReplicaHold(state, replicaId, asOf);
      this.#collections.set(e.id, state);
      this.#opts.onCollection(e.id, true);
    }
  }

  /**
   * Raises the client's read-policy floor of `id` to `frontier` (never backward; the instance
   * turns the empty frontier into a drop).
   * @throws CollectionMissing when `id` is unknown or dropped.
   */
  raiseFloor(id: GlobalId, frontier: Timestamp): void {
    const c = this.live(id);
    if (frontier > c.floor) c.floor = frontier;
    this.#updateImplied(c);
  }

  /**
   * Drops a collection: releases the implied and per-replica holds; replicas are told once no
   * peek holds it anymore. @throws CollectionMissing when `id` is unknown or already dropped.
   */
  drop(id: GlobalId): void {
    const c = this.live(id);
    c.dropped = true;
    if (c.implied !== undefined) c.holds.release(c.implied);
    c.implied = undefined;
    for (const replicaId of [...c.replicaHolds.keys()]) this.#releaseReplicaHold(c, replicaId);
    this.#maybeCompact(c);
  }

  /** @throws CollectionMissing when `id` is unknown (dropped ones still answer until forgotten). */
  frontiers(id: GlobalId): CollectionFrontiers {
    const c = this.#collections.get(id);
    if (c === undefined) throw new CollectionMissing(id);
    return { since: c.since, write: c.write, reported: c.reported };
  }

  /** A peek's hold at `timestamp` on `c`. */
  holdAt(c: CollectionState, timestamp: Timestamp): void {
    c.holds.acquire(timestamp);
  }

  /** Releases a peek's hold at `timestamp` on `id` (if it still exists). */
  releaseAt(id: GlobalId, timestamp: Timestamp): void {
    const c = this.#collections.get(id);
    if (c === undefined) return;
    c.holds.release(timestamp);
    this.#maybeCompact(c);
  }

  /**
   * A new incarnation of `replicaId` starts: its write frontiers reset and it holds every live
   * collection at the since its replay rebuilds it at.
   */
  replicaSpawned(replicaId: ReplicaId): void {
    for (const c of this.#collections.values()) {
      // A collection whose drop was already sent is not in the replay: nothing to wait for.
      if (c.dropped && c.since === null) c.replicaWrite.set(replicaId, null);
      else c.replicaWrite.delete(replicaId);
      // The replay rebuilds it at its since: hold that until this incarnation reports past it.
      this.#releaseReplicaHold(c, replicaId);
      if (!c.dropped) this.#acquireReplicaHold(c, replicaId, c.since);
    }
  }

  /** Every live collection's frontier on `replicaId` and globally. */
  replicaFrontiers(replicaId: ReplicaId): Map<GlobalId, ReplicaCollectionFrontier> {
    const out = new Map<GlobalId, ReplicaCollectionFrontier>();
    for (const c of this.#collections.values()) {
      if (c.dropped) continue;
      out.set(c.id, { replica: c.replicaWrite.get(replicaId), global: c.write, asOf: c.asOf });
    }
    return out;
  }

  /** The incarnation's replay was read: collections whose drop it no longer has are done for it. */
  replicaReplayed(replicaId: ReplicaId): void {
    for (const c of this.#collections.values()) {
      if (c.dropped && c.since === null && !c.replicaWrite.has(replicaId)) {
        c.replicaWrite.set(replicaId, null);
        this.#maybeRemove(c);
      }
    }
  }

  /** A replica was dropped: forget its frontiers and holds. */
  replicaDropped(replicaId: ReplicaId): void {
    for (const c of this.#collections.values()) {
      c.replicaWrite.delete(replicaId);
      this.#releaseReplicaHold(c, replicaId);
      this.#maybeCompact(c);
    }
  }

  /** A replica's `frontiers` response. */
  absorbFrontiers(
    replicaId: ReplicaId,
    resp: Extract<ComputeResponse, { kind: "frontiers" }>,
  ): void {
    const c = this.#collections.get(resp.id);
    if (c === undefined) return;
    // The replica's inputs passed the as-of it was told to build at: its readers have read
    // their snapshots (under their own since handles), so its hold can go. (Not the write
    // frontier: a persist sink reports its shard's upper, already past the as-of.)
    const input = resp.frontiers.input;
    const held = c.replicaHolds.get(replicaId);
    if (held !== undefined && input !== undefined && Frontier.lessThan(held, input)) {
      this.#releaseReplicaHold(c, replicaId);
      this.#maybeCompact(c);
    }
    const write = resp.frontiers.write;
    if (write === undefined || !this.#collections.has(c.id)) return;
    const prev = c.replicaWrite.get(replicaId);
    if (prev !== undefined && Frontier.lessThan(write, prev)) {
      this.#opts.log.debug(
        { replica_id: replicaId, id: c.id },
        "write frontier regression ignored",
      );
      return;
    }
    c.replicaWrite.set(replicaId, write);
    c.reported = true;
    if (Frontier.lessThan(c.write, write)) {
      c.write = write;
      this.#updateImplied(c);
      this.#opts.onWriteFrontier?.(c.id);
    } else {
      this.#maybeRemove(c);
    }
  }

  #acquireReplicaHold(c: CollectionState, replicaId: ReplicaId, at: Frontier): void {
    if (at === null) return;
    c.holds.acquire(at);
    c.replicaHolds.set(replicaId, at);
  }

  #releaseReplicaHold(c: CollectionState, replicaId: ReplicaId): void {
    const held = c.replicaHolds.get(replicaId);
    if (held === undefined) return;
    c.replicaHolds.delete(replicaId);
    c.holds.release(held);
  }

  #updateImplied(c: CollectionState): void {
    if (c.implied === undefined) {
      // Dropped: nothing to hold; the advance may be the last replica's empty frontier.
      this.#maybeRemove(c);
      return;
    }
    const next = impliedHold(c.implied, c.floor, c.write, this.#opts.compactionWindowMs);
    if (!Frontier.equal(next, c.implied)) {
      c.holds.downgrade(c.implied, next);
      c.implied = next;
    }
    this.#maybeCompact(c);
  }

  /** Broadcasts `allowCompaction` when the meet of the holds advanced. */
  #maybeCompact(c: CollectionState): void {
    const since = c.holds.since();
    if (Frontier.lessThan(c.since, since)) {
      c.since = since;
      this.#opts.broadcast([{ kind: "allowCompaction", id: c.id, frontier: since }]);
    }
    this.#maybeRemove(c);
  }

  #maybeRemove(c: CollectionState): void {
    if (!c.dropped || c.holds.size > 0 || c.since !== null) return;
    for (const r of this.#opts.replicaIds()) {
      if (c.replicaWrite.get(r) !== null) return;
    }
    this.#collections.delete(c.id);
    this.#opts.onCollection(c.id, false);
    this.#opts.onGaugesChanged();
  }
}
