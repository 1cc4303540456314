/**
 * Ingestion placement in a `ClusterState` (design §5 "Ingestion placement", §9 phase 5): the
 * shared rule (`ingestion-placement.ts`, storage-client's) decides which replicas run each
 * ingestion; this file routes the state's storage commands by it — one concept split out of the
 * state.
 *
 * ## Routing (storage-client's, applied to the one history)
 * - A storage command naming an object goes to the replicas active for it (`targets`): every
 *   replica for a multi-replica ingestion (a load generator: deterministic, duplicates are
 *   harmless), the one chosen replica for a single-replica one, none while it is paused (no
 *   replica). Commands naming no object go to every replica.
 * - A replay carries a storage command only when the replica is active for its object
 *   (`replays`); compute commands are not placed.
 * - Removing a replica re-decides the single-replica objects it ran (`replicaRemoved`): each
 *   moved object's commands in the reduced history go to its new replica at once.
 * - Dropping an ingestion: the drop goes to its replicas first, then the object is forgotten.
 */
import type { ClusterCommand, IngestionDescription, StorageCommand } from "@mzts/protocol";
import type { GlobalId, ReplicaId } from "@mzts/repr";
import { CollectionExists, InvalidStateRequest, ReplicaExists, ReplicaMissing } from "./errors.js";
import {
  IngestionPlacement,
  ingestionPreference,
  objectIdOf,
  type ReplicaPreference,
} from "./ingestion-placement.js";
import type { OutgoingCommand } from "./state-io.js";

/** How an ingestion is placed (storage-client's `ingestionPreference` unless a test injects one). */
export type PreferenceOf = (description: IngestionDescription) => ReplicaPreference;

/** The placement of one cluster's ingestions (see the file comment). */
export class ClusterPlacement {
  readonly #p: IngestionPlacement;
  readonly #preferenceOf: PreferenceOf;

  constructor(clusterId: string, preferenceOf: PreferenceOf = ingestionPreference) {
    this.#preferenceOf = preferenceOf;
    this.#p = new IngestionPlacement({
      invalidReplicaId: (v) =>
        new InvalidStateRequest("addReplica", `${String(v)} is not a replica id (u<n> or s<n>)`),
      replicaExists: (r) => new ReplicaExists(clusterId, r),
      replicaMissing: (r) => new ReplicaMissing(clusterId, r),
      collectionExists: (c) => new CollectionExists(clusterId, c),
      placementConflict: (id, current, requested) =>
        new InvalidStateRequest(
          `createIngestion ${id}`,
          `it runs ${current} and cannot switch to ${requested} in place; drop it and create it again`,
        ),
    });
  }

  /** Registers (or re-registers, on alteration) an ingestion. */
  ingestion(id: GlobalId, description: IngestionDescription): void {
    this.#p.addObject(id, {
      preference: this.#preferenceOf(description),
      collectionIds: description.sourceExports.map((e) => e.id),
    });
  }

  /** Forgets a dropped ingestion (after its drop was routed). */
  removed(objectId: GlobalId): void {
    this.#p.removeObject(objectId);
  }

  replicaAdded(replicaId: ReplicaId): void {
    this.#p.addReplica(replicaId);
  }

  /** The outgoing entries of a storage command: broadcast, or one per active replica. */
  route(command: ClusterCommand & { kind: "storage" }): OutgoingCommand[] {
    const id = objectIdOf(command.command);
    const owner = id === undefined ? undefined : this.#p.ownerOf(id);
    if (id === undefined || owner === undefined) return [{ command }];
    const targets = this.#p.replicasFor(id);
    if (targets.length === this.#p.replicas().length) return [{ command }];
    return targets.map((replicaId) => ({ command, replicaId }));
  }

  /** Whether `replicaId`'s replay carries `command`. */
  replays(replicaId: ReplicaId, command: StorageCommand): boolean {
    const id = objectIdOf(command);
    return (
      id === undefined || this.#p.ownerOf(id) === undefined || this.#p.isActiveOn(id, replicaId)
    );
  }

  /**
   * A replica was removed: the single-replica objects it ran move; returns their commands (from
   * the reduced `history`) addressed to their new replicas.
   */
  replicaRemoved(
    replicaId: ReplicaId,
    history: () => readonly ClusterCommand[],
  ): OutgoingCommand[] {
    const moves = this.#p.removeReplica(replicaId).filter((m) => m.to !== null);
    if (moves.length === 0) return [];
    const commands = history();
    const out: OutgoingCommand[] = [];
    for (const m of moves) {
      for (const c of commands) {
        if (c.kind !== "storage") continue;
        const id = objectIdOf(c.command);
        if (id !== undefined && this.#p.ownerOf(id) === m.objectId && m.to !== null)
          out.push({ command: c, replicaId: m.to });
      }
    }
    return out;
  }

  /** The registered objects no replica runs (all of them with zero replicas). */
  paused(): GlobalId[] {
    return this.#p.pausedObjects();
  }

  /** The replicas running `id`'s object now (tests, status). */
  replicasFor(id: GlobalId): readonly ReplicaId[] {
    return this.#p.replicasFor(id);
  }
}
