/**
 * The per-workload rules of the collection table, kept as rules (design.md §9 phase 5): what a
 * replica incarnation's start, replay, failure and removal, and a collection's drop, do to a
 * row, and when a dropped row may be forgotten. Compute and storage replicas acknowledge drops
 * differently on the wire, so the rules differ; the table, its fields and the one hold
 * mechanism are shared. Each rule is the legacy controller's, stated once here:
 *
 * ## compute (compute-client `collections.ts`)
 * - create: every current replica holds the collection at its as-of (`replica:<id>`), until it
 *   reports an input frontier beyond it.
 * - spawn (a new incarnation starts): its per-replica write frontier resets — except for a
 *   collection whose drop was already sent (`since` empty), which the replay will not contain:
 *   that counts as acknowledged (`null`); it holds every live collection at the since its
 *   replay rebuilds it at.
 * - replay read: a dropped collection the replay no longer has is acknowledged for that replica.
 * - failure: nothing (the next spawn resets).
 * - replica dropped: its frontiers and holds go.
 * - drop: the policy hold and the replica holds are released.
 * - forget: dropped, no hold left, since empty, and every replica reported the empty write
 *   frontier.
 *
 * ## storage (storage-client `collections.ts`)
 * - create, spawn, replay: nothing (storage replicas hold nothing in the controller).
 * - failure / replica dropped: the replica's reported frontier goes and it owes no `droppedId`
 *   (its reconciliation drops silently).
 * - drop: the policy hold is released; the replicas that reported a frontier on their current
 *   connection owe a `droppedId` (a late frontier report adds its replica, unless its
 *   `droppedId` already arrived).
 * - forget: dropped, nothing owed, no hold left.
 */
import type { Frontier, ReplicaId } from "@mzts/repr";
import type { Collection, Workload } from "./collection-table.js";
import { Holder } from "./read-holds.js";

/** What a workload does to a row at each event (see the file comment). */
export interface ReplicaRules {
  created(c: Collection, replicas: Iterable<ReplicaId>): void;
  spawned(c: Collection, replicaId: ReplicaId): void;
  replayed(c: Collection, replicaId: ReplicaId): void;
  failed(c: Collection, replicaId: ReplicaId): void;
  removed(c: Collection, replicaId: ReplicaId): void;
  dropped(c: Collection): void;
  /** A write frontier report for a dropped row; returns whether it is recorded as usual. */
  lateWrite(c: Collection, replicaId: ReplicaId): boolean;
  forgettable(c: Collection, replicas: Iterable<ReplicaId>): boolean;
}

const releaseReplicaHold = (c: Collection, replicaId: ReplicaId) =>
  c.holds.release(Holder.replica(replicaId));

const holdForReplica = (c: Collection, replicaId: ReplicaId, at: Frontier) => {
  if (at !== null) c.holds.set(Holder.replica(replicaId), at);
};

/** Compute's rules. */
export const computeRules: ReplicaRules = {
  created(c, replicas) {
    for (const r of replicas) holdForReplica(c, r, c.since);
  },
  spawned(c, replicaId) {
    if (c.dropped && c.since === null) c.replicaWrite.set(replicaId, null);
    else c.replicaWrite.delete(replicaId);
    releaseReplicaHold(c, replicaId);
    if (!c.dropped) holdForReplica(c, replicaId, c.since);
  },
  replayed(c, replicaId) {
    if (c.dropped && c.since === null && !c.replicaWrite.has(replicaId)) {
      c.replicaWrite.set(replicaId, null);
    }
  },
  failed() {},
  removed(c, replicaId) {
    c.replicaWrite.delete(replicaId);
    releaseReplicaHold(c, replicaId);
  },
  dropped(c) {
    c.holds.release(Holder.POLICY);
    for (const h of c.holds.holders("replica:")) c.holds.release(h);
  },
  lateWrite: () => true,
  forgettable(c, replicas) {
    if (!c.dropped || c.holds.size > 0 || c.since !== null) return false;
    for (const r of replicas) if (c.replicaWrite.get(r) !== null) return false;
    return true;
  },
};

/** Storage's rules. */
export const storageRules: ReplicaRules = {
  created() {},
  spawned() {},
  replayed() {},
  failed(c, replicaId) {
    c.replicaWrite.delete(replicaId);
    c.owed?.delete(replicaId);
  },
  removed(c, replicaId) {
    storageRules.failed(c, replicaId);
  },
  dropped(c) {
    c.holds.release(Holder.POLICY);
    c.owed = new Set(c.replicaWrite.keys());
  },
  lateWrite(c, replicaId) {
    if (!c.delivered.has(replicaId)) c.owed?.add(replicaId);
    return false;
  },
  forgettable: (c) => c.dropped && c.owed !== undefined && c.owed.size === 0 && c.holds.size === 0,
};

/** The rules of a workload. */
export const REPLICA_RULES: Readonly<Record<Workload, ReplicaRules>> = {
  compute: computeRules,
  storage: storageRules,
};
