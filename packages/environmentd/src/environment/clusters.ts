/**
 * Cluster controller state: for each cluster, its compute instance and storage instance, built
 * with what `selectControllers` chose from the cluster's PhaseSet; the compute instance gets the
 * cluster's logging config (its introspection interval and log index ids,
 * `introspection/log-indexes.ts`).
 *
 * ## Invariants
 * - The cluster's PhaseSet is read ONCE per controller build (style §16), here, and
 *   `selectControllers(phases)` is called at that same point: what a cluster's controllers run is
 *   fixed until they are built again or reseated by a live flip (`flips/`; status shows the flip).
 * - A cluster has both instances or neither; `drop` removes both and its selection.
 *
 * ## Flow
 * `build(cluster)` (boot, `createCluster`) → read PhaseSet → `selectControllers` → compute
 * `createInstance` (with `loggingConfig(cluster)`) + storage `createInstance` → recorded and
 * announced (info log "cluster controllers built" with each seam's path); `selection(clusterId)`
 * for status. `reseat(clusterId, phases)` (a live flip of a controller-side phase) chooses again
 * and, where a connector changed, gives every replica its next incarnation through the new one:
 * the instances — their collections, peeks and subscribes — stay. `onChange` tells the flips
 * which clusters exist.
 */
import type { ComputeController, ComputeReplicaConnector } from "@mzts/compute-client";
import type { PhaseSet } from "@mzts/flags";
import type { ReplicaLayout } from "@mzts/orchestrator";
import type { GlobalId } from "@mzts/repr";
import type { StorageController } from "@mzts/storage-client";
import type { Logger } from "pino";
import type { Cluster } from "../catalog/catalog.js";
import { type ClusterControllers, selectControllers } from "../controllers.js";
import { loggingConfig } from "../introspection/log-indexes.js";

export interface ClustersOptions {
  readonly compute: ComputeController;
  readonly storage: StorageController;
  /** The cluster's current PhaseSet. */
  readonly readPhases: (clusterId: string) => Promise<PhaseSet>;
  /**
   * Replaces the chosen compute connector of every cluster (a test seam: tests wrap the legacy
   * task to observe or break replicas); the selection recorded for status stays the chosen one.
   */
  readonly computeConnector?: ComputeReplicaConnector;
  /** Announces each cluster's controller paths once, when they are built (style §18). */
  readonly log?: Logger;
  /**
   * The layout of a replica, read once when it was started (`Replicas.layoutOf`); the
   * controllers speak it to that replica (`selectControllers`).
   */
  readonly layoutOf?: (replicaId: string) => ReplicaLayout | undefined;
}

/** The clusters' controller state (see the file comment). */
export class Clusters {
  readonly #o: ClustersOptions;
  readonly #built = new Map<GlobalId, ClusterControllers>();
  readonly #listeners = new Set<(clusterId: GlobalId, built: boolean) => void>();

  constructor(opts: ClustersOptions) {
    this.#o = opts;
  }

  /** Builds a cluster's compute and storage instances from its PhaseSet, read now. */
  async build(cluster: Pick<Cluster, "id" | "options">): Promise<ClusterControllers> {
    const clusterId = cluster.id;
    const phases = await this.#o.readPhases(clusterId);
    const layoutOf = this.#o.layoutOf;
    const chosen = selectControllers(phases, layoutOf === undefined ? {} : { layoutOf });
    const computeConnector = this.#o.computeConnector ?? chosen.compute.connector;
    this.#o.compute.createInstance(clusterId, loggingConfig(cluster), {
      connector: computeConnector,
    });
    this.#o.storage.createInstance(clusterId, { connector: chosen.storage.connector });
    this.#built.set(clusterId, chosen);
    this.#o.log?.info(
      { cluster_id: clusterId, paths: chosen.paths.map((p) => `${p.seam}=${p.path}`) },
      "cluster controllers built",
    );
    for (const l of this.#listeners) l(clusterId, true);
    return chosen;
  }

  /**
   * Chooses a built cluster's controllers again from `phases` (a live flip, `flips/`); where a
   * connector changed, every replica reconnects through the new one (its next incarnation
   * replays the history; the replica reconciles it, keeping its dataflows).
   * @throws InstanceMissing (from the controllers) when the cluster is not built.
   */
  async reseat(clusterId: GlobalId, phases: PhaseSet): Promise<ClusterControllers> {
    const before = this.#built.get(clusterId);
    const chosen = selectControllers(phases);
    const { compute, storage, computeConnector } = this.#o;
    const reconnect: Promise<void>[] = [];
    if (computeConnector === undefined && before?.compute.connector !== chosen.compute.connector)
      reconnect.push(compute.reseatReplicas(clusterId, chosen.compute.connector));
    if (before?.storage.connector !== chosen.storage.connector)
      reconnect.push(storage.reseatReplicas(clusterId, chosen.storage.connector));
    this.#built.set(clusterId, chosen);
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

  /** Calls `listener` when a cluster's controllers are built or dropped. Returns the unsubscribe. */
  onChange(listener: (clusterId: GlobalId, built: boolean) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** What a cluster's controllers were built with (undefined: not built here). */
  selection(clusterId: GlobalId): ClusterControllers | undefined {
    return this.#built.get(clusterId);
  }

  /** Drops a cluster's instances (cancelling their peeks and subscribes). */
  async drop(clusterId: GlobalId): Promise<void> {
    await this.#o.compute.dropInstance(clusterId);
    await this.#o.storage.dropInstance(clusterId);
    this.#built.delete(clusterId);
    for (const l of this.#listeners) l(clusterId, false);
  }
}
