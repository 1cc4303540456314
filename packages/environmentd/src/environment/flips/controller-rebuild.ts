/**
 * Rebuilding a cluster's controller (a live flip of `state`: legacy ↔ unified, also when a
 * prerequisite such as `client` or `replicas` turns `state` off or on): the replica processes keep
 * running and reconcile against the new controller; no dataflow is replaced.
 *
 * ## Steps (numbered walk-through)
 * 1. `rebuild` (in the DDL queue: no catalog write interleaves):
 *    a. bridge holds: every collection of another cluster that this cluster's dataflows import
 *       is held once more (`Shards.acquire`), so it stays held while the old controller lets go;
 *       the cluster's durable collections' since and upper are floored for readers at their
 *       current values (`Shards.freeze`) until the rebuild ends;
 *    b. `Clusters.rebuild`: calls naming the cluster wait; the old controller's pending peeks
 *       get a short deadline to finish (`REBUILD_PEEK_DRAIN_MS`); it closes (a legacy cluster's
 *       instances are dropped without a word to the replicas); the new one is built from the
 *       PhaseSet read now;
 *    c. legacy → unified: the environment's `PersistReadHolds` hands the cluster's since handles
 *       off without expiring them (`handOff`): the unified driver re-attaches them under the same
 *       reader id (`SINCE_READER_ID`); unified → legacy: the closed driver never expired them and
 *       `PersistReadHolds.register` re-attaches them. The shard's since never moves back;
 *    d. the cluster's catalog items are re-installed in dependency order as at boot
 *       (`installItems`: shards opened, ingestions and dataflows created, their imports held);
 *       each durable collection's read policy is raised to the since the old controller had
 *       (the re-attached handle's durable since may trail it by a tick): no since moves back;
 *    e. holds other clusters' dataflows and subscribes have on this cluster's collections move to
 *       the new controller (`Shards.moveHolds`: new hold first, then the old one released);
 *       the old controller's holds on other clusters (its dataflows' imports) and the bridges are
 *       released — the re-installed dataflows hold them now;
 *    f. every running replica is re-added at its current location (`Replicas.reattach`): its
 *       replay makes it reconcile, reusing every dataflow and ingestion.
 *    A failure halfway through b–f (the new controller built, some items installed, some
 *    replicas not re-added) is retried: `Clusters.rebuild` discards the half-built controller
 *    and builds another after a backoff (`REBUILD_RETRY`, about 6 s in all), c–f run again on
 *    it (they are repeatable: hand-offs and registrations of a shard already moved are no-ops,
 *    the old controller's imports are released once, the bridges hold them meanwhile). Calls
 *    naming the cluster wait for the whole of it (`Clusters.ready`), so no read ever sees a
 *    half-built controller: its missing collections would fail reads, and its sinces, not yet
 *    raised to the old controller's, would let a read choose a time the old one had compacted
 *    past — which is why it retries rather than reopening the old controller (closed, its
 *    subscribes ended: reopening it is a rebuild too, to the path the flip is leaving). When every
 *    attempt fails the cluster stays on the old, closed controller, the flip shows `failed`, and
 *    the next flip or a restart rebuilds it.
 * 2. `reconcile` (outside the queue): wait until every replica has caught up again.
 *
 * ## What callers see
 * - Peeks arriving during step 1 wait for it (`Clusters.ready`), then go to the new controller;
 *   a peek the old controller could not finish within the drain deadline fails with
 *   `ControllerRebuilt` (retryable: the same peek succeeds once the rebuild is done).
 * - A subscribe on the cluster ends with `ControllerRebuilt` (retryable: subscribe again, from
 *   the last frontier it reported). A subscribe on another cluster over this one's
 *   collections keeps running (its hold moves).
 */
import type { PersistReadHolds } from "@mzts/storage-client";
import type { Logger } from "pino";
import type { Catalog, Cluster } from "../../catalog/catalog.js";
import { installItems } from "../boot.js";
import type { Clusters } from "../clusters.js";
import type { Dataflows } from "../dataflows.js";
import type { DdlQueue } from "../ddl-queue.js";
import type { ObjectCache } from "../object-cache.js";
import type { Replicas } from "../replicas.js";
import type { Shards } from "../shards.js";
import { markHydration } from "./hydration.js";
import { awaitHydration } from "./hydration-wait.js";
import type { StepReporter } from "./replica-roll.js";

export interface RebuildDeps {
  readonly catalog: Catalog;
  readonly queue: DdlQueue;
  readonly clusters: Clusters;
  readonly replicas: Replicas;
  readonly shards: Shards;
  readonly dataflows: Dataflows;
  readonly objects: ObjectCache;
  readonly readHolds: PersistReadHolds;
  /** How long the replicas may take to reconcile (ms). */
  readonly hydrationTimeoutMs: number;
}

/** What a rebuild did (logged with the flip). */
export interface RebuildResult {
  readonly from: string;
  readonly to: string;
  readonly items: number;
  readonly replicas: number;
  /** Holds of other clusters on this cluster's collections moved to the new controller. */
  readonly movedHolds: number;
  /** Of those, how many had to move up to the new controller's since. */
  readonly raisedHolds: number;
}

/** Rebuilds `cluster`'s controller (see the file comment). */
export async function rebuildController(
  d: RebuildDeps,
  cluster: Cluster,
  report: StepReporter,
  signal: AbortSignal,
  log?: Logger,
): Promise<RebuildResult> {
  let result: RebuildResult | undefined;
  report.begin("rebuild", "rebuilding the cluster's controller (its replicas keep running)");
  try {
    result = await d.queue.run(() => rebuildInQueue(d, cluster));
    report.end("rebuild", true);
  } catch (e) {
    report.end("rebuild", false);
    throw e;
  }
  const controller = d.clusters.controllerOf(cluster.id, "rebuild");
  const ids = controller.replicas().map((r) => r.replicaId);
  report.begin("reconcile", `awaiting reconciliation of ${ids.length} replica(s)`);
  try {
    await Promise.all(
      ids.map((replicaId) =>
        awaitHydration({
          controller,
          replicaId,
          label: replicaId,
          mark: markHydration(controller, replicaId),
          timeoutMs: d.hydrationTimeoutMs,
          signal,
          // Each new count of what a replica still lacks (a reconcile that does not finish
          // names its replica and exports in the log).
          onProgress: (p) =>
            log?.info(
              { replica_id: replicaId, pending: p.pending.slice(0, 10), of: p.total },
              `flip: reconciling ${replicaId}: ${p.pending.length} of ${p.total} export(s) pending`,
            ),
        }),
      ),
    );
    report.end("reconcile", true);
  } catch (e) {
    report.end("reconcile", false);
    throw e;
  }
  return result;
}

async function rebuildInQueue(d: RebuildDeps, cluster: Cluster): Promise<RebuildResult> {
  const items = (await d.catalog.snapshot()).items.filter((i) => i.clusterId === cluster.id);
  const imports = d.shards.heldBy(cluster.id);
  // The old controller's sinces: the new one starts from the handles' durable sinces (which may
  // trail them by a tick); its read policy is raised to them, so no since moves back.
  const sinces = new Map(d.shards.ownedBy(cluster.id).map((id) => [id, d.shards.since(id)]));
  const bridges = imports.map((h) => d.shards.acquire(h.collectionId, h.frontier));
  // Readers see the old since and upper until the new controller has the collections.
  const thaw = d.shards.freeze(cluster.id);
  let moved = { moved: 0, raised: 0 };
  let replicas = 0;
  try {
    let importsReleased = false;
    // Repeatable: `Clusters.rebuild` runs it again on a fresh controller when an attempt failed
    // halfway (the half-built one is discarded).
    const { from, to } = await d.clusters.rebuild(cluster, async (_old, attempt) => {
      if (attempt > 1) {
        // The failed attempt's dataflows took holds on other clusters' collections; their
        // controller is discarded, so they go (the bridges hold those collections meanwhile).
        const original = new Set(imports);
        for (const h of d.shards.heldBy(cluster.id)) if (!original.has(h)) h.release();
      }
      // PHASE(state): legacy — delete when cluster-unification-state is retired (a unified
      // controller owns the cluster's since handles: the environment's hands off what it has, the
      // old legacy controller's or what a failed legacy attempt re-registered; else a no-op)
      if (d.clusters.controllerOf(cluster.id).path === "unified") {
        for (const id of d.shards.ownedBy(cluster.id)) await d.readHolds.handOff(id);
      }
      await installItems(d, items);
      const controller = d.clusters.controllerOf(cluster.id, "rebuild");
      for (const [id, since] of sinces) {
        if (since === null) continue;
        // PHASE(state): legacy — delete when cluster-unification-state is retired (the legacy
        // adapter's allowCompaction of a materialized view moves its compute since only)
        if (controller.path === "legacy" && d.readHolds.has(id))
          d.readHolds.advancePolicy(id, since);
        else if (controller.hasCollection(id)) controller.allowCompaction(id, since);
      }
      moved = d.shards.moveHolds(cluster.id);
      if (!importsReleased) for (const h of imports) h.release();
      importsReleased = true;
      replicas = d.replicas.reattach(cluster.id);
    });
    return {
      from,
      to,
      items: items.length,
      replicas,
      movedHolds: moved.moved,
      raisedHolds: moved.raised,
    };
  } finally {
    thaw();
    for (const b of bridges) b.release();
  }
}
