/**
 * Errors of environmentd's composition (`environment.ts`), under the package root
 * `EnvironmentdError`. The catalog's own errors (`UnknownObject`, `NameInUse`, …) live in
 * `catalog/errors.ts`; these cover what only the running environment can refuse.
 */
import type { Frontier } from "@mzts/repr";
import { EnvironmentdError } from "./catalog/errors.js";

/** A request that is well-formed on the wire but wrong for the catalog (→ InvalidArgument). */
export class InvalidObjectRequest extends EnvironmentdError {
  override name = "InvalidObjectRequest";
  constructor(
    readonly field: string,
    readonly reason: string,
  ) {
    super(`invalid request at ${field}: ${reason}; nothing was changed — fix it and retry`);
  }
}

/** A peek of an object that no index serves (→ FailedPrecondition). */
export class NoIndexForPeek extends EnvironmentdError {
  override name = "NoIndexForPeek";
  constructor(readonly objectName: string) {
    super(
      `${objectName} has no index to answer peeks; create one with CreateIndex ` +
        `(on: "${objectName}") and peek again`,
    );
  }
}

/** A peek below the collection's since (→ FailedPrecondition). */
export class PeekBelowSince extends EnvironmentdError {
  override name = "PeekBelowSince";
  constructor(
    readonly objectName: string,
    readonly timestamp: bigint,
    readonly since: Frontier,
  ) {
    super(
      `cannot read ${objectName} at ${timestamp}: it is readable from since ${since ?? "[] (dropped)"} on ` +
        "(compacted below it, or below the as-of a materialized view was first written at); " +
        "peek at a timestamp at or beyond the since, or leave the timestamp unset",
    );
  }
}

/** A subsource cannot be dropped alone (→ FailedPrecondition). */
export class SubsourceDrop extends EnvironmentdError {
  override name = "SubsourceDrop";
  constructor(
    readonly objectName: string,
    readonly sourceName: string,
  ) {
    super(`${objectName} is a subsource of ${sourceName}; drop the source ${sourceName} instead`);
  }
}

/** The environment was closed (→ Unavailable). */
export class EnvironmentClosed extends EnvironmentdError {
  override name = "EnvironmentClosed";
  constructor() {
    super("the environment is closed; start a new environmentd on the data directory");
  }
}

/** A read whose inputs did not reach the requested time in time (→ DeadlineExceeded). */
export class UpperWaitTimeout extends EnvironmentdError {
  override name = "UpperWaitTimeout";
  constructor(
    readonly objectName: string,
    readonly timestamp: bigint,
    readonly timeoutMs: number,
  ) {
    super(
      `the inputs of ${objectName} did not pass ${timestamp} within ${timeoutMs} ms; ` +
        "peek at an earlier time, leave the timestamp unset, or raise timeoutMs",
    );
  }
}

/** A peek of `mz_introspection.<name>` for a relation that does not exist (→ NotFound). */
export class UnknownIntrospectionRelation extends EnvironmentdError {
  override name = "UnknownIntrospectionRelation";
  constructor(
    readonly objectName: string,
    /** Every valid `mz_introspection.<relation>`. */
    readonly valid: readonly string[],
  ) {
    super(
      `unknown introspection relation ${JSON.stringify(objectName)}; the introspection ` +
        `relations are ${valid.join(", ")} (list them with \`mzctl introspection\`)`,
    );
  }
}

/** An introspection peek of a cluster whose logging is off (→ FailedPrecondition). */
export class IntrospectionDisabled extends EnvironmentdError {
  override name = "IntrospectionDisabled";
  constructor(readonly cluster: string) {
    super(
      `cluster ${cluster} has introspection interval 0: logging is off, so its replicas keep no ` +
        "introspection relations. The interval is fixed when a cluster is created: create a " +
        "cluster with an interval > 0 (CreateCluster introspection_interval_ms, default 1000; " +
        `\`mzctl clusters create <name> --introspection-interval-ms 1000\`) to introspect it`,
    );
  }
}

/**
 * A peek of a storage introspection relation on a replica that runs compute's legacy logging
 * (`cluster-unification-logging` not in force when it started), which keeps no storage relations
 * (→ FailedPrecondition).
 */
export class StorageIntrospectionUnavailable extends EnvironmentdError {
  override name = "StorageIntrospectionUnavailable";
  constructor(
    readonly relation: string,
    readonly cluster: string,
    readonly replica: string,
  ) {
    super(
      `${relation} is a storage relation, kept only by replicas on the unified logging path; ` +
        `replica ${replica} of cluster ${cluster} was started with cluster-unification-logging ` +
        "not in force (compute's legacy logging). Turn the flag on for the cluster (with " +
        "cluster-unification-servers) and create a new replica to read it; compute relations " +
        "are readable on this replica as they are",
    );
  }
}

/** An introspection peek without a replica, while no replica of the cluster is online (→ Unavailable). */
export class NoReadyReplica extends EnvironmentdError {
  override name = "NoReadyReplica";
  constructor(
    readonly cluster: string,
    /** Each replica with its health, e.g. `r1 (offline: …)`; empty when it has none. */
    readonly replicas: readonly string[],
  ) {
    super(
      `no replica of cluster ${cluster} is online to answer an introspection peek ` +
        `(${replicas.length === 0 ? "it has no replicas; add one with CreateReplica" : replicas.join(", ")}); ` +
        "retry once one is online (`mzctl status`), or name one with `replica`",
    );
  }
}

/** A read of an object that failed and is no longer maintained (→ FailedPrecondition). */
export class ObjectFailed extends EnvironmentdError {
  override name = "ObjectFailed";
  constructor(
    readonly objectName: string,
    readonly reason: string,
  ) {
    super(
      `${objectName} failed and is no longer maintained: ${reason}; ` +
        `see \`mzctl status\`, drop ${objectName} and create a fixed version`,
    );
  }
}

/**
 * A call named a cluster whose controller is not built here (dropped meanwhile, or not booted;
 * → Unavailable).
 */
export class ClusterControllerMissing extends EnvironmentdError {
  override name = "ClusterControllerMissing";
  constructor(
    readonly clusterId: string,
    readonly operation: string,
  ) {
    super(
      `${operation}: cluster ${clusterId} has no controller in this environmentd (dropped, or ` +
        "not booted yet); list the clusters and retry on one that exists",
    );
  }
}

/**
 * A peek or subscribe ran on a cluster's controller that a live flip of `state` rebuilt under it
 * (the peek did not finish within the drain deadline; a subscribe on the cluster always ends):
 * retryable (→ Unavailable).
 */
export class ControllerRebuilt extends EnvironmentdError {
  override name = "ControllerRebuilt";
  constructor(
    readonly clusterId: string,
    readonly operation: string,
    cause?: unknown,
  ) {
    super(
      `${operation}: cluster ${clusterId}'s controller was rebuilt meanwhile (a live flip of ` +
        "cluster-unification-state); run it again (a subscribe: from the last frontier it reported)",
      { cause },
    );
  }
}
