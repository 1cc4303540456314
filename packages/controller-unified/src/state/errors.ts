/**
 * Errors of the unified controller state (`./state`, phase 5): one root, `ClusterStateError`
 * (under the package root `UnifiedControllerError`), and a narrow class per caller mistake, each
 * with structured fields and a message that says what to do next. Internal bugs are
 * `InvariantViolation` (`@mzts/repr`), never one of these.
 */
import type { Frontier, GlobalId, ReplicaId } from "@mzts/repr";
import { UnifiedControllerError } from "../errors.js";

/**
 * The errors both controller paths throw (the peek outcomes, `SubscribeFailed`, the logging and
 * metrics errors): one definition, in `../errors.ts`, which compute-client re-exports too.
 */
export {
  InvalidLoggingConfig,
  LogImportUntargeted,
  LogPeekUntargeted,
  MetricsConflict,
  PeekCanceled,
  PeekFailed,
  PeekTimeout,
  SubscribeFailed,
} from "../errors.js";

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
