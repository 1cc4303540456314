/**
 * Cluster controllers: for each cluster, ONE `ClusterController` (`@mzts/controller-unified/state`)
 * that every call naming the cluster goes through (`controllerOf`), built from the cluster's
 * PhaseSet with what `selectControllers` chose:
 * - `state` does not take effect (legacy): the cluster's compute instance and storage instance on
 *   the environment's shared controllers (the compute instance gets the cluster's logging config,
 *   `introspection/log-indexes.ts`) behind `LegacyClusterController`, its shards' since handles in
 *   the environment's `PersistReadHolds`;
 * - `state` takes effect (unified): a `UnifiedClusterController` over one `ClusterState`, with
 *   the per-workload unified replica tasks (two-port replicas), its own since handles on the
 *   cluster's shards (`persistSinceHandleIo`, the reader id `PersistReadHolds` uses, so a restart
 *   or a path change re-attaches the same handles), the replica secret, the cluster's logging
 *   config and the compaction window.
 *
 * ## Invariants
 * - The cluster's PhaseSet is read ONCE per controller build (style §16), here, and
 *   `selectControllers(phases)` is called at that same point: what a cluster's controller runs is
 *   fixed until it is built again (boot, or a live flip of `state`: `rebuild`) or reseated by a
 *   live flip (`flips/`; status shows the flip).
 * - One owner per since handle: a unified cluster's shards are opened only by its controller
 *   (`openShards`), never by `PersistReadHolds` (which keeps the legacy clusters' shards and the
 *   environment's own introspection shards).
 * - `drop` closes the cluster's controller (and drops a legacy cluster's instances).
 * - `rebuild` never sends the replicas a drop: they keep every dataflow and ingestion running,
 *   and the new controller's replay makes them reconcile (reuse) them.
 *
 * ## Flow
 * `build(cluster)` (boot, `createCluster`) → read PhaseSet → `selectControllers` → the
 * controller → recorded and announced (info log "cluster controllers built" with each seam's
 * path); `selection(clusterId)` for status. `reseat(clusterId, phases)` (a live flip of a
 * controller-side phase) chooses again; on the legacy path, where a connector changed, every
 * replica gets its next incarnation through the new one (the instances — collections, peeks,
 * subscribes — stay). A flip of `state` itself (legacy ↔ unified) rebuilds the controller
 * (`rebuild`, driven by `flips/controller-rebuild.ts`): the old one is drained of its peeks and
 * closed (legacy: its instances dropped without a word to the replicas), a new one is built from
 * the PhaseSet read now, and the caller re-installs the catalog objects and re-adds the replicas;
 * calls that name the cluster meanwhile wait on `ready`. `onChange` tells the flips which
 * clusters exist (a rebuild is no drop: it does not notify).
 */
import type { ComputeController, ComputeReplicaConnector } from "@mzts/compute-client";
import {
  type ClusterController,
  type PersistClientLike,
  persistSinceHandleIo,
  UnifiedClusterController,
} from "@mzts/controller-unified/state";
import type { PhaseSet } from "@mzts/flags";
import type { ReplicaLayout } from "@mzts/orchestrator";
import type { GlobalId } from "@mzts/repr";
import type { PersistReadHolds, StorageController } from "@mzts/storage-client";
import type { Logger } from "pino";
import type { Registry } from "prom-client";
import type { Cluster, ReplicaSlot } from "../catalog/catalog.js";
import { LegacyClusterController } from "../cluster-controllers/legacy-cluster-controller.js";
import { type ClusterControllers, type SelectOptions, selectControllers } from "../controllers.js";
import { ClusterControllerMissing } from "../errors.js";
import { loggingConfig } from "../introspection/log-indexes.js";
import type { ClusterStages } from "./stages/cluster-stages.js";
import { ReplicaTaskMetric } from "./stages/replica-task-metric.js";

/** The reader id of environmentd's since handles (both paths: a path change re-attaches them). */
export const SINCE_READER_ID = "environmentd";

export interface ClustersOptions {
  readonly compute: ComputeController;
  readonly storage: StorageController;
  /** The environment's since handles (legacy clusters' shards). */
  readonly readHolds: PersistReadHolds;
  /** Persist, for a unified cluster's own since handles. */
  readonly persist: PersistClientLike;
  /** The cluster's current PhaseSet. */
  readonly readPhases: (clusterId: string) => Promise<PhaseSet>;
  readonly generation: bigint;
  /** The environment's replica secret (hello proofs). */
  readonly replicaSecret?: Uint8Array;
  readonly logger: Logger;
  /**
   * Where a unified cluster's controller registers the legacy controllers' series (the same
   * names and labels, so dashboards do not change with the flag) and its state gauges.
   */
  readonly registry?: Registry;
  /** How far sinces trail uppers (ms). */
  readonly compactionWindowMs: bigint;
  /** A unified controller's maintenance interval (ms; the legacy read-hold upkeep's). */
  readonly tickMs: number;
  /** Called on every write-frontier advance of a unified cluster (the frontier waiters). */
  readonly onWriteFrontier?: () => void;
  /**
   * Replaces the chosen compute connector of every legacy cluster (a test seam: tests wrap the
   * legacy task to observe or break replicas); the selection recorded for status stays the
   * chosen one.
   */
  readonly computeConnector?: ComputeReplicaConnector;
  /** Announces each cluster's controller paths once, when they are built (style §18). */
  readonly log?: Logger;
  /**
   * The layout of a replica, read once when it was started (`Replicas.layoutOf`); the
   * controllers speak it to that replica (`selectControllers`).
   */
  readonly layoutOf?: (replicaId: string) => ReplicaLayout | undefined;
  /** A replica's migration slot (`Replicas.slotOf`). */
  readonly slotOf?: (replicaId: string) => ReplicaSlot | undefined;
  /** Migration stages: each compute instance's peek comparison (`stages/cluster-stages.ts`). */
  readonly stages?: ClusterStages;
}

/** How long a rebuild lets the old controller's pending peeks finish before it closes it. */
export const REBUILD_PEEK_DRAIN_MS = 5_000;

interface Built {
  /** What runs (the selection the controller was built or last reseated with). */
  chosen: ClusterControllers;
  readonly controller: ClusterController;
  readonly unlisten: () => void;
}

/** The clusters' controllers (see the file comment). */
export class Clusters {
  readonly #o: ClustersOptions;
  readonly #built = new Map<GlobalId, Built>();
  readonly #listeners = new Set<(clusterId: GlobalId, built: boolean) => void>();
  /** Rebuilds in progress: calls naming the cluster wait on them (`ready`). */
  readonly #rebuilding = new Map<GlobalId, Promise<void>>();
  /** Controllers a rebuild replaced (their calls' failures are `ControllerRebuilt`). */
  readonly #retired = new WeakSet<ClusterController>();

  /** `mz_controller_replica_task` (when there is a registry). */
  readonly #taskMetric: ReplicaTaskMetric | undefined;

  constructor(opts: ClustersOptions) {
    this.#o = opts;
    this.#taskMetric =
      opts.registry === undefined ? undefined : new ReplicaTaskMetric(opts.registry);
  }

  /** Builds a cluster's controller from its PhaseSet, read now (`announce`: tell `onChange`). */
  async build(
    cluster: Pick<Cluster, "id" | "options">,
    announce = true,
  ): Promise<ClusterControllers> {
    const clusterId = cluster.id;
    const phases = await this.#o.readPhases(clusterId);
    const chosen = selectControllers(phases, this.#selectOptions());
    const controller = phases.takesEffect("state")
      ? this.#unified(cluster, chosen)
      : // PHASE(state): legacy — delete when cluster-unification-state is retired
        this.#legacy(cluster, chosen);
    const notify = this.#o.onWriteFrontier;
    const unlisten =
      controller.path === "unified" && notify !== undefined
        ? controller.onWriteFrontier(() => notify())
        : () => {};
    this.#built.set(clusterId, { chosen, controller, unlisten });
    this.#o.log?.info(
      { cluster_id: clusterId, paths: chosen.paths.map((p) => `${p.seam}=${p.path}`) },
      "cluster controllers built",
    );
    if (announce) for (const l of this.#listeners) l(clusterId, true);
    return chosen;
  }

  /**
   * Rebuilds a built cluster's controller (a live flip of `state`, see the file comment):
   * 1. calls naming the cluster wait (`ready`) from now until the rebuild settles;
   * 2. the old controller's pending peeks get up to `drainMs` to finish;
   * 3. the old controller closes (its subscribes end with its typed close error); a legacy
   *    cluster's instances are dropped without commands to the replicas;
   * 4. the new one is built from the PhaseSet read now;
   * 5. `reinstall(old)` re-installs the objects and re-adds the replicas on the new controller.
   * A failure of 4 or 5 leaves the cluster without a controller (the flip reports it failed;
   * the next flip or a restart builds it again).
   * @throws ClusterControllerMissing when the cluster is not built.
   */
  async rebuild(
    cluster: Pick<Cluster, "id" | "options">,
    reinstall: (old: ClusterController) => Promise<void>,
    drainMs = REBUILD_PEEK_DRAIN_MS,
  ): Promise<{ readonly from: string; readonly to: string }> {
    const old = this.#get(cluster.id, "rebuild");
    let done = () => {};
    const gate = new Promise<void>((resolve) => {
      done = resolve;
    });
    this.#rebuilding.set(cluster.id, gate);
    try {
      // One macrotask first: a peek that got the old controller just before the gate went up
      // has registered with it by then.
      await new Promise((r) => setTimeout(r, 0));
      const deadline = Date.now() + drainMs;
      while (old.controller.status().pendingPeeks > 0 && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 10));
      // The old controller stays the cluster's until `build` replaces it (frontier reads go on).
      this.#retired.add(old.controller);
      await this.#closeBuilt(old, { keepReplicas: true });
      await this.build(cluster, false);
      await reinstall(old.controller);
      const to = this.controllerOf(cluster.id, "rebuild").path;
      this.#o.log?.info(
        { cluster_id: cluster.id, from: old.controller.path, to },
        "cluster controller rebuilt",
      );
      return { from: old.controller.path, to };
    } finally {
      this.#rebuilding.delete(cluster.id);
      done();
    }
  }

  /** Whether a rebuild replaced `controller` (from the moment it started closing it). */
  wasRebuilt(controller: ClusterController): boolean {
    return this.#retired.has(controller);
  }

  /** Resolves when no rebuild of the cluster runs (at once when none does). */
  async ready(clusterId: GlobalId): Promise<void> {
    for (let r = this.#rebuilding.get(clusterId); r !== undefined; ) {
      await r;
      r = this.#rebuilding.get(clusterId);
    }
  }

  // PHASE(state): legacy — delete when cluster-unification-state is retired
  #legacy(cluster: Pick<Cluster, "id" | "options">, chosen: ClusterControllers) {
    const { compute, storage, readHolds } = this.#o;
    compute.createInstance(cluster.id, loggingConfig(cluster), {
      connector: this.#o.computeConnector ?? chosen.compute.connector,
      ...this.#o.stages?.instanceOptions(cluster.id),
    });
    storage.createInstance(cluster.id, { connector: chosen.storage.connector });
    return new LegacyClusterController({ clusterId: cluster.id, compute, storage, readHolds });
  }

  // PHASE(state): unified — the one cluster controller
  #unified(cluster: Pick<Cluster, "id" | "options">, chosen: ClusterControllers) {
    const o = this.#o;
    return new UnifiedClusterController({
      clusterId: cluster.id,
      generation: o.generation,
      logging: loggingConfig(cluster),
      compactionWindowMs: o.compactionWindowMs,
      // Two-port replicas: the per-workload unified tasks (`state` needs `replicas`); one-port
      // replicas: the cluster's shared stream (`ClusterStreams.cluster`).
      connectors: {
        compute: chosen.compute.perWorkload,
        storage: chosen.storage.perWorkload,
        cluster: chosen.streams.cluster,
      },
      sinceHandles: persistSinceHandleIo(o.persist, SINCE_READER_ID),
      ...(o.replicaSecret === undefined ? {} : { replicaSecret: o.replicaSecret }),
      logger: o.logger,
      tickIntervalMs: o.tickMs,
      ...(o.registry === undefined ? {} : { metrics: { registry: o.registry } }),
    });
  }

  /**
   * Chooses a built cluster's controllers again from `phases` (a live flip, `flips/`); on the
   * legacy path, where a connector changed, every replica reconnects through the new one (its
   * next incarnation replays the history; the replica reconciles it, keeping its dataflows).
   * A change of the `state` path is not a reseat: the flip rebuilds the controller (`rebuild`).
   * @throws ClusterControllerMissing when the cluster is not built.
   */
  async reseat(clusterId: GlobalId, phases: PhaseSet): Promise<ClusterControllers> {
    const built = this.#get(clusterId, "reseat");
    const before = built.chosen;
    // The replicas' layouts as at build: a replica keeps the one it was started with until rolled.
    const chosen = selectControllers(phases, this.#selectOptions());
    const reconnect: Promise<void>[] = [];
    // PHASE(state): legacy — delete when cluster-unification-state is retired
    if (built.controller.path === "legacy") {
      const { compute, storage, computeConnector } = this.#o;
      if (computeConnector === undefined && before.compute.connector !== chosen.compute.connector)
        reconnect.push(compute.reseatReplicas(clusterId, chosen.compute.connector));
      if (before.storage.connector !== chosen.storage.connector)
        reconnect.push(storage.reseatReplicas(clusterId, chosen.storage.connector));
    }
    built.chosen = chosen;
    await Promise.all(reconnect);
    this.#o.log?.info(
      {
        cluster_id: clusterId,
        paths: chosen.paths.map((p) => `${p.seam}=${p.path}`),
        reconnected: reconnect.length > 0,
      },
      "cluster controllers reseated",
    );
    return chosen;
  }

  /** How `selectControllers` learns each replica's layout and PhaseSet. */
  #selectOptions(): SelectOptions {
    const { layoutOf, slotOf } = this.#o;
    const taskMetric = this.#taskMetric;
    return {
      ...(layoutOf === undefined ? {} : { layoutOf }),
      ...(slotOf === undefined ? {} : { slotOf }),
      ...(taskMetric === undefined ? {} : { taskMetric }),
    };
  }

  /** Calls `listener` when a cluster's controllers are built or dropped. Returns the unsubscribe. */
  onChange(listener: (clusterId: GlobalId, built: boolean) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** What a cluster's controllers were built with (undefined: not built here). */
  selection(clusterId: GlobalId): ClusterControllers | undefined {
    return this.#built.get(clusterId)?.chosen;
  }

  /** The cluster's controller. @throws ClusterControllerMissing */
  controllerOf(clusterId: GlobalId, operation = "controllerOf"): ClusterController {
    return this.#get(clusterId, operation).controller;
  }

  /** The cluster's controller, or undefined when it is not built here. */
  findController(clusterId: GlobalId): ClusterController | undefined {
    return this.#built.get(clusterId)?.controller;
  }

  /** Every built cluster's controller. */
  controllers(): IterableIterator<ClusterController> {
    return [...this.#built.values()].map((b) => b.controller).values();
  }

  #get(clusterId: GlobalId, operation: string): Built {
    const built = this.#built.get(clusterId);
    if (built === undefined) throw new ClusterControllerMissing(clusterId, operation);
    return built;
  }

  /** Drops a cluster's controller (cancelling its peeks and subscribes). */
  async drop(clusterId: GlobalId): Promise<void> {
    const built = this.#built.get(clusterId);
    if (built === undefined) return;
    this.#built.delete(clusterId);
    this.#o.stages?.forget(clusterId);
    await this.#closeBuilt(built, { keepReplicas: false });
    for (const l of this.#listeners) l(clusterId, false);
  }

  /** Closes a controller; a legacy one's instances are dropped (`keepReplicas`: no word to them). */
  async #closeBuilt(built: Built, opts: { readonly keepReplicas: boolean }): Promise<void> {
    built.unlisten();
    await built.controller.close();
    // PHASE(state): legacy — delete when cluster-unification-state is retired
    if (built.controller.path === "legacy") {
      const id = built.controller.clusterId;
      await this.#o.compute.dropInstance(id);
      await this.#o.storage.dropInstance(id, opts);
    }
  }

  /** Closes every controller (the replica processes keep running). */
  async close(): Promise<void> {
    const all = [...this.#built.values()];
    this.#built.clear();
    for (const b of all) b.unlisten();
    await Promise.allSettled(all.map((b) => b.controller.close()));
  }
}
