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
 *   config and the compaction window;
 * - `state` in a middle migration stage: both, the authoritative one (legacy in dualwrite/shadow,
 *   unified in live/rampdown) built as above on tapped connectors, the other on mirror replicas
 *   (`stages/shadowed-build.ts`, `ShadowedClusterController`).
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
 * controller-side phase, or a flip's `record`) chooses again; on the legacy path, where a
 * connector changed (`connectorsDiffer`: the replicas seam; never a stage change alone), every
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
import {
  type ClusterControllers,
  connectorsDiffer,
  type SelectOptions,
  selectControllers,
} from "../controllers.js";
import { ClusterControllerMissing } from "../errors.js";
import { loggingConfig } from "../introspection/log-indexes.js";
import type { ShardUpperSource } from "./shards.js";
import type { ClusterStages } from "./stages/cluster-stages.js";
import type { MirrorHub, Workload } from "./stages/mirror-replicas.js";
import { ReplicaTaskMetric } from "./stages/replica-task-metric.js";
import { buildShadowed } from "./stages/shadowed-build.js";
import { ShadowedClusterController, stateStage } from "./stages/shadowed-controller.js";

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
  /**
   * Where a legacy shadow of a `state` stage reads its shards' uppers (read only; the real
   * persist client). Absent: its policy holds never move.
   */
  readonly uppers?: ShardUpperSource;
}

/** How long a rebuild lets the old controller's pending peeks finish before it closes it. */
export const REBUILD_PEEK_DRAIN_MS = 5_000;

/**
 * How a rebuild retries a new controller that failed halfway (`rebuild`): up to `attempts`
 * builds in all, `initialMs` before the second, doubling up to `maxMs`.
 */
export interface RebuildRetry {
  readonly attempts: number;
  readonly initialMs: number;
  readonly maxMs: number;
}

/** About 6 s of retries (0.2 + 0.4 + 0.8 + 1.6 + 3.2 s) before a rebuild gives up. */
export const REBUILD_RETRY: RebuildRetry = { attempts: 6, initialMs: 200, maxMs: 3_200 };

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
  /** When each running rebuild started (Date.now(), for status). */
  readonly #rebuildStarted = new Map<GlobalId, number>();
  /** Controllers a rebuild replaced (their calls' failures are `ControllerRebuilt`). */
  readonly #retired = new WeakSet<ClusterController>();
  /** A cluster whose last rebuild gave up: its old (closed) controller's record (`rebuild`). */
  readonly #gaveUp = new Map<GlobalId, Built>();
  /** Built controllers already closed (`#closeBuilt` runs once per controller). */
  readonly #closed = new WeakSet<Built>();

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
    const stage = stateStage(phases);
    const controller =
      stage !== undefined
        ? buildShadowed({
            clusterId: cluster.id,
            stage,
            logging: loggingConfig(cluster),
            generation: this.#o.generation,
            compactionWindowMs: this.#o.compactionWindowMs,
            tickMs: this.#o.tickMs,
            readerId: SINCE_READER_ID,
            logger: this.#o.logger,
            ...(this.#o.registry === undefined ? {} : { registry: this.#o.registry }),
            ...(this.#o.stages === undefined ? {} : { stages: this.#o.stages }),
            ...(this.#o.uppers === undefined ? {} : { uppers: this.#o.uppers }),
            legacy: (tap) => this.#legacy(cluster, chosen, tap),
            unified: (hub) => this.#unified(cluster, chosen, hub),
          })
        : phases.takesEffect("state")
          ? this.#unified(cluster, chosen)
          : // PHASE(state): legacy — delete when cluster-unification-state is retired
            this.#legacy(cluster, chosen);
    const notify = this.#o.onWriteFrontier;
    const unlisten =
      controller.path === "unified" && notify !== undefined
        ? controller.onWriteFrontier(() => notify())
        : () => {};
    this.#built.set(clusterId, { chosen, controller, unlisten });
    this.#gaveUp.delete(clusterId);
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
   * 5. `reinstall(old, attempt)` re-installs the objects and re-adds the replicas on the new
   *    controller.
   * A failure of 4 or 5 (halfway: some objects installed, some replicas not re-added) discards
   * the half-built controller (retired and closed like the old one, its replicas kept) and goes
   * back to 4 after a backoff (`retry`), with the gate of 1 still up: no call naming the cluster
   * ever reaches a half-built controller (its collections missing, its sinces not yet raised),
   * they wait for the one that is complete. Between attempts the cluster's controller is the old
   * (closed) one again, so frontier reads see what they saw before the rebuild. `reinstall` must
   * therefore be repeatable. When the last attempt fails too the cluster is left without a
   * controller — never on a half-built one: calls naming it fail with the retryable
   * `ClusterControllerMissing` (Connect `Unavailable`), the flip reports it failed, and the next
   * flip (`selection` still names the old controller's PhaseSet, which differs from the target)
   * or a restart builds it again.
   * @throws ClusterControllerMissing when the cluster is not built; the last attempt's error.
   */
  async rebuild(
    cluster: Pick<Cluster, "id" | "options">,
    reinstall: (old: ClusterController, attempt: number) => Promise<void>,
    drainMs = REBUILD_PEEK_DRAIN_MS,
    retry: RebuildRetry = REBUILD_RETRY,
  ): Promise<{ readonly from: string; readonly to: string }> {
    // A cluster whose last rebuild gave up has no controller, only its old one's record.
    const old = this.#gaveUp.get(cluster.id) ?? this.#get(cluster.id, "rebuild");
    this.#gaveUp.delete(cluster.id);
    let done = () => {};
    const gate = new Promise<void>((resolve) => {
      done = resolve;
    });
    this.#rebuilding.set(cluster.id, gate);
    this.#rebuildStarted.set(cluster.id, Date.now());
    try {
      // One macrotask first: a peek that got the old controller just before the gate went up
      // has registered with it by then.
      await new Promise((r) => setTimeout(r, 0));
      const deadline = Date.now() + drainMs;
      while (
        !this.#closed.has(old) &&
        old.controller.status().pendingPeeks > 0 &&
        Date.now() < deadline
      )
        await new Promise((r) => setTimeout(r, 10));
      // The old controller stays the cluster's until `build` replaces it (frontier reads go on).
      this.#retired.add(old.controller);
      await this.#closeBuilt(old, { keepReplicas: true });
      for (let attempt = 1; ; attempt++) {
        try {
          await this.build(cluster, false);
          await reinstall(old.controller, attempt);
          break;
        } catch (e) {
          await this.#discardHalfBuilt(cluster.id, old);
          if (attempt >= retry.attempts) {
            this.#built.delete(cluster.id);
            this.#gaveUp.set(cluster.id, old);
            throw e;
          }
          const delayMs = Math.min(retry.maxMs, retry.initialMs * 2 ** (attempt - 1));
          this.#o.log?.warn(
            { cluster_id: cluster.id, attempt, of: retry.attempts, delay_ms: delayMs, err: e },
            "cluster controller rebuild failed halfway; retrying",
          );
          await new Promise((r) => setTimeout(r, delayMs));
        }
      }
      const to = this.controllerOf(cluster.id, "rebuild").path;
      this.#o.log?.info(
        { cluster_id: cluster.id, from: old.controller.path, to },
        "cluster controller rebuilt",
      );
      return { from: old.controller.path, to };
    } finally {
      this.#rebuilding.delete(cluster.id);
      this.#rebuildStarted.delete(cluster.id);
      done();
    }
  }

  /**
   * After a failed rebuild attempt: the controller it built (if any) is retired and closed like
   * the old one (its replicas kept), and the cluster's entry is the old, closed one again.
   */
  async #discardHalfBuilt(clusterId: GlobalId, old: Built): Promise<void> {
    const half = this.#built.get(clusterId);
    this.#built.set(clusterId, old);
    if (half === undefined || half === old) return;
    this.#retired.add(half.controller);
    await this.#closeBuilt(half, { keepReplicas: true }).catch((e: unknown) =>
      this.#o.log?.warn(
        { cluster_id: clusterId, err: e },
        "closing a half-built cluster controller failed",
      ),
    );
  }

  /** Whether a rebuild replaced `controller` (from the moment it started closing it). */
  wasRebuilt(controller: ClusterController): boolean {
    return this.#retired.has(controller);
  }

  /**
   * When the cluster's running rebuild started (Date.now()); undefined when none runs. Meanwhile
   * its controller (the old, closed one, or a new one still being installed) may not know every
   * collection: status reports the rebuild rather than a missing collection.
   */
  rebuildingSince(clusterId: GlobalId): number | undefined {
    return this.#rebuildStarted.get(clusterId);
  }

  /**
   * Whether a rebuild of the cluster's controller runs: a caller awaits `ready` only then (a peek
   * skips two promises and microtask turns when none does: issue 16).
   */
  rebuilding(clusterId: GlobalId): boolean {
    return this.#rebuilding.has(clusterId);
  }

  /** Resolves when no rebuild of the cluster runs (at once when none does). */
  async ready(clusterId: GlobalId): Promise<void> {
    for (let r = this.#rebuilding.get(clusterId); r !== undefined; ) {
      await r;
      r = this.#rebuilding.get(clusterId);
    }
  }

  // PHASE(state): legacy — delete when cluster-unification-state is retired
  #legacy(
    cluster: Pick<Cluster, "id" | "options">,
    chosen: ClusterControllers,
    tap: <C>(workload: Workload, c: C) => C = (_w, c) => c,
  ) {
    const { compute, storage, readHolds } = this.#o;
    compute.createInstance(cluster.id, loggingConfig(cluster), {
      connector: tap("compute", this.#o.computeConnector ?? chosen.compute.connector),
      ...this.#o.stages?.instanceOptions(cluster.id),
    });
    try {
      storage.createInstance(cluster.id, { connector: tap("storage", chosen.storage.connector) });
    } catch (e) {
      // Not half-created: a rebuild's next attempt creates both again (else InstanceExists).
      // The instance leaves the controller at once; its close (no replica yet) finishes later.
      void compute
        .dropInstance(cluster.id)
        .catch((err: unknown) =>
          this.#o.log?.warn({ cluster_id: cluster.id, err }, "dropping a half-created instance"),
        );
      throw e;
    }
    return new LegacyClusterController({ clusterId: cluster.id, compute, storage, readHolds });
  }

  // PHASE(state): unified — the one cluster controller
  #unified(cluster: Pick<Cluster, "id" | "options">, chosen: ClusterControllers, hub?: MirrorHub) {
    const o = this.#o;
    return new UnifiedClusterController({
      clusterId: cluster.id,
      generation: o.generation,
      logging: loggingConfig(cluster),
      compactionWindowMs: o.compactionWindowMs,
      // Two-port replicas: the per-workload unified tasks (`state` needs `replicas`); one-port
      // replicas: the cluster's shared stream (`ClusterStreams.cluster`).
      connectors:
        hub === undefined
          ? {
              compute: chosen.compute.perWorkload,
              storage: chosen.storage.perWorkload,
              cluster: chosen.streams.cluster,
            }
          : {
              compute: hub.tap("compute", chosen.compute.perWorkload),
              storage: hub.tap("storage", chosen.storage.perWorkload),
              cluster: hub.tapCluster(chosen.streams.cluster),
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
    const fresh = selectControllers(phases, this.#selectOptions());
    // Connectors that connect no replica otherwise are kept (with the replicas' connections):
    // reconnecting every replica on a stage change that changes nothing they run would leave the
    // authoritative path without a connected replica for a moment (peeks then fall back).
    const changed = connectorsDiffer(before.phases, phases);
    const chosen = changed ? fresh : { ...before, phases, paths: fresh.paths };
    const reconnect: Promise<void>[] = [];
    // PHASE(state): legacy — delete when cluster-unification-state is retired
    if (built.controller.path === "legacy" && changed) {
      const { compute, storage, computeConnector } = this.#o;
      // A `state` stage's authoritative legacy controller keeps its connectors tapped.
      const c = built.controller;
      const hub = c instanceof ShadowedClusterController ? c.hub : undefined;
      if (computeConnector === undefined && before.compute.connector !== chosen.compute.connector)
        reconnect.push(
          compute.reseatReplicas(
            clusterId,
            hub?.tap("compute", chosen.compute.connector) ?? chosen.compute.connector,
          ),
        );
      if (before.storage.connector !== chosen.storage.connector)
        reconnect.push(
          storage.reseatReplicas(
            clusterId,
            hub?.tap("storage", chosen.storage.connector) ?? chosen.storage.connector,
          ),
        );
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
    return (this.#built.get(clusterId) ?? this.#gaveUp.get(clusterId))?.chosen;
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
    this.#gaveUp.delete(clusterId);
    const built = this.#built.get(clusterId);
    if (built === undefined) return;
    this.#built.delete(clusterId);
    this.#o.stages?.forget(clusterId);
    await this.#closeBuilt(built, { keepReplicas: false });
    for (const l of this.#listeners) l(clusterId, false);
  }

  /** Closes a controller; a legacy one's instances are dropped (`keepReplicas`: no word to them). */
  async #closeBuilt(built: Built, opts: { readonly keepReplicas: boolean }): Promise<void> {
    // Once: a rebuild that gave up leaves the old, closed controller, which the next one closes.
    if (this.#closed.has(built)) return;
    this.#closed.add(built);
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
