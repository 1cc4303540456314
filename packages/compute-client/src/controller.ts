/**
 * The compute controller (legacy path; materialize.md §4.2): instances (clusters) with their
 * replicas, dataflows, read holds, peeks and subscribes. A thin router over `Instance`s: it owns
 * the instance map and the collection-id → instance index. It has no replica-connection
 * implementation of its own: each instance (cluster) gets its `connector` from `createInstance`,
 * chosen by environmentd's composition root from that cluster's phases.
 *
 * ## Invariants
 * - Every call on an unknown instance throws `InstanceMissing`; on an unknown collection
 *   `CollectionMissing`; after `close()` `ControllerClosed`.
 * - A collection id belongs to one instance from `createDataflow`/`subscribe` until it is
 *   forgotten (dropped, unheld, reported empty by every replica).
 */

import type { ReplicaConnectionTuning } from "@mzts/controller-unified/replicas";
import type { DataflowDescription, LoggingConfig } from "@mzts/protocol";
import type { Frontier, GlobalId, ReplicaId } from "@mzts/repr";
import type { Logger } from "pino";
import type { Registry } from "prom-client";
import type { CollectionFrontiers, ReplicaCollectionFrontier } from "./collections.js";
import { CollectionMissing, ControllerClosed, InstanceExists, InstanceMissing } from "./errors.js";
import { Instance } from "./instance.js";
import type { LogIndex } from "./log-indexes.js";
import { controllerMetrics } from "./metrics.js";
import type { PeekAnswer, PeekRequest } from "./peek.js";
import type { ComparisonRecord, PathSplit } from "./peek-comparison.js";
import type { ComputeReplicaConnector, ReplicaLocation, ReplicaStatus } from "./replicas.js";
import type { SubscribeBatch } from "./subscribe.js";

export interface ComputeControllerOptions {
  /** The environment's boot generation, sent in every hello. */
  readonly generation: bigint;
  /**
   * The environment's replica secret (environmentd's `<data-dir>/replica-secret`): every hello
   * carries a proof of it. Absent = unsigned hellos, which only `--insecure-no-auth` replicas take.
   */
  readonly replicaSecret?: Uint8Array;
  readonly logger: Logger;
  readonly registry: Registry;
  /** How far the implied read hold lags the write frontier (1000 ms). */
  readonly compactionWindowMs?: bigint;
}

/** Per instance (cluster): how its replicas are connected. */
export interface ComputeInstanceOptions {
  /**
   * The replica-connection implementation of this cluster (no default: the composition root
   * chooses it from the cluster's phases, e.g. `connectLegacyComputeReplica`).
   */
  readonly connector: ComputeReplicaConnector;
  /** Replica connection tuning (backoff, keepalive); the implementation's defaults otherwise. */
  readonly tuning?: ReplicaConnectionTuning;
  /**
   * Migration stages: how the cluster's replicas are split between a migrating phase's paths,
   * read for every new peek (`peek-comparison.ts`); absent or undefined = every answer counts.
   */
  readonly pathSplit?: () => PathSplit | undefined;
  /**
   * Each finished comparison (after it is counted and logged), e.g. for LaunchDarkly's migration
   * tracking (`@mzts/flags` `trackComparison`).
   */
  readonly onComparison?: (record: ComparisonRecord) => void;
}

/** The compute controller's API. */
export interface ComputeController {
  /**
   * The instance's log indexes come from `logging.indexLogs` (`log-indexes.ts`).
   * @throws InstanceExists, ControllerClosed, InvalidLoggingConfig
   */
  createInstance(id: string, logging: LoggingConfig, options: ComputeInstanceOptions): void;
  /** Cancels its peeks and subscribes and disconnects its replicas. @throws InstanceMissing */
  dropInstance(id: string): Promise<void>;
  /** @throws InstanceMissing, ReplicaExists */
  addReplica(instanceId: string, replicaId: ReplicaId, location: ReplicaLocation): void;
  /**
   * The replica (re)started at `location`: where to connect from the next attempt on, which goes
   * now rather than after the rest of its backoff. @throws InstanceMissing, ReplicaMissing
   */
  updateReplicaLocation(instanceId: string, replicaId: ReplicaId, location: ReplicaLocation): void;
  /** @throws InstanceMissing, ReplicaMissing */
  dropReplica(instanceId: string, replicaId: ReplicaId): Promise<void>;
  /** @throws InstanceMissing */
  replicas(instanceId: string): ReplicaStatus[];
  /**
   * Replaces the instance's connector and gives every replica its next incarnation through it
   * (a controller-side phase flipped live): peeks, subscribes and collections stay, the replicas
   * reconcile the replayed history against what they run. @throws InstanceMissing
   */
  reseatReplicas(instanceId: string, connector: ComputeReplicaConnector): Promise<void>;
  /**
   * Per live collection of the instance: the replica's write frontier (undefined: not reported
   * by its current incarnation) and the global one — whether a new replica has caught up.
   * @throws InstanceMissing, ReplicaMissing
   */
  replicaFrontiers(
    instanceId: string,
    replicaId: ReplicaId,
  ): ReadonlyMap<GlobalId, ReplicaCollectionFrontier>;
  /**
   * @throws InstanceMissing, CollectionExists, CollectionMissing, SinceViolation, MalformedPlan
   */
  createDataflow(instanceId: string, desc: DataflowDescription): void;
  /** Raises the client's read-policy floor (empty = drop). @throws CollectionMissing */
  allowCompaction(id: GlobalId, frontier: Frontier): void;
  /**
   * Lets a persist sink (materialized view) write; until then replicas run it read-only.
   * @throws InstanceMissing, CollectionMissing
   */
  allowWrites(instanceId: string, id: GlobalId): void;
  /**
   * Reads an index, or a log index with `targetReplica`; the first replica's answer (or the
   * target replica's) wins, and says which replica answered.
   * Rejects with `InstanceMissing`, `CollectionMissing`, `ReplicaMissing`, `SinceViolation`,
   * `LogPeekUntargeted` (before anything is sent), `PeekFailed` (replica error, target replica
   * gone), `PeekTimeout`, `PeekCanceled`.
   */
  peek(instanceId: string, req: PeekRequest): Promise<PeekAnswer>;
  /** The instance's log indexes by id (empty when its logging is off). @throws InstanceMissing */
  logIndexes(instanceId: string): ReadonlyMap<GlobalId, LogIndex>;
  /**
   * Batches of a subscribe dataflow merged across replicas (no duplicates, no gaps); with
   * `targetReplica`, built by that replica only and free to import its log indexes
   * (`Instance.subscribe`).
   * @throws InstanceMissing, CollectionExists, CollectionMissing, SinceViolation, ControllerError,
   *   LogImportUntargeted, ReplicaMissing
   */
  subscribe(
    instanceId: string,
    desc: DataflowDescription,
    options?: { readonly targetReplica?: ReplicaId },
  ): AsyncIterable<SubscribeBatch>;
  /** @throws CollectionMissing */
  frontiers(id: GlobalId): CollectionFrontiers;
  /** @throws CollectionMissing */
  dropCollection(id: GlobalId): void;
  /**
   * Calls `listener` whenever a collection's write frontier advances (a replica reported past
   * it). Listeners must be cheap and must not throw. Returns the unsubscribe function.
   */
  onWriteFrontier(listener: (id: GlobalId) => void): () => void;
  /** The history size of an instance (commands held). @throws InstanceMissing */
  historySize(instanceId: string): number;
  /**
   * Collections quarantined because replicas failed on them twice (`quarantine.ts`), with the
   * reason; reported until the collection is dropped. @throws InstanceMissing
   */
  failures(instanceId: string): ReadonlyMap<GlobalId, string>;
  close(): Promise<void>;
}

/** Builds a compute controller. */
export function createComputeController(opts: ComputeControllerOptions): ComputeController {
  const metrics = controllerMetrics(opts.registry);
  const logger = opts.logger.child({ component: "compute-controller" });
  const instances = new Map<string, Instance>();
  /** Collection (and subscribe) id → its instance. */
  const owners = new Map<GlobalId, Instance>();
  let closed = false;
  const frontierListeners = new Set<(id: GlobalId) => void>();

  const instance = (id: string): Instance => {
    if (closed) throw new ControllerClosed();
    const i = instances.get(id);
    if (i === undefined) throw new InstanceMissing(id);
    return i;
  };
  const ownerOrMissing = (id: GlobalId): Instance => {
    if (closed) throw new ControllerClosed();
    const i = owners.get(id);
    if (i === undefined) throw new CollectionMissing(id);
    return i;
  };

  return {
    createInstance(id, logging, options) {
      if (closed) throw new ControllerClosed();
      if (instances.has(id)) throw new InstanceExists(id);
      instances.set(
        id,
        new Instance({
          id,
          generation: opts.generation,
          ...(opts.replicaSecret === undefined ? {} : { replicaSecret: opts.replicaSecret }),
          logging,
          logger,
          registry: opts.registry,
          metrics,
          connector: options.connector,
          compactionWindowMs: opts.compactionWindowMs ?? 1000n,
          ...(options.tuning !== undefined ? { tuning: options.tuning } : {}),
          ...(options.pathSplit !== undefined ? { pathSplit: options.pathSplit } : {}),
          ...(options.onComparison !== undefined ? { onComparison: options.onComparison } : {}),
          onWriteFrontier: (cid) => {
            for (const l of frontierListeners) l(cid);
          },
          onCollection: (cid, live) => {
            const i = instances.get(id);
            if (live && i !== undefined) owners.set(cid, i);
            else owners.delete(cid);
          },
        }),
      );
      logger.info({ instance_id: id }, "compute instance created");
    },
    async dropInstance(id) {
      const i = instance(id);
      instances.delete(id);
      for (const [cid, o] of owners) if (o === i) owners.delete(cid);
      await i.close();
    },
    addReplica: (instanceId, replicaId, location) =>
      instance(instanceId).addReplica(replicaId, location),
    updateReplicaLocation: (instanceId, replicaId, location) =>
      instance(instanceId).updateReplicaLocation(replicaId, location),
    dropReplica: async (instanceId, replicaId) => instance(instanceId).dropReplica(replicaId),
    replicas: (instanceId) => instance(instanceId).replicas(),
    reseatReplicas: async (instanceId, connector) => instance(instanceId).reseatReplicas(connector),
    replicaFrontiers: (instanceId, replicaId) => instance(instanceId).replicaFrontiers(replicaId),
    createDataflow: (instanceId, desc) => instance(instanceId).createDataflow(desc),
    allowCompaction: (id, frontier) => ownerOrMissing(id).allowCompaction(id, frontier),
    allowWrites: (instanceId, id) => instance(instanceId).allowWrites(id),
    peek: (instanceId, req) => {
      try {
        return instance(instanceId).peek(req);
      } catch (e) {
        return Promise.reject(e);
      }
    },
    logIndexes: (instanceId) => instance(instanceId).logIndexes(),
    subscribe: (instanceId, desc, options) => instance(instanceId).subscribe(desc, options),
    frontiers: (id) => ownerOrMissing(id).frontiers(id),
    dropCollection: (id) => {
      for (const i of instances.values()) i.clearFailure(id);
      ownerOrMissing(id).dropCollection(id);
    },
    onWriteFrontier(listener) {
      frontierListeners.add(listener);
      return () => frontierListeners.delete(listener);
    },
    failures: (instanceId) => instance(instanceId).failures(),
    historySize: (instanceId) => instance(instanceId).history.size,
    async close() {
      if (closed) return;
      closed = true;
      frontierListeners.clear();
      const all = [...instances.values()];
      instances.clear();
      owners.clear();
      await Promise.all(all.map((i) => i.close()));
    },
  };
}
