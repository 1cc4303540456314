/**
 * Error classes of `@mzts/compute-client`: one root (`ControllerError`) and a narrow class per
 * failure (shared/style.md §9).
 *
 * - `InstanceMissing`, `ReplicaMissing`, `CollectionMissing`: an unknown (or dropped) id.
 * - `InstanceExists`, `ReplicaExists`, `CollectionExists`: an id created twice.
 * - `SinceViolation`: a read (peek, dataflow as-of) below a collection's since.
 * - `ControllerClosed`: a call after `close()`.
 *
 * Re-exported from `@mzts/controller-unified`, one definition for the legacy and the unified
 * controller path so `instanceof` holds whichever path threw (they extend
 * `UnifiedControllerError`, not `ControllerError`):
 * - `PeekCanceled` (and its subclass `PeekTimeout`): the caller gave up on a peek.
 * - `PeekFailed`: the replica answered the peek with an error, or its target replica went away.
 * - `SubscribeFailed`: a subscribe ended abnormally (replica error, dropped, controller closed).
 * - `InvalidLoggingConfig`: `createInstance` with a logging config the replicas could not serve.
 * - `LogPeekUntargeted`: a peek of a log index without a target replica.
 * - `LogImportUntargeted`: a dataflow importing a log index outside a targeted subscribe.
 * - `MetricsConflict`: a controller metric name already registered with a different shape.
 *
 * The command history's own refusals (`DuplicateInstanceCommand`, `CompactionRegression`,
 * `DuplicatePeek`) live with the history in `@mzts/protocol`.
 *
 * Every error carries structured fields and a message that says what to do next. Internal bugs are
 * not input errors: they throw `InvariantViolation` from `@mzts/repr`.
 */
import type { Frontier, GlobalId } from "@mzts/repr";

export {
  InvalidLoggingConfig,
  LogImportUntargeted,
  LogPeekUntargeted,
  MetricsConflict,
  PeekCanceled,
  PeekFailed,
  PeekTimeout,
  SubscribeFailed,
} from "@mzts/controller-unified";

/** Root of every error thrown by `@mzts/compute-client`. */
export class ControllerError extends Error {
  override name = "ControllerError";
}

/** The compute instance (cluster) does not exist, or was dropped. */
export class InstanceMissing extends ControllerError {
  override name = "InstanceMissing";
  constructor(readonly instanceId: string) {
    super(
      `compute instance ${instanceId} does not exist; create it with createInstance(id, logging) ` +
        "before adding replicas, dataflows or peeks",
    );
  }
}

/** The instance exists already. */
export class InstanceExists extends ControllerError {
  override name = "InstanceExists";
  constructor(readonly instanceId: string) {
    super(`compute instance ${instanceId} already exists; use it, or pick another id`);
  }
}

/** The replica is not part of the instance. */
export class ReplicaMissing extends ControllerError {
  override name = "ReplicaMissing";
  constructor(
    readonly instanceId: string,
    readonly replicaId: string,
  ) {
    super(
      `replica ${replicaId} is not a replica of compute instance ${instanceId}; add it with ` +
        "addReplica(instanceId, replicaId, location) or target one of the listed replicas",
    );
  }
}

/** The replica is already part of the instance. */
export class ReplicaExists extends ControllerError {
  override name = "ReplicaExists";
  constructor(
    readonly instanceId: string,
    readonly replicaId: string,
  ) {
    super(
      `replica ${replicaId} already belongs to compute instance ${instanceId}; drop it first ` +
        "(dropReplica) or use updateReplicaLocation to point it at a new address",
    );
  }
}

/** The collection is unknown to the controller, or was dropped. */
export class CollectionMissing extends ControllerError {
  override name = "CollectionMissing";
  constructor(readonly id: GlobalId) {
    super(
      `collection ${id} is unknown to the compute controller (never created, or dropped); ` +
        "create it with createDataflow before reading, compacting or importing it",
    );
  }
}

/** A collection id is exported twice. */
export class CollectionExists extends ControllerError {
  override name = "CollectionExists";
  constructor(readonly id: GlobalId) {
    super(
      `collection ${id} already exists in the compute controller; export ids are unique — ` +
        "allocate a fresh GlobalId, or drop the old collection first",
    );
  }
}

/** A read at a time the collection may already have compacted away. */
export class SinceViolation extends ControllerError {
  override name = "SinceViolation";
  constructor(
    readonly id: GlobalId,
    /** The requested read time. */
    readonly timestamp: Frontier,
    /** The collection's since when the read was asked. */
    readonly since: Frontier,
  ) {
    super(
      `cannot read ${id} at ${fmt(timestamp)}: its since is ${fmt(since)} (times before it may ` +
        "be compacted); read at a time at or beyond the since, e.g. frontiers(id).since",
    );
  }
}

/** The controller was closed. */
export class ControllerClosed extends ControllerError {
  override name = "ControllerClosed";
  constructor() {
    super("the compute controller is closed; build a new one with createComputeController");
  }
}

function fmt(f: Frontier): string {
  return f === null ? "[]" : `[${f}]`;
}
