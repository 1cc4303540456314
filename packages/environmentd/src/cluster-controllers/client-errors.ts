/**
 * The legacy path's errors in the one interface's terms: the `-client` packages' error classes
 * (compute-client, storage-client) mapped to `@mzts/controller-unified/state`'s, so a caller of
 * `ClusterController` handles one set of classes whichever path a cluster is on.
 *
 * | `-client` class                                   | `./state` class         |
 * | ------------------------------------------------- | ----------------------- |
 * | `CollectionMissing` (both)                        | `CollectionMissing`     |
 * | `CollectionExists` (both)                         | `CollectionExists`      |
 * | `SinceViolation`, `ReadHoldBelowSince`            | `SinceViolation`        |
 * | `ReplicaMissing`, `ReplicaExists` (both)          | same names              |
 * | `InvalidReplicaId`                                | `InvalidStateRequest`   |
 *
 * The errors both paths share (`PeekTimeout`, `PeekCanceled`, `PeekFailed`, `SubscribeFailed`,
 * `InvalidLoggingConfig`, `LogPeekUntargeted`, `LogImportUntargeted`, `MetricsConflict`) are one
 * class each (`@mzts/controller-unified`'s, re-exported by both packages) and pass through as
 * they are, like anything else without a counterpart (closed controllers, `MalformedPlan`).
 */
// PHASE(state): legacy — delete when cluster-unification-state is retired
import * as compute from "@mzts/compute-client";
import {
  CollectionExists,
  CollectionMissing,
  InvalidStateRequest,
  ReplicaExists,
  ReplicaMissing,
  SinceViolation,
} from "@mzts/controller-unified/state";
import * as storage from "@mzts/storage-client";

/** `e` as the `./state` class it corresponds to (or `e` itself); `op` names the call. */
export function mapClientError(clusterId: string, op: string, e: unknown): unknown {
  if (e instanceof compute.CollectionMissing) return new CollectionMissing(clusterId, e.id, op);
  if (e instanceof storage.CollectionMissing)
    return new CollectionMissing(clusterId, e.collectionId, op);
  if (e instanceof compute.CollectionExists) return new CollectionExists(clusterId, e.id);
  if (e instanceof storage.CollectionExists) return new CollectionExists(clusterId, e.collectionId);
  if (e instanceof compute.SinceViolation) return new SinceViolation(e.id, e.timestamp, e.since);
  if (e instanceof storage.ReadHoldBelowSince)
    return new SinceViolation(e.collectionId, e.at, e.since);
  if (e instanceof compute.ReplicaMissing || e instanceof storage.ReplicaMissing)
    return new ReplicaMissing(clusterId, e.replicaId);
  if (e instanceof compute.ReplicaExists || e instanceof storage.ReplicaExists)
    return new ReplicaExists(clusterId, e.replicaId);
  if (e instanceof storage.InvalidReplicaId) return new InvalidStateRequest(op, e.message);
  return e;
}

/** Runs `f`, rethrowing a `-client` error as its `./state` class (`mapClientError`). */
export function mapped<T>(clusterId: string, op: string, f: () => T): T {
  try {
    return f();
  } catch (e) {
    throw mapClientError(clusterId, op, e);
  }
}
