/**
 * Error classes of `@mzts/compute-client`: one root (`ControllerError`) and a narrow class per
 * failure (shared/style.md §9).
 *
 * - `MetricsConflict`: a history metric name already registered with a different shape.
 * - `InstanceMissing`, `ReplicaMissing`, `CollectionMissing`: an unknown (or dropped) id.
 * - `InstanceExists`, `ReplicaExists`, `CollectionExists`: an id created twice.
 * - `SinceViolation`: a read (peek, dataflow as-of) below a collection's since.
 * - `PeekCanceled` (and its subclass `PeekTimeout`): the caller gave up on a peek.
 * - `PeekFailed`: the replica answered the peek with an error, or its target replica went away.
 *   These three are `@mzts/controller-unified`'s classes, re-exported: one definition for the
 *   legacy and the unified controller path, so `instanceof` holds whichever path answered (they
 *   extend `UnifiedControllerError`, not `ControllerError`).
 * - `SubscribeFailed`: a subscribe ended abnormally (replica error, dropped, controller closed).
 * - `ControllerClosed`: a call after `close()`.
 * - `InvalidLoggingConfig`: `createInstance` with a logging config the replicas could not serve.
 * - `LogPeekUntargeted`: a peek of a log index without a target replica.
 *
 * The command history's own refusals (`DuplicateInstanceCommand`, `CompactionRegression`,
 * `DuplicatePeek`) live with the history in `@mzts/protocol`.
 *
 * Every error carries structured fields and a message that says what to do next. Internal bugs are
 * not input errors: they throw `InvariantViolation` from `@mzts/repr`.
 */
import type { Frontier, GlobalId } from "@mzts/repr";

export { PeekCanceled, PeekFailed, PeekTimeout } from "@mzts/controller-unified";

/** Root of every error thrown by `@mzts/compute-client`. */
export class ControllerError extends Error {
  override name = "ControllerError";
}

/** A history metric name is registered in the registry with another type or other labels. */
export class MetricsConflict extends ControllerError {
  override name = "MetricsConflict";
  constructor(
    /** The contested metric name. */
    readonly metricName: string,
    /** Why the registered metric cannot be reused. */
    readonly reason: string,
  ) {
    super(
      `metric ${metricName} cannot be reused: ${reason}; attach every history of one registry ` +
        "with the same label names, or use a separate prom-client Registry",
    );
  }
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

/** The subscribe ended abnormally (replica error, dropped by compaction, controller closed). */
export class SubscribeFailed extends ControllerError {
  override name = "SubscribeFailed";
  constructor(
    readonly id: GlobalId,
    readonly reason: string,
  ) {
    super(`subscribe ${id} failed: ${reason}; start a new subscribe to keep reading`);
  }
}

/** The controller was closed. */
export class ControllerClosed extends ControllerError {
  override name = "ControllerClosed";
  constructor() {
    super("the compute controller is closed; build a new one with createComputeController");
  }
}

/** `createInstance` was given a logging configuration its replicas could not serve. */
export class InvalidLoggingConfig extends ControllerError {
  override name = "InvalidLoggingConfig";
  constructor(
    readonly instanceId: string,
    readonly reason: string,
  ) {
    super(
      `the logging configuration of compute instance ${instanceId} is invalid: ${reason}; ` +
        "map each introspection relation (LOG_RELATIONS of @mzts/protocol) to one unique GlobalId " +
        "and give an enabled config a positive intervalMs",
    );
  }
}

/**
 * A peek of a log index without `targetReplica`: every replica logs itself, so the rows differ
 * per replica and "the first answer" would be an arbitrary replica's.
 */
export class LogPeekUntargeted extends ControllerError {
  override name = "LogPeekUntargeted";
  constructor(
    readonly id: GlobalId,
    /** The relation the log index exposes. */
    readonly relation: string,
  ) {
    super(
      `${id} is the log index of introspection relation ${relation}, which every replica keeps ` +
        "about itself; peek it with targetReplica set to the replica whose log you want",
    );
  }
}

/**
 * A dataflow importing a log index that is not a replica-targeted subscribe: every replica logs
 * itself, so only a subscribe built by one replica (`subscribe(desc, { targetReplica })`) can read
 * one replica's log consistently.
 */
export class LogImportUntargeted extends ControllerError {
  override name = "LogImportUntargeted";
  constructor(
    readonly id: GlobalId,
    /** The relation the log index exposes. */
    readonly relation: string,
  ) {
    super(
      `${id} is the log index of introspection relation ${relation}, which every replica keeps ` +
        "about itself; import it only in a subscribe with targetReplica set",
    );
  }
}

function fmt(f: Frontier): string {
  return f === null ? "[]" : `[${f}]`;
}
