/**
 * The storage controller's view of its collections: write frontiers, compaction frontiers,
 * statistics, statuses and pending drops (materialize.md §3.2, §3.5, §4.3). Pure state: the
 * controller feeds it replica responses (tagged with the replica id) and its own decisions.
 *
 * ## Invariants
 * - A collection's **write frontier** is the maximum (`Frontier.join`) of every upper any replica
 *   reported: the first replica to advance wins, and it never moves back (a rehydrated replica
 *   starts reporting from its minimum again, which changes nothing).
 * - **Drops** (`drop(ids)`): a dropped collection waits for a `droppedId` from every replica that
 *   owes one, then is forgotten. A replica owes one exactly when it reported an upper for the id
 *   on its current connection (the replica-side rule: `droppedId` only for reported frontiers),
 *   including an upper that arrives after the drop was sent (nothing follows a `droppedId`). A
 *   replica that fails or is dropped owes nothing (its reconciliation drops silently).
 * - Late uppers, statistics and statuses for dropped or forgotten ids are ignored (debug log);
 *   responses for ids never known are soft errors (warn log), never exceptions.
 * - **Statistics** are snapshots merged per (collection, replica): the latest wins.
 * - **Status history** per object: every update appended (stamped with its replica id, or none
 *   when the controller injected it), except that nothing follows `dropped` and `paused` does not
 *   repeat. At most `statusHistoryLimit` entries per object (oldest dropped); the histories of the
 *   last `droppedRetention` dropped objects stay readable after the objects are forgotten.
 */
import type { SourceStatistics, StatusUpdate, StorageResponse } from "@mzts/protocol";
import { Frontier, type GlobalId, type ReplicaId } from "@mzts/repr";
import type { Logger } from "pino";
import {
  CollectionExists,
  CollectionMissing,
  CompactionRegression,
  ControllerClosed,
  type ControllerError,
  UpperWaitTimedOut,
} from "./errors.js";

// The `paused` statuses' hints are shared with the unified cluster controller.
export { NO_REPLICA_HINT, REPLICA_DROPPED_HINT } from "@mzts/controller-unified/state";

/** What the collections report to the controller's listeners. */
export type CollectionEvent =
  | {
      readonly kind: "writeFrontier";
      readonly instanceId: string;
      readonly id: GlobalId;
      readonly frontier: Frontier;
    }
  | { readonly kind: "status"; readonly instanceId: string; readonly update: StatusUpdate }
  /** Every owed `droppedId` arrived: the collection is forgotten. */
  | { readonly kind: "collectionForgotten"; readonly instanceId: string; readonly id: GlobalId };

/** Options of `StorageCollections`. */
export interface StorageCollectionsOptions {
  readonly logger: Logger;
  readonly emit?: (event: CollectionEvent) => void;
  /** Status updates kept per object (default 100). */
  readonly statusHistoryLimit?: number;
  /** Dropped objects whose status history stays readable (default 1000). */
  readonly droppedRetention?: number;
  /** Clock for controller-made statuses (ms since the epoch). */
  readonly now?: () => number;
}

/** A pending `waitForUpper`. */
interface Waiter {
  readonly target: Frontier;
  readonly resolve: () => void;
  readonly reject: (error: ControllerError) => void;
}

/** One collection (an ingestion's own id or one of its exports). */
interface CollectionState {
  readonly instanceId: string;
  /** The ingestion that writes it (its own id for the ingestion's collection). */
  readonly objectId: GlobalId;
  /** Max of the replicas' uppers; starts at the minimum, only advances. */
  write: Frontier;
  /** Last compaction frontier the controller allowed; starts at the minimum, only advances. */
  since: Frontier;
  /** Replicas that reported an upper on their current connection, with the latest one. */
  readonly reported: Map<ReplicaId, Frontier>;
  /** Latest statistics snapshot per replica; a replica's entry goes when it is dropped. */
  readonly statistics: Map<ReplicaId, SourceStatistics>;
  /** Set by `drop`: replicas that still owe a `droppedId`. */
  owed: Set<ReplicaId> | undefined;
  /** Replicas whose `droppedId` arrived (they owe nothing more). */
  readonly delivered: Set<ReplicaId>;
  /** `waitForUpper` calls not yet settled. */
  readonly waiters: Set<Waiter>;
}

/** The per-collection state of one storage controller (all its instances). */
export class StorageCollections {
  readonly #opts: StorageCollectionsOptions;
  /** Live and pending-drop collections; deleted when forgotten. */
  readonly #collections = new Map<GlobalId, CollectionState>();
  /** Object id → its status history; created with the object, kept (bounded) after its drop. */
  readonly #statuses = new Map<GlobalId, StatusUpdate[]>();
  /** Dropped objects in drop order; the oldest beyond `droppedRetention` lose their history. */
  readonly #droppedObjects: GlobalId[] = [];
  /** Forgotten collection ids (bounded), so late responses for them are not soft errors. */
  readonly #forgotten = new Set<GlobalId>();
  /** Count of responses for ids never known (soft errors). */
  #softErrors = 0;

  constructor(opts: StorageCollectionsOptions) {
    this.#opts = opts;
  }

  /** Responses about ids the controller never knew (logged as soft errors). */
  get softErrors(): number {
    return this.#softErrors;
  }

  /** True when `id` is a live (not dropped) collection. */
  has(id: GlobalId): boolean {
    const c = this.#collections.get(id);
    return c !== undefined && c.owed === undefined;
  }

  /**
   * Registers the collections of an ingestion (or new exports of an altered one).
   * @throws CollectionExists when an id belongs to another object or is being dropped.
   */
  addIngestion(instanceId: string, objectId: GlobalId, collectionIds: readonly GlobalId[]): void {
    for (const id of collectionIds) {
      const c = this.#collections.get(id);
      if (c === undefined) continue;
      if (c.objectId !== objectId || c.instanceId !== instanceId || c.owed !== undefined) {
        throw new CollectionExists(id, c.objectId, objectId);
      }
    }
    for (const id of collectionIds) {
      if (this.#collections.has(id)) continue;
      this.#forgotten.delete(id);
      this.#collections.set(id, {
        instanceId,
        objectId,
        write: Frontier.MIN,
        since: Frontier.MIN,
        reported: new Map(),
        statistics: new Map(),
        owed: undefined,
        delivered: new Set(),
        waiters: new Set(),
      });
    }
    if (!this.#statuses.has(objectId)) this.#statuses.set(objectId, []);
  }

  /** The instance and object of a live collection. @throws CollectionMissing */
  owner(id: GlobalId, operation: string): { instanceId: string; objectId: GlobalId } {
    const c = this.#live(id, operation);
    return { instanceId: c.instanceId, objectId: c.objectId };
  }

  /** The live collections of an object. */
  collectionsOf(objectId: GlobalId): GlobalId[] {
    const out: GlobalId[] = [];
    for (const [id, c] of this.#collections)
      if (c.objectId === objectId && c.owed === undefined) out.push(id);
    return out;
  }

  /** The write frontier (max over replicas). @throws CollectionMissing */
  frontier(id: GlobalId): Frontier {
    return this.#known(id, "frontier").write;
  }

  /** The compaction frontier last allowed. @throws CollectionMissing */
  since(id: GlobalId): Frontier {
    return this.#known(id, "since").since;
  }

  /**
   * Records a new compaction frontier.
   * @throws CollectionMissing when the collection is unknown or dropped.
   * @throws CompactionRegression when it moves backward.
   */
  setSince(id: GlobalId, since: Frontier): void {
    const c = this.#live(id, "allowCompaction");
    if (!Frontier.lessEqual(c.since, since)) throw new CompactionRegression(id, c.since, since);
    c.since = since;
  }

  /**
   * Marks live collections dropped. Each waits for the `droppedId`s its replicas owe; one that
   * owes none is forgotten at once.
   */
  drop(ids: readonly GlobalId[]): void {
    for (const id of ids) {
      const c = this.#collections.get(id);
      if (c === undefined || c.owed !== undefined) continue;
      c.since = Frontier.EMPTY;
      c.owed = new Set(c.reported.keys());
      this.#maybeForget(id, c);
    }
  }

  /** Records that an object was dropped (its status history is then retained, bounded). */
  objectDropped(objectId: GlobalId): void {
    this.#droppedObjects.push(objectId);
    const limit = this.#opts.droppedRetention ?? 1000;
    while (this.#droppedObjects.length > limit) {
      const oldest = this.#droppedObjects.shift();
      if (oldest !== undefined) this.#statuses.delete(oldest);
    }
  }

  /**
   * A replica's connection ended (failure, rehydration or drop): it owes no `droppedId`s, its
   * reported uppers start over; with `dropped`, its statistics go too.
   */
  replicaReset(instanceId: string, replicaId: ReplicaId, dropped: boolean): void {
    for (const [id, c] of this.#collections) {
      if (c.instanceId !== instanceId) continue;
      c.reported.delete(replicaId);
      if (dropped) c.statistics.delete(replicaId);
      if (c.owed !== undefined) {
        c.owed.delete(replicaId);
        this.#maybeForget(id, c);
      }
    }
  }

  /** Applies one replica response. Never throws for bad ids: logs soft errors instead. */
  absorb(instanceId: string, replicaId: ReplicaId, response: StorageResponse): void {
    const log = this.#opts.logger;
    switch (response.kind) {
      case "frontierUpper": {
        const c = this.#forInstance(instanceId, replicaId, response.id, "frontierUpper");
        if (c === undefined) return;
        if (c.owed !== undefined) {
          // Late upper of a dropped collection: the replica will send a droppedId after it.
          if (!c.delivered.has(replicaId)) c.owed.add(replicaId);
          return;
        }
        c.reported.set(replicaId, response.upper);
        if (!Frontier.lessThan(c.write, response.upper)) return;
        c.write = response.upper;
        this.#opts.emit?.({
          kind: "writeFrontier",
          instanceId,
          id: response.id,
          frontier: c.write,
        });
        for (const w of c.waiters) {
          if (Frontier.lessEqual(w.target, c.write)) {
            c.waiters.delete(w);
            w.resolve();
          }
        }
        return;
      }
      case "droppedId": {
        const c = this.#forInstance(instanceId, replicaId, response.id, "droppedId");
        if (c === undefined) return;
        if (c.owed === undefined) {
          log.warn(
            { replica_id: replicaId, id: response.id },
            "storage controller: droppedId for a collection that was not dropped; ignored",
          );
          return;
        }
        c.delivered.add(replicaId);
        c.owed.delete(replicaId);
        this.#maybeForget(response.id, c);
        return;
      }
      case "statisticsUpdates":
        for (const s of response.sources) {
          const c = this.#collections.get(s.id);
          if (c === undefined || c.owed !== undefined || c.instanceId !== instanceId) {
            log.debug({ replica_id: replicaId, id: s.id }, "storage controller: stale statistics");
            continue;
          }
          c.statistics.set(replicaId, s);
        }
        return;
      case "statusUpdate": {
        const id = response.update.id;
        const c = this.#collections.get(id);
        if (c === undefined || c.instanceId !== instanceId) {
          log.debug({ replica_id: replicaId, id }, "storage controller: status of an unknown id");
          return;
        }
        this.appendStatus(instanceId, { ...response.update, replicaId });
        return;
      }
      case "commandError":
        log.warn(
          { replica_id: replicaId, ...response.error },
          "storage controller: a replica refused a command",
        );
        return;
    }
  }

  /** Appends a status (from a replica, or made by the controller) by the supersede rules. */
  appendStatus(instanceId: string, update: StatusUpdate): void {
    let history = this.#statuses.get(update.id);
    if (history === undefined) {
      if (!this.#collections.has(update.id)) return;
      history = [];
      this.#statuses.set(update.id, history);
    }
    const last = history.at(-1)?.status;
    if (last === "dropped") return;
    if (last === "paused" && update.status === "paused") return;
    history.push(update);
    const limit = this.#opts.statusHistoryLimit ?? 100;
    if (history.length > limit) history.splice(0, history.length - limit);
    this.#opts.emit?.({ kind: "status", instanceId, update });
  }

  /** A controller-made status for `objectId` (no replica id). */
  injectStatus(
    instanceId: string,
    objectId: GlobalId,
    status: StatusUpdate["status"],
    hints: readonly string[] = [],
  ): void {
    this.appendStatus(instanceId, {
      id: objectId,
      status,
      timestampMs: BigInt(Math.floor((this.#opts.now ?? Date.now)())),
      hints,
      namespacedErrors: new Map(),
    });
  }

  /**
   * The status history of an object (or, for an export without statuses of its own, of its
   * ingestion), oldest first; also answers for recently dropped objects.
   * @throws CollectionMissing
   */
  statusHistory(id: GlobalId): readonly StatusUpdate[] {
    const own = this.#statuses.get(id);
    if (own !== undefined && own.length > 0) return own.slice();
    const c = this.#collections.get(id);
    if (c !== undefined) return (this.#statuses.get(c.objectId) ?? []).slice();
    if (own !== undefined) return [];
    throw new CollectionMissing(id, "statusHistory", this.#forgotten.has(id));
  }

  /** The latest status, or undefined before the first. @throws CollectionMissing */
  status(id: GlobalId): StatusUpdate | undefined {
    return this.statusHistory(id).at(-1);
  }

  /** The latest statistics per replica. @throws CollectionMissing */
  statistics(id: GlobalId): ReadonlyMap<ReplicaId, SourceStatistics> {
    return new Map(this.#known(id, "statistics").statistics);
  }

  /**
   * Resolves once the write frontier of `id` is at or beyond `target` (`null` = closed).
   * @throws CollectionMissing (rejects) when unknown, or when forgotten while waiting.
   * @throws UpperWaitTimedOut (rejects) after `timeoutMs`.
   */
  waitForUpper(id: GlobalId, target: Frontier, timeoutMs = 30_000): Promise<void> {
    let c: CollectionState;
    try {
      c = this.#known(id, "waitForUpper");
    } catch (e) {
      return Promise.reject(e);
    }
    if (Frontier.lessEqual(target, c.write)) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        c.waiters.delete(waiter);
        reject(new UpperWaitTimedOut(id, target, c.write, timeoutMs));
      }, timeoutMs);
      const waiter: Waiter = {
        target,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      };
      c.waiters.add(waiter);
    });
  }

  /** Rejects every pending wait (`ControllerClosed`). */
  close(): void {
    for (const c of this.#collections.values()) {
      for (const w of c.waiters) w.reject(new ControllerClosed("waitForUpper"));
      c.waiters.clear();
    }
  }

  /** The number of collections held (live and pending drop). */
  get size(): number {
    return this.#collections.size;
  }

  #known(id: GlobalId, operation: string): CollectionState {
    const c = this.#collections.get(id);
    if (c === undefined) throw new CollectionMissing(id, operation, this.#forgotten.has(id));
    return c;
  }

  #live(id: GlobalId, operation: string): CollectionState {
    const c = this.#known(id, operation);
    if (c.owed !== undefined) throw new CollectionMissing(id, operation, true);
    return c;
  }

  #forInstance(
    instanceId: string,
    replicaId: ReplicaId,
    id: GlobalId,
    kind: string,
  ): CollectionState | undefined {
    const c = this.#collections.get(id);
    if (c !== undefined && c.instanceId === instanceId) return c;
    if (c === undefined && this.#forgotten.has(id)) {
      this.#opts.logger.debug({ replica_id: replicaId, id, kind }, "storage controller: late");
      return undefined;
    }
    this.#softErrors++;
    this.#opts.logger.warn(
      { instance_id: instanceId, replica_id: replicaId, id, kind },
      "storage controller: response for an unknown collection; ignored",
    );
    return undefined;
  }

  #maybeForget(id: GlobalId, c: CollectionState): void {
    if (c.owed === undefined || c.owed.size > 0) return;
    this.#collections.delete(id);
    this.#forgotten.add(id);
    if (this.#forgotten.size > 4096) {
      const oldest = this.#forgotten.values().next().value;
      if (oldest !== undefined) this.#forgotten.delete(oldest);
    }
    for (const w of c.waiters) w.reject(new CollectionMissing(id, "waitForUpper", true));
    c.waiters.clear();
    this.#opts.emit?.({ kind: "collectionForgotten", instanceId: c.instanceId, id });
  }
}
