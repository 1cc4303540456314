/**
 * Which replicas of a storage instance run each ingestion and sink (materialize.md §3.4,
 * `instance.rs` scheduling; design.md §5 "Ingestion placement"). The one rule both controllers
 * place by: storage-client's instance (binding its error classes) and the unified `ClusterState`.
 *
 * ## Rules
 * - A `multiReplica` object (load generators: deterministic in (seed, tick), so duplicate writes
 *   are harmless under compare-and-append) runs on every replica.
 * - A `singleReplica` object (sources that cannot be replayed deterministically, e.g. a future
 *   PostgreSQL source; sinks in Materialize) runs on exactly one replica: the smallest replica id
 *   (`ReplicaId.compare`) present when a decision is needed. The decision is sticky: a smaller
 *   replica joining later does not move it. It is re-decided only when its replica is removed.
 * - With zero replicas every object is *paused*: `replicasFor` is empty and `pausedObjects()`
 *   lists it, so the controller can emit `paused` statuses. The next replica added runs them all.
 * - Commands go only to the replicas active for their object. Collection ids (subsources) map to
 *   their ingestion. Ids of no registered object, and commands that name no object (`hello`,
 *   `updateConfiguration`, `initializationComplete`, `allowWrites`), go to every replica.
 *   `commandsFor` filters a history for replay to one replica by the same rule.
 *
 * ## Flow (one object)
 * 1. `addObject(id, {preference, collectionIds})` → the replicas to send `runIngestion`/`runSink`
 *    to now (empty = paused). Re-adding an id (an alteration) keeps its placement and updates its
 *    collection ids.
 * 2. `addReplica(r)` → the objects now active on `r`; the controller replays
 *    `commandsFor(r, history)` to it.
 * 3. `removeReplica(r)` → the single-replica objects that moved (to their new replica, or to
 *    `null` = paused); the controller sends their commands (`commandsFor(to, history)` restricted
 *    to the moved objects) to the new replica.
 * 4. Dropping: send `allowCompaction(id, empty)` to `replicasFor(id)` first, then `removeObject`.
 */
import type { IngestionDescription, StorageCommand } from "@mzts/protocol";
import { type GlobalId, ReplicaId } from "@mzts/repr";

/** The owner's error for each refusal (storage-client's classes, or the cluster state's). */
export interface PlacementErrors {
  invalidReplicaId(value: unknown): Error;
  replicaExists(replicaId: ReplicaId): Error;
  replicaMissing(replicaId: ReplicaId, operation: string): Error;
  collectionExists(collectionId: GlobalId, ownerId: GlobalId, claimantId: GlobalId): Error;
  placementConflict(objectId: GlobalId, current: string, requested: string): Error;
}

/** Hint of a `paused` status when an object is installed while its instance has no replica. */
export const NO_REPLICA_HINT = "There is currently no replica running this source";
/** Hint of a `paused` status when the replica running an object was dropped. */
export const REPLICA_DROPPED_HINT = "The replica running this source has been dropped";

/** How many replicas an object runs on. */
export type ReplicaPreference = "multiReplica" | "singleReplica";

/** What the placement needs to know about one object. */
export interface PlacedObject {
  readonly preference: ReplicaPreference;
  /** The collections the object writes besides its own id (an ingestion's source exports). */
  readonly collectionIds?: readonly GlobalId[];
}

/** A single-replica object whose replica was removed. */
export interface PlacementMove {
  readonly objectId: GlobalId;
  /** The removed replica it ran on. */
  readonly from: ReplicaId;
  /** Its new replica, or null when no replica is left (the object is paused). */
  readonly to: ReplicaId | null;
}

interface ObjectState {
  readonly preference: ReplicaPreference;
  /** Own id plus collection ids; replaced on re-add. */
  collectionIds: readonly GlobalId[];
  /** The chosen replica of a single-replica object; null while paused or multi-replica. */
  chosen: ReplicaId | null;
}

// PHASE(state): shared — the legacy storage instance and the unified cluster state both use it
/** The replica placement of one storage instance's objects. */
export class IngestionPlacement {
  readonly #errors: PlacementErrors;
  /** Replicas of the instance, sorted by `ReplicaId.compare`; changed by add/removeReplica. */
  #replicas: ReplicaId[] = [];
  /** Registered objects by id, in registration order; removed by `removeObject`. */
  readonly #objects = new Map<GlobalId, ObjectState>();
  /** Collection id → owning object id (an object's own id maps to itself). */
  readonly #owners = new Map<GlobalId, GlobalId>();

  /** @throws the owner's InvalidReplicaId, ReplicaExists */
  constructor(errors: PlacementErrors, replicas: Iterable<ReplicaId> = []) {
    this.#errors = errors;
    for (const r of replicas) this.addReplica(r);
  }

  /** The instance's replicas, smallest id first. */
  replicas(): readonly ReplicaId[] {
    return this.#replicas.slice();
  }

  /**
   * Registers an object (or re-registers it on alteration) and returns the replicas it runs on.
   * @throws CollectionExists when one of its collection ids belongs to another object.
   * @throws PlacementConflict when a registered object is re-added with another preference.
   */
  addObject(id: GlobalId, object: PlacedObject): readonly ReplicaId[] {
    const collectionIds = [id];
    for (const c of object.collectionIds ?? [])
      if (!collectionIds.includes(c)) collectionIds.push(c);
    for (const c of collectionIds) {
      const owner = this.#owners.get(c);
      if (owner !== undefined && owner !== id) throw this.#errors.collectionExists(c, owner, id);
    }
    let state = this.#objects.get(id);
    if (state !== undefined && state.preference !== object.preference) {
      throw this.#errors.placementConflict(id, state.preference, object.preference);
    }
    if (state === undefined) {
      state = { preference: object.preference, collectionIds, chosen: null };
      if (state.preference === "singleReplica") state.chosen = this.#replicas[0] ?? null;
      this.#objects.set(id, state);
    } else {
      for (const c of state.collectionIds) this.#owners.delete(c);
      state.collectionIds = collectionIds;
    }
    for (const c of collectionIds) this.#owners.set(c, id);
    return this.#active(state);
  }

  /** Forgets a dropped object and its collections; unknown ids are ignored. */
  removeObject(id: GlobalId): void {
    const state = this.#objects.get(id);
    if (state === undefined) return;
    for (const c of state.collectionIds) this.#owners.delete(c);
    this.#objects.delete(id);
  }

  /**
   * Adds a replica and returns the objects that now run on it: every multi-replica object and
   * every paused single-replica object (which it picks up as the only replica).
   * @throws InvalidReplicaId, ReplicaExists
   */
  addReplica(replicaId: ReplicaId): GlobalId[] {
    if (!ReplicaId.is(replicaId)) throw this.#errors.invalidReplicaId(replicaId);
    if (this.#replicas.includes(replicaId)) throw this.#errors.replicaExists(replicaId);
    this.#replicas.push(replicaId);
    this.#replicas.sort(ReplicaId.compare);
    const placed: GlobalId[] = [];
    for (const [id, state] of this.#objects) {
      if (state.preference === "multiReplica") {
        placed.push(id);
      } else if (state.chosen === null) {
        state.chosen = replicaId;
        placed.push(id);
      }
    }
    return placed;
  }

  /**
   * Removes a replica and re-decides the single-replica objects that ran on it.
   * @returns the moved objects, in registration order.
   * @throws ReplicaMissing when the replica is not part of the instance.
   */
  removeReplica(replicaId: ReplicaId): PlacementMove[] {
    const index = this.#replicas.indexOf(replicaId);
    if (index < 0) throw this.#errors.replicaMissing(replicaId, "removeReplica");
    this.#replicas.splice(index, 1);
    const moves: PlacementMove[] = [];
    const next = this.#replicas[0] ?? null;
    for (const [id, state] of this.#objects) {
      if (state.chosen !== replicaId) continue;
      state.chosen = next;
      moves.push({ objectId: id, from: replicaId, to: next });
    }
    return moves;
  }

  /**
   * The replicas that must receive commands for `id` (an object id or one of its collection ids).
   * Ids of no registered object go to every replica.
   */
  replicasFor(id: GlobalId): readonly ReplicaId[] {
    const owner = this.#owners.get(id);
    const state = owner === undefined ? undefined : this.#objects.get(owner);
    return state === undefined ? this.#replicas.slice() : this.#active(state);
  }

  /** The object `id` (an object or one of its collection ids) belongs to, if registered. */
  ownerOf(id: GlobalId): GlobalId | undefined {
    return this.#owners.get(id);
  }

  /** True when commands for `id` go to `replicaId`. */
  isActiveOn(id: GlobalId, replicaId: ReplicaId): boolean {
    return this.replicasFor(id).includes(replicaId);
  }

  /** The registered objects that run on no replica (all of them when there are zero replicas). */
  pausedObjects(): GlobalId[] {
    const paused: GlobalId[] = [];
    for (const [id, state] of this.#objects) {
      if (this.#active(state).length === 0) paused.push(id);
    }
    return paused;
  }

  /**
   * The commands of `history` that `replicaId` must receive on replay: commands naming no object,
   * and object commands whose object is active on it (or unknown).
   * @throws ReplicaMissing when the replica is not part of the instance.
   */
  commandsFor(replicaId: ReplicaId, history: Iterable<StorageCommand>): StorageCommand[] {
    if (!this.#replicas.includes(replicaId))
      throw this.#errors.replicaMissing(replicaId, "commandsFor");
    const out: StorageCommand[] = [];
    for (const command of history) {
      const id = objectIdOf(command);
      if (id === undefined || this.isActiveOn(id, replicaId)) out.push(command);
    }
    return out;
  }

  #active(state: ObjectState): readonly ReplicaId[] {
    if (state.preference === "multiReplica") return this.#replicas.slice();
    return state.chosen === null ? [] : [state.chosen];
  }
}

/**
 * The preference of an ingestion, from its connection: load generators are deterministic in
 * (seed, tick) and run on every replica. (A future PostgreSQL-like connection returns
 * `singleReplica`.)
 */
export function ingestionPreference(description: IngestionDescription): ReplicaPreference {
  switch (description.connection.kind) {
    case "loadGenerator":
      return "multiReplica";
  }
}

/** Sinks run on one replica, as in Materialize (`instance.rs` schedules exports singly). */
export const SINK_PREFERENCE: ReplicaPreference = "singleReplica";

/** What `addObject` needs for a `runIngestion`/`runSink` command. */
export function placedObjectOf(
  command: Extract<StorageCommand, { kind: "runIngestion" | "runSink" }>,
): PlacedObject {
  if (command.kind === "runSink") return { preference: SINK_PREFERENCE };
  return {
    preference: ingestionPreference(command.description),
    collectionIds: command.description.sourceExports.map((e) => e.id),
  };
}

/** The object (or collection) id a command is about, or undefined for instance-wide commands. */
export function objectIdOf(command: StorageCommand): GlobalId | undefined {
  switch (command.kind) {
    case "runIngestion":
    case "runSink":
    case "allowCompaction":
      return command.id;
    default:
      return undefined;
  }
}
