/**
 * Error classes of `@mzts/controller-unified`: one root (`UnifiedControllerError`) and a narrow
 * class per failure, each with structured fields and a message that says what to do next.
 *
 * The peek outcomes (`PeekCanceled`, its subclass `PeekTimeout`, `PeekFailed`) are defined here
 * once for both controller paths: the unified driver (`./state`) rejects with them and
 * compute-client re-exports them as its own, so `instanceof` (environmentd's Connect mapping)
 * holds whichever path answered a peek. They live here, not in compute-client, because
 * compute-client depends on this package and never the other way.
 */

/** Root of every error thrown by `@mzts/controller-unified`. */
export class UnifiedControllerError extends Error {
  override name = "UnifiedControllerError";
}

/** A reconnect backoff with a field out of range (a caller's configuration error). */
export class InvalidBackoff extends UnifiedControllerError {
  override name = "InvalidBackoff";
  constructor(
    /** The offending field of `Backoff`. */
    readonly field: "initialMs" | "maxMs" | "jitter",
    readonly value: number,
    /** What the field must be. */
    readonly expected: string,
  ) {
    super(`invalid reconnect backoff: ${field} is ${value}; give ${expected}`);
  }
}

/**
 * A replica ended its `Control` stream (it should never: a replica serves until the controller
 * goes away). The incarnation fails; the instance starts the next one, whose replay reconciles.
 */
export class ReplicaStreamEnded extends UnifiedControllerError {
  override name = "ReplicaStreamEnded";
  constructor(
    /** The workload whose stream ended. */
    readonly stream: string,
  ) {
    super(`the replica ended the ${stream} stream; the next incarnation reconnects and replays`);
  }
}

/**
 * How a replica's controller endpoints are laid out (design §9 phase 4): `two-port` serves
 * `ComputeService` and `StorageService` on two ports (the legacy client), `one-port` serves
 * `ClusterService` on one (`cluster-unification-client`). Decided once per replica, at its
 * creation, from its PhaseSet.
 */
export type ReplicaLayout = "two-port" | "one-port";

/**
 * The replica does not serve the service this controller speaks (Connect `Unimplemented`): the
 * controller and the replica disagree on the layout — e.g. a replica started (or adopted) under
 * the other setting of `cluster-unification-client`. Shown in the replica's status; the
 * controller keeps retrying with backoff.
 */
export class ReplicaLayoutMismatch extends UnifiedControllerError {
  override name = "ReplicaLayoutMismatch";
  constructor(
    readonly replicaId: string,
    /** The layout the controller speaks. */
    readonly controllerLayout: ReplicaLayout,
    /** The service the replica refused (e.g. `mz.cluster.v1.ClusterService`). */
    readonly service: string,
    /** The replica's own message. */
    readonly detail: string,
  ) {
    const replicaLayout = controllerLayout === "one-port" ? "two-port" : "one-port";
    super(
      `replica layout mismatch: replica ${replicaId} does not serve ${service} (${detail}); ` +
        `the controller speaks the ${controllerLayout} layout, the replica runs the ${replicaLayout} one. ` +
        "Drop and recreate the replica so it starts with the cluster's current flags, or set " +
        `cluster-unification-client back to ${controllerLayout === "one-port" ? "off" : "on"} for its cluster`,
    );
  }
}

/**
 * The caller canceled a peek (or it timed out, `PeekTimeout`), or the controller closed. Shared
 * by both controller paths (see the file comment; compute-client re-exports it).
 */
export class PeekCanceled extends UnifiedControllerError {
  override name = "PeekCanceled";
  constructor(
    readonly uuid: string,
    readonly reason: string,
  ) {
    super(`peek ${uuid} was canceled: ${reason}; issue a new peek if the result is still needed`);
  }
}

/** No replica answered a peek within the caller's timeout; the peek was canceled. */
export class PeekTimeout extends PeekCanceled {
  override name = "PeekTimeout";
  constructor(
    uuid: string,
    readonly timeoutMs: number,
  ) {
    super(
      uuid,
      `no replica answered within ${timeoutMs} ms (are the replicas connected and hydrated? ` +
        "check with `mzctl status`); retry with a larger timeoutMs",
    );
  }
}

/** A replica answered a peek with an error, or the peek's target replica went away. */
export class PeekFailed extends UnifiedControllerError {
  override name = "PeekFailed";
  constructor(
    readonly uuid: string,
    /** The replica's error text (e.g. "target replica failed or was dropped"). */
    readonly reason: string,
  ) {
    super(
      `peek ${uuid} failed: ${reason}; fix the query or its time and retry (a failed target ` +
        "replica can be retried once it is connected again, or without targetReplica)",
    );
  }
}
