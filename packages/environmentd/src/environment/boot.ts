/**
 * Rebuild at boot: the controllers are rebuilt from the catalog's snapshot, adopting the replicas
 * a previous environmentd left running.
 *
 * ## Flow (numbered walk-through)
 * 1. Per cluster: build its controller (`Clusters.build`: PhaseSet read once,
 *    `selectControllers`); every catalog replica's spec carries the cluster's PhaseSet for the
 *    replica's migration slot (`stages/replica-slots.ts`; the slot is kept in the catalog).
 * 2. Open the since handles of every shard, then install the ingestions and dataflows in catalog
 *    (dependency) order — before any replica: a replica's replay is the history at the time it
 *    is added, and a replica that reconciles against a history without its dataflows drops them.
 * 3. `orchestrator.reconcile(wanted)`: same spec → adopted (same pid); others terminated; missing
 *    ones started.
 * 4. Each replica that runs is attached to its cluster's controller at its location; one that
 *    could not start is logged and left out (status shows it offline).
 *
 * ## Invariants
 * - Runs after `catalog.boot()` (this generation fenced the older ones) and before any API call.
 * - On failure the caller tears down what was built (nothing is half-served).
 */

import type { PhaseSet } from "@mzts/flags";
import type { ProcessOrchestrator, ReplicaSpec } from "@mzts/orchestrator";
import type { Logger } from "pino";
import type { Catalog, CatalogItem, ClusterReplica } from "../catalog/catalog.js";
import type { Clusters } from "./clusters.js";
import type { Dataflows } from "./dataflows.js";
import type { ObjectCache } from "./object-cache.js";
import type { Replicas } from "./replicas.js";
import { replicaPhases } from "./stages/replica-slots.js";

export interface RebuildOptions {
  readonly catalog: Catalog;
  readonly objects: ObjectCache;
  readonly orchestrator: ProcessOrchestrator;
  readonly clusters: Clusters;
  readonly replicas: Replicas;
  readonly dataflows: Dataflows;
  readonly log: Logger;
}

/**
 * Opens the since handles of `items`' shards, then installs them in the given (catalog,
 * dependency) order — boot's step 2, and a live controller rebuild's (`flips/controller-rebuild.ts`,
 * one cluster's items). A stored view that fails its checks (and what is built on it) is reported
 * failed, not installed.
 */
export async function installItems(
  o: Pick<RebuildOptions, "objects" | "dataflows">,
  items: readonly CatalogItem[],
): Promise<void> {
  for (const item of items) await o.dataflows.registerShards(item);
  const { byId } = await o.objects.get();
  for (const item of items) {
    if (byId.get(item.id)?.failed === undefined) o.dataflows.install(item, byId);
  }
}

/** Rebuilds the controllers from the catalog (see the file comment). */
export async function rebuildFromCatalog(o: RebuildOptions): Promise<void> {
  const snap = await o.catalog.snapshot();
  for (const c of snap.clusters) await o.clusters.build(c);
  const wanted: ReplicaSpec[] = [];
  for (const r of snap.replicas) {
    const phases = slotted(o, r);
    if (phases !== undefined) wanted.push(o.replicas.spec(r.clusterId, r.id, r.workers, phases));
  }
  await installItems(o, snap.items);
  const result = await o.orchestrator.reconcile(wanted);
  for (const r of snap.replicas) {
    const location = result.locations.get(r.id);
    const phases = slotted(o, r);
    if (location === undefined || phases === undefined) {
      o.log.warn({ replica_id: r.id, err: result.failed.get(r.id) }, "replica could not start");
      continue;
    }
    o.replicas.attach(r.clusterId, r.id, r.name, r.workers, phases, location, r.slot);
  }
  o.log.info(
    { clusters: snap.clusters.length, replicas: snap.replicas.length, items: snap.items.length },
    "controllers rebuilt from the catalog",
  );
}

/** The PhaseSet catalog replica `r` runs: its cluster's, for its slot (undefined: not built). */
function slotted(o: RebuildOptions, r: ClusterReplica): PhaseSet | undefined {
  const phases = o.clusters.selection(r.clusterId)?.phases;
  return phases === undefined ? undefined : replicaPhases(phases, r.slot);
}
