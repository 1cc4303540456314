/**
 * Error classes of `@mzts/storage-client`: one root (`ControllerError`) and a narrow class per
 * failure (shared/style.md §9).
 *
 * - `ReplicaMissing` / `ReplicaExists`: a replica id the placement does not know, or
 *   knows already.
 * - `InvalidReplicaId`: a replica id that is not `u<n>`/`s<n>`.
 * - `CollectionExists`: a collection id claimed by two storage objects.
 * - `PlacementConflict`: an object re-registered with a different replica preference.
 * - `CompactionRegression` (`@mzts/protocol`'s, re-exported): an `allowCompaction` that moves a
 *   compaction frontier backward.
 * - `InstanceMissing` / `InstanceExists`: a storage instance id the controller does not
 *   know, or knows already.
 * - `CollectionMissing`: a collection id the controller does not know (never created, or dropped
 *   and forgotten).
 * - `UpperWaitTimedOut`: `waitForUpper` gave up.
 * - `ReadHoldBelowSince`: a read hold asked for below a collection's since.
 * - `ControllerClosed`: the controller was closed.
 *
 * Every error carries structured fields and a message that says what to do next. Internal bugs are
 * not input errors: they throw `InvariantViolation` from `@mzts/repr`.
 */
import { Frontier, type GlobalId, type ReplicaId } from "@mzts/repr";

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
export class ReplicaExists extends ControllerError {
  override name = "ReplicaExists";
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
export class CollectionExists extends ControllerError {
  override name = "CollectionExists";
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

/**
 * An `allowCompaction` moves an id's compaction frontier backward: the one class of
 * `@mzts/protocol` (a `CommandHistoryError`), thrown by the command history and by the
 * controller's since guard alike; re-exported for this package's callers.
 */
export { CompactionRegression } from "@mzts/protocol";

/** An operation named a storage instance the controller does not have. */
export class InstanceMissing extends ControllerError {
  override name = "InstanceMissing";
  constructor(
    readonly instanceId: string,
    /** What was attempted ("addReplica", "createIngestion", …). */
    readonly operation: string,
  ) {
    super(
      `${operation}: storage instance ${instanceId} does not exist; ` +
        "create it with createInstance() first",
    );
  }
}

/** `createInstance` was called for an instance that already exists. */
export class InstanceExists extends ControllerError {
  override name = "InstanceExists";
  constructor(readonly instanceId: string) {
    super(
      `storage instance ${instanceId} already exists; use it as is, or pick another instance id`,
    );
  }
}

/** An operation named a collection the controller does not know. */
export class CollectionMissing extends ControllerError {
  override name = "CollectionMissing";
  constructor(
    readonly collectionId: GlobalId,
    readonly operation: string,
    /** True when the collection existed and was dropped. */
    readonly dropped = false,
  ) {
    super(
      dropped
        ? `${operation}: collection ${collectionId} was dropped; stop using it (statusHistory() ` +
            "still answers for recently dropped objects)"
        : `${operation}: collection ${collectionId} is unknown to the storage controller; ` +
            "create it with createIngestion() first",
    );
  }
}

/** `waitForUpper` did not see the write frontier reach the target in time. */
export class UpperWaitTimedOut extends ControllerError {
  override name = "UpperWaitTimedOut";
  constructor(
    readonly collectionId: GlobalId,
    readonly target: Frontier,
    readonly current: Frontier,
    readonly timeoutMs: number,
  ) {
    super(
      `the write frontier of ${collectionId} did not reach ${fmt(target)} within ${timeoutMs} ms ` +
        `(it is at ${fmt(current)}); check that a replica runs its ingestion (status()) and that ` +
        "writes are allowed, or wait longer",
    );
  }
}

/** A hold below the collection's since: the data at that time may already be compacted. */
export class ReadHoldBelowSince extends ControllerError {
  override name = "ReadHoldBelowSince";
  constructor(
    readonly collectionId: GlobalId,
    readonly at: Frontier,
    readonly since: Frontier,
  ) {
    super(
      `cannot hold ${collectionId} at ${Frontier.format(at)}: it is compacted to ` +
        `${Frontier.format(since)}; read at or after the since (choose the as-of from since())`,
    );
  }
}

/** The controller was closed; nothing more can be done with it. */
export class ControllerClosed extends ControllerError {
  override name = "ControllerClosed";
  constructor(readonly operation: string) {
    super(`${operation}: the storage controller is closed; create a new one`);
  }
}

function fmt(f: Frontier): string {
  return f === null ? "[]" : `[${f}]`;
}
