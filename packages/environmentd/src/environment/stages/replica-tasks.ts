/**
 * The replica task of each replica when `cluster-unification-replicas` migrates (design §9
 * "Migration stages"): the split is per replica task, so a cluster's instance connects each
 * replica through the task its slot's PhaseSet selects (`selectControllers` chooses the task
 * from a PhaseSet; this applies that choice per replica).
 *
 * ## Invariants
 * - Outside a `replicas` migration the cluster's own choice is returned as it is.
 * - A replica whose slot is not known (not started by this environmentd) takes the cluster's
 *   choice, i.e. the authoritative path.
 * - The rehydration policy an instance follows is per instance, not per replica: a split
 *   cluster follows the authoritative path's (the cluster's choice).
 */
import type { ReplicaConnector } from "@mzts/controller-unified";
import type { PhasePath, PhaseSet } from "@mzts/flags";

/**
 * A connector picking, per replica, `choose(cluster.forSlot(that replica's slot))`;
 * `choose(cluster)` when the cluster's `replicas` phase is not migrating.
 */
export function perReplicaTask<C, R>(
  cluster: PhaseSet,
  slotOf: ((replicaId: string) => PhasePath | undefined) | undefined,
  choose: (phases: PhaseSet) => ReplicaConnector<C, R>,
): ReplicaConnector<C, R> {
  const own = choose(cluster);
  if (slotOf === undefined || !cluster.migrating.includes("replicas")) return own;
  const connect: ReplicaConnector<C, R> = (o) => {
    const slot = slotOf(o.replicaId);
    return choose(slot === undefined ? cluster : cluster.forSlot(slot))(o);
  };
  return own.rehydration === undefined
    ? connect
    : Object.assign(connect, { rehydration: own.rehydration });
}
