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
 * - Read-only: it asks the cluster's controller for frontiers and never changes them. The legacy
 *   controller gives compute-client's per-replica record (replica, global, as-of); the unified
 *   one its `replicaFrontiers` for every live export (`computeExports`: one not reported on yet
 *   is pending) with the global write frontier and since of each (the since is at least the
 *   as-of; a controller without them: a typed error).
 * - `pending` names what is missing, for the flip's step text and its failure message.
 */
import { type ClusterController, InvalidStateRequest } from "@mzts/controller-unified/state";
import { Frontier, type GlobalId, type ReplicaId } from "@mzts/repr";
import { LegacyClusterController } from "../../cluster-controllers/legacy-cluster-controller.js";
import { ShadowedClusterController } from "../stages/shadowed-controller.js";

/** One export as a replica and the cluster see it. */
interface ExportFrontiers {
  /** The replica's reported write frontier (undefined: not reported by its incarnation). */
  readonly replica: Frontier | undefined;
  readonly global: Frontier;
  /** Output beyond this counts (the as-of; on the unified path the since, at least the as-of). */
  readonly asOf: Frontier;
}

/** What the unified controller tells a hydration check (`UnifiedClusterController`). */
interface UnifiedExports {
  replicaFrontiers(replicaId: ReplicaId): ReadonlyMap<GlobalId, Frontier>;
  computeExports(): readonly GlobalId[];
}

/** Every live export of the cluster with `replicaId`'s frontier. */
function exportFrontiers(
  cluster: ClusterController,
  replicaId: ReplicaId,
): ReadonlyMap<GlobalId, ExportFrontiers> {
  // A `state` stage: the authoritative controller's view (it drives the replicas).
  const controller = cluster instanceof ShadowedClusterController ? cluster.authoritative : cluster;
  // PHASE(state): legacy — delete when cluster-unification-state is retired
  if (controller instanceof LegacyClusterController)
    return controller.replicaCollectionFrontiers(replicaId);
  const unified = controller as Partial<UnifiedExports>;
  if (unified.replicaFrontiers === undefined || unified.computeExports === undefined) {
    throw new InvalidStateRequest(
      "replicaFrontiers",
      "the unified cluster controller does not report per-replica frontiers yet; flip the " +
        "cluster's state phase off to roll its replicas",
    );
  }
  // Every live export, not only those the replica reported on: one it has not reported on yet
  // is pending (else a successor that built nothing yet counted as hydrated at once).
  const reported = unified.replicaFrontiers(replicaId);
  const out = new Map<GlobalId, ExportFrontiers>();
  for (const id of unified.computeExports()) {
    if (!controller.hasCollection(id)) continue;
    const f = controller.frontiers(id);
    out.set(id, { replica: reported.get(id), global: f.write, asOf: f.since });
  }
  return out;
}

/** The export frontiers a replica must reach (see the file comment). */
export type HydrationMark = ReadonlyMap<GlobalId, Frontier>;

/** The global write frontier of every live export of `clusterId`, now. */
export function markHydration(controller: ClusterController, replicaId: ReplicaId): HydrationMark {
  const mark = new Map<GlobalId, Frontier>();
  for (const [id, f] of exportFrontiers(controller, replicaId)) mark.set(id, f.global);
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
  controller: ClusterController,
  replicaId: ReplicaId,
  mark: HydrationMark,
): HydrationProgress {
  const pending: GlobalId[] = [];
  let total = 0;
  for (const [id, f] of exportFrontiers(controller, replicaId)) {
    total++;
    const beyondAsOf: Frontier = f.asOf === null ? null : f.asOf + 1n;
    const seen = mark.get(id);
    const need =
      seen === undefined || (seen !== null && Frontier.lessThan(seen, beyondAsOf))
        ? beyondAsOf
        : seen;
    if (!reached(f.replica, need)) pending.push(id);
  }
  return { hydrated: pending.length === 0, pending, total };
}
