/**
 * Hydration of one replica: whether it has caught up with the cluster, export by export — the
 * condition a flip waits for before it retires a replica (a roll) or calls a reseat done.
 *
 * ## Rule
 * At `mark` time every live compute export (index, materialized view) of the cluster has a global
 * write frontier: the join of what its replicas reported. The replica has hydrated when, for every
 * export live now, its own reported write frontier has reached
 * - the global frontier seen at `mark` (it computes what the others had computed), and
 * - strictly beyond the export's as-of (Materialize's hydration: output beyond the as-of),
 * an empty frontier (`null`) counting as beyond everything. An export created after `mark` needs
 * only the second. A replica with no exports to build is hydrated at once.
 *
 * ## Invariants
 * - Read-only: it asks the compute controller for frontiers and never changes them.
 * - `pending` names what is missing, for the flip's step text and its failure message.
 */
import type { ComputeController } from "@mzts/compute-client";
import type { Frontier, GlobalId, ReplicaId } from "@mzts/repr";

/** The export frontiers a replica must reach (see the file comment). */
export type HydrationMark = ReadonlyMap<GlobalId, Frontier>;

/** The global write frontier of every live export of `clusterId`, now. */
export function markHydration(
  compute: ComputeController,
  clusterId: string,
  replicaId: ReplicaId,
): HydrationMark {
  const mark = new Map<GlobalId, Frontier>();
  for (const [id, f] of compute.replicaFrontiers(clusterId, replicaId)) mark.set(id, f.global);
  return mark;
}

/** What is still missing for `replicaId` to count as hydrated against `mark`. */
export interface HydrationProgress {
  readonly hydrated: boolean;
  /** Exports not caught up yet (ids). */
  readonly pending: readonly GlobalId[];
  /** Exports of the cluster now. */
  readonly total: number;
}

const reached = (have: Frontier | undefined, need: Frontier): boolean =>
  have !== undefined && (have === null || (need !== null && have >= need));

/** Whether `replicaId` has caught up with `mark` (see the file comment). */
export function hydrationOf(
  compute: ComputeController,
  clusterId: string,
  replicaId: ReplicaId,
  mark: HydrationMark,
): HydrationProgress {
  const pending: GlobalId[] = [];
  let total = 0;
  for (const [id, f] of compute.replicaFrontiers(clusterId, replicaId)) {
    total++;
    const beyondAsOf: Frontier = f.asOf + 1n;
    const seen = mark.get(id);
    const need = seen === undefined || (seen !== null && seen < beyondAsOf) ? beyondAsOf : seen;
    if (!reached(f.replica, need)) pending.push(id);
  }
  return { hydrated: pending.length === 0, pending, total };
}
