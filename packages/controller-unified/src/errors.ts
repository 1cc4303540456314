/**
 * Error classes of `@mzts/controller-unified`: one root (`UnifiedControllerError`) and a narrow
 * class per failure, each with structured fields and a message that says what to do next.
 *
 * The errors both controller paths throw are defined here once: the peek outcomes
 * (`PeekCanceled`, its subclass `PeekTimeout`, `PeekFailed`), `SubscribeFailed`,
 * `InvalidLoggingConfig`, `LogPeekUntargeted`, `LogImportUntargeted` and `MetricsConflict`. The
 * unified driver (`./state`) throws them and compute-client re-exports them as its own, so
 * `instanceof` (environmentd's Connect mapping, a caller's catch) holds whichever path answered.
 * They live here, not in compute-client, because compute-client depends on this package and never
 * the other way.
 */
import type { GlobalId } from "@mzts/repr";

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

/**
 * A subscribe ended before its empty upper: dropped, its target replica went away, a replica
 * answered with an error, its consumer stopped reading, or the controller closed. Shared by both
 * controller paths (see the file comment; compute-client re-exports it).
 */
export class SubscribeFailed extends UnifiedControllerError {
  override name = "SubscribeFailed";
  constructor(
    readonly id: GlobalId,
    readonly reason: string,
  ) {
    super(`subscribe ${id} failed: ${reason}; start a new subscribe to keep reading`);
  }
}

/**
 * A cluster (compute instance) was given a logging configuration its replicas could not serve.
 * Shared by both controller paths.
 */
export class InvalidLoggingConfig extends UnifiedControllerError {
  override name = "InvalidLoggingConfig";
  constructor(
    /** The cluster, i.e. compute-client's compute instance. */
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

/**
 * A peek of a log index without `targetReplica`: every replica logs itself, so the rows differ
 * per replica and "the first answer" would be an arbitrary replica's. Shared by both paths.
 */
export class LogPeekUntargeted extends UnifiedControllerError {
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
 * one replica's log consistently. Shared by both paths.
 */
export class LogImportUntargeted extends UnifiedControllerError {
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

/**
 * A controller metric name is registered in the registry by other code, with another type or
 * other labels. Shared by both paths (their series are one set per registry).
 */
export class MetricsConflict extends UnifiedControllerError {
  override name = "MetricsConflict";
  constructor(
    /** The contested metric name. */
    readonly metricName: string,
    /** Why the registered metric cannot be reused. */
    readonly reason: string,
  ) {
    super(
      `metric ${metricName} cannot be reused: ${reason}; give every controller of one environment ` +
        "the same registry (their series are shared, with the same label names), or use a " +
        "separate prom-client Registry",
    );
  }
}
