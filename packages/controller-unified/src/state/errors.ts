/**
 * Errors of the unified controller state (`./state`, phase 5): one root, `ClusterStateError`
 * (under the package root `UnifiedControllerError`), and a narrow class per caller mistake, each
 * with structured fields and a message that says what to do next. Internal bugs are
 * `InvariantViolation` (`@mzts/repr`), never one of these.
 */
import type { Frontier, GlobalId, ReplicaId } from "@mzts/repr";
import { UnifiedControllerError } from "../errors.js";

/** The peek outcomes: one definition for both controller paths (`../errors.ts`). */
export { PeekCanceled, PeekFailed, PeekTimeout } from "../errors.js";

/** Root of every error the cluster state throws for bad input. */
export class ClusterStateError extends UnifiedControllerError {
  override name = "ClusterStateError";
}

/** An id that is not a live collection of this cluster (unknown, dropped or forgotten). */
export class CollectionMissing extends ClusterStateError {
  override name = "CollectionMissing";
  constructor(
    readonly clusterId: string,
    readonly id: GlobalId,
    readonly operation: string,
  ) {
    super(
      `${operation}: ${id} is not a live collection of cluster ${clusterId}; ` +
        "create it first, or check that it was not dropped",
    );
  }
}

/** An id that is already a collection (live, or dropped and not yet forgotten). */
export class CollectionExists extends ClusterStateError {
  override name = "CollectionExists";
  constructor(
    readonly clusterId: string,
    readonly id: GlobalId,
  ) {
    super(
      `${id} is already a collection of cluster ${clusterId}; give the new object a fresh id ` +
        "(a dropped id is reusable once every replica acknowledged the drop)",
    );
  }
}

/** A read (hold, peek, dataflow as-of) below a collection's since. */
export class SinceViolation extends ClusterStateError {
  override name = "SinceViolation";
  constructor(
    readonly id: GlobalId,
    readonly at: Frontier,
    readonly since: Frontier,
  ) {
    super(
      `${id} cannot be read at ${at === null ? "[]" : at}: its since is ` +
        `${since === null ? "[]" : since}; read at or after the since`,
    );
  }
}

/** A drop of a collection that live collections still read. */
export class DependantsExist extends ClusterStateError {
  override name = "DependantsExist";
  constructor(
    readonly id: GlobalId,
    readonly dependants: readonly GlobalId[],
  ) {
    super(`${id} is read by ${dependants.join(", ")}; drop those first`);
  }
}

/** A replica id that is not a replica of this cluster. */
export class ReplicaMissing extends ClusterStateError {
  override name = "ReplicaMissing";
  constructor(
    readonly clusterId: string,
    readonly replicaId: ReplicaId,
  ) {
    super(`${replicaId} is not a replica of cluster ${clusterId}; add it first`);
  }
}

/** A replica id that is already a replica of this cluster. */
export class ReplicaExists extends ClusterStateError {
  override name = "ReplicaExists";
  constructor(
    readonly clusterId: string,
    readonly replicaId: ReplicaId,
  ) {
    super(`${replicaId} is already a replica of cluster ${clusterId}; drop it before re-adding`);
  }
}

/** A peek whose uuid is already pending. */
export class DuplicatePeek extends ClusterStateError {
  override name = "DuplicatePeek";
  constructor(readonly uuid: string) {
    super(`peek ${uuid} is already pending; give every peek a fresh uuid`);
  }
}

/** A command the state cannot accept as given (wrong kind of object, malformed description). */
export class InvalidStateRequest extends ClusterStateError {
  override name = "InvalidStateRequest";
  constructor(
    readonly operation: string,
    readonly reason: string,
  ) {
    super(`${operation}: ${reason}`);
  }
}

/**
 * A subscribe ended before its empty upper: dropped, its target replica went away, a replica
 * answered with an error, its consumer stopped reading, or the controller closed. Same name and
 * message shape as compute-client's.
 */
export class SubscribeFailed extends ClusterStateError {
  override name = "SubscribeFailed";
  constructor(
    readonly id: GlobalId,
    readonly reason: string,
  ) {
    super(`subscribe ${id} failed: ${reason}; start a new subscribe to keep reading`);
  }
}

/** The cluster's logging configuration cannot be used (compute-client's twin). */
export class InvalidLoggingConfig extends ClusterStateError {
  override name = "InvalidLoggingConfig";
  constructor(
    readonly clusterId: string,
    readonly reason: string,
  ) {
    super(
      `the logging configuration of cluster ${clusterId} is invalid: ${reason}; map each ` +
        "introspection relation (LOG_RELATIONS of @mzts/protocol) to one unique GlobalId and give " +
        "an enabled config a positive intervalMs",
    );
  }
}

/** A peek of a log index without `targetReplica` (every replica logs itself). */
export class LogPeekUntargeted extends ClusterStateError {
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

/** A dataflow importing a log index that is not a replica-targeted subscribe. */
export class LogImportUntargeted extends ClusterStateError {
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

/** A metric name of the shared controller series is taken by other code (or other labels). */
export class MetricsConflict extends ClusterStateError {
  override name = "MetricsConflict";
  constructor(
    readonly metricName: string,
    readonly reason: string,
  ) {
    super(
      `metric ${metricName} cannot be reused: ${reason}; give the cluster controllers the ` +
        "environment's registry (the legacy controllers' series are shared), or a separate one",
    );
  }
}
