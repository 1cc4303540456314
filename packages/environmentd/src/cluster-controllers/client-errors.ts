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
 * | `PeekTimeout`, `PeekCanceled`, `PeekFailed`       | same names              |
 * | `InvalidReplicaId`                                | `InvalidStateRequest`   |
 *
 * Anything else (closed controllers, `MalformedPlan`, log-peek targeting, subscribe failures)
 * passes through unchanged: it has no counterpart and callers already handle it. A peek's own
 * errors (`keepPeekErrors`) keep compute-client's classes: `ClusterController.peek` promises the
 * compute controller's peek errors on both paths (`./state`'s carry the same names), and the
 * API maps both.
 */
// PHASE(state): legacy — delete when cluster-unification-state is retired
import * as compute from "@mzts/compute-client";
import {
  CollectionExists,
  CollectionMissing,
  InvalidStateRequest,
  PeekCanceled,
  PeekFailed,
  PeekTimeout,
  ReplicaExists,
  ReplicaMissing,
  SinceViolation,
} from "@mzts/controller-unified/state";
import * as storage from "@mzts/storage-client";

/** `e` as the `./state` class it corresponds to (or `e` itself); `op` names the call. */
export function mapClientError(
  clusterId: string,
  op: string,
  e: unknown,
  options: { readonly keepPeekErrors?: boolean } = {},
): unknown {
  if (options.keepPeekErrors === true && e instanceof compute.ControllerError) {
    if (e instanceof compute.PeekCanceled || e instanceof compute.PeekFailed) return e;
  }
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
  if (e instanceof compute.PeekTimeout) return new PeekTimeout(e.uuid, e.timeoutMs);
  if (e instanceof compute.PeekCanceled) return new PeekCanceled(e.uuid, e.reason);
  if (e instanceof compute.PeekFailed) return new PeekFailed(e.uuid, e.reason);
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
