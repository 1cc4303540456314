/**
 * Error classes of `@mzts/storage-client`: one root (`ControllerError`) and a narrow class per
 * failure (shared/style.md §9).
 *
 * - `ReplicaMissing` / `ReplicaAlreadyExists`: a replica id the placement does not know, or
 *   knows already.
 * - `InvalidReplicaId`: a replica id that is not `u<n>`/`s<n>`.
 * - `CollectionConflict`: a collection id claimed by two storage objects.
 * - `PlacementConflict`: an object re-registered with a different replica preference.
 * - `CompactionRegression`: an `allowCompaction` that moves a compaction frontier backward.
 *
 * Every error carries structured fields and a message that says what to do next. Internal bugs are
 * not input errors: they throw `InvariantViolation` from `@mzts/repr`.
 */
import type { Frontier, GlobalId, ReplicaId } from "@mzts/repr";

/** Root of every error thrown by `@mzts/storage-client`. */
export class ControllerError extends Error {
  override name = "ControllerError";
}

/** An operation named a replica that the storage instance does not have. */
export class ReplicaMissing extends ControllerError {
  override name = "ReplicaMissing";
  constructor(
    /** The unknown replica. */
    readonly replicaId: ReplicaId,
    /** What was attempted ("removeReplica", "commandsFor", …). */
    readonly operation: string,
  ) {
    super(
      `${operation}: replica ${replicaId} is not part of this storage instance; ` +
        "add it with addReplica() first, or drop the request if the replica was already removed",
    );
  }
}

/** `addReplica` was called for a replica that is already present. */
export class ReplicaAlreadyExists extends ControllerError {
  override name = "ReplicaAlreadyExists";
  constructor(readonly replicaId: ReplicaId) {
    super(
      `replica ${replicaId} is already part of this storage instance; ` +
        "to rehydrate it, call removeReplica() first and then addReplica() again",
    );
  }
}

/** A replica id that is not `u<n>` or `s<n>`. */
export class InvalidReplicaId extends ControllerError {
  override name = "InvalidReplicaId";
  constructor(readonly value: unknown) {
    super(`invalid replica id ${JSON.stringify(String(value))}: expected u<n> or s<n> (e.g. u1)`);
  }
}

/** A collection id is already owned by another storage object. */
export class CollectionConflict extends ControllerError {
  override name = "CollectionConflict";
  constructor(
    /** The contested collection. */
    readonly collectionId: GlobalId,
    /** The object that owns it. */
    readonly ownerId: GlobalId,
    /** The object that tried to claim it. */
    readonly claimantId: GlobalId,
  ) {
    super(
      `collection ${collectionId} already belongs to storage object ${ownerId} and cannot also ` +
        `belong to ${claimantId}; drop ${ownerId} (removeObject) before reusing the id`,
    );
  }
}

/** An object was registered again with a different replica preference. */
export class PlacementConflict extends ControllerError {
  override name = "PlacementConflict";
  constructor(
    readonly objectId: GlobalId,
    readonly current: string,
    readonly requested: string,
  ) {
    super(
      `storage object ${objectId} runs with preference ${current} and cannot switch to ` +
        `${requested} in place; drop the object (removeObject) and create it again`,
    );
  }
}

/** An `allowCompaction` moves an id's compaction frontier backward. */
export class CompactionRegression extends ControllerError {
  override name = "CompactionRegression";
  constructor(
    readonly id: GlobalId,
    readonly current: Frontier,
    readonly proposed: Frontier,
  ) {
    super(
      `allowCompaction for ${id} cannot move its compaction frontier back from ` +
        `${fmt(current)} to ${fmt(proposed)}; send a frontier at or beyond the current one ` +
        "(read holds only advance)",
    );
  }
}

function fmt(f: Frontier): string {
  return f === null ? "[]" : `[${f}]`;
}
