/**
 * The storage controller (legacy path; materialize.md §4.3, design.md §5): storage instances,
 * their replicas, ingestions placed on replicas, and the collections' frontiers, statuses and
 * statistics.
 *
 * ## State
 * - Per instance: a `StorageCommandHistory` (hello, initializationComplete and — unless
 *   read-only — allowWrites are pushed at creation), an `IngestionPlacement`, the ingestions it
 *   runs and one replica connection per replica, built by the instance's `connector` (given to
 *   `createInstance`: the composition root picks it per cluster, e.g. the legacy task of
 *   `legacy/replica-task.ts`; the controller has no default).
 * - `StorageCollections`: write frontiers (max over replicas), compaction frontiers, statistics,
 *   status histories and pending drops of every collection.
 *
 * ## Flow
 * 1. `createInstance(id)`; `addReplica(instance, replica, {storageUrl})`: the history is reduced
 *    and a task replays `placement.commandsFor(replica, history)` after a fresh hello.
 * 2. `createIngestion(instance, id, description)`: placed (load generators on every replica), the
 *    `runIngestion` goes into the history and to the replicas that run it; with none, a `paused`
 *    status with `NO_REPLICA_HINT` is injected.
 * 3. Responses (tagged with the replica id) update the collections; listeners see them.
 * 4. `allowCompaction(id, since)` / `dropIngestion(id)`: an empty frontier drops — a `dropped`
 *    status, then the collection waits for each owed `droppedId` and is forgotten.
 * 5. A failed task (any stream error) leaves its replica *failed* until it gets a new task
 *    replaying the reduced history: when the connector's rehydration policy says (the unified
 *    task's, `connector.rehydration`: at once, crash loops backed off), or — legacy — at the next
 *    maintenance (1 s) `rehydrateFailedReplicas()`. Responses of an older epoch are discarded.
 *    The placement is not touched, so the other replicas and single-replica objects are
 *    undisturbed.
 * 6. `dropReplica`: the task is closed, the placement re-decides single-replica objects (the new
 *    replica gets their commands) and objects left on no replica get a `paused` status with
 *    `REPLICA_DROPPED_HINT`.
 *
 * Commands for an object go to `placement.replicasFor(id)`; instance-wide commands to every
 * replica. A task that is still connecting finds them in its replay (read when its stream
 * opens); a failed task drops them (its rehydration replays the history).
 */

import type {
  ReplicaConnection,
  ReplicaConnectionState,
  ReplicaConnectionTuning,
  ReplicaConnector,
  ReplicaRehydration,
} from "@mzts/controller-unified/replicas";
import {
  createHello,
  type IngestionDescription,
  type SourceStatistics,
  type StatusUpdate,
  type StorageCommand,
  StorageCommandHistory,
  type StorageResponse,
} from "@mzts/protocol";
import type { Frontier, GlobalId, ReplicaId } from "@mzts/repr";
import { type Logger, pino } from "pino";
import { Registry } from "prom-client";
import {
  type CollectionEvent,
  NO_REPLICA_HINT,
  REPLICA_DROPPED_HINT,
  StorageCollections,
} from "./collections.js";
import { ControllerClosed, InstanceExists, InstanceMissing, ReplicaMissing } from "./errors.js";
import { createStorageControllerMetrics, type StorageControllerMetrics } from "./metrics.js";
import {
  IngestionPlacement,
  ingestionPreference,
  objectIdOf,
  type ReplicaPreference,
} from "./placement.js";

/** The storage side of the replica seam (`@mzts/controller-unified/replicas`). */
export type StorageReplicaConnection = ReplicaConnection<StorageCommand, StorageResponse>;
/** Builds a storage replica incarnation; given to `createInstance` per instance (cluster). */
export type StorageReplicaConnector = ReplicaConnector<StorageCommand, StorageResponse>;

/** Options of `createStorageController`. */
export interface StorageControllerOptions {
  /** This environmentd's generation, sent in every hello (replicas fence older ones). */
  readonly generation: bigint;
  /**
   * The environment's replica secret (environmentd's `<data-dir>/replica-secret`): every hello
   * carries a proof of it. Absent = unsigned hellos, which only `--insecure-no-auth` replicas take.
   */
  readonly replicaSecret?: Uint8Array;
  /** pino; default silent. */
  readonly logger?: Logger;
  /** prom-client registry for the metrics; default a fresh one. */
  readonly registry?: Registry;
  /** Period of `rehydrateFailedReplicas` (default 1000 ms). */
  readonly maintenanceIntervalMs?: number;
  /** Status updates kept per object (default 100). */
  readonly statusHistoryLimit?: number;
}

/** Options of `createInstance`: per instance (cluster). */
export interface StorageInstanceOptions {
  /**
   * The replica-connection implementation of this cluster (no default: the composition root
   * chooses it from the cluster's phases, e.g. `connectLegacyStorageReplica`).
   */
  readonly connector: StorageReplicaConnector;
  /** Reconnect backoff and keepalive (default 125 ms doubling, capped at 1 s, ±20 % jitter). */
  readonly tuning?: ReplicaConnectionTuning;
  /** A read-only controller never sends `allowWrites` (0dt; default false). */
  readonly readOnly?: boolean;
}

/** Where a replica serves storage. */
export interface ReplicaLocationConfig {
  /** `http://host:port` of the replica's storage controller port (h2c). */
  readonly storageUrl: string;
}

/** A replica as the controller sees it. */
export interface StorageReplicaInfo {
  readonly replicaId: ReplicaId;
  readonly storageUrl: string;
  /** The current task's state (`failed` until the next maintenance rehydrates it). */
  readonly state: ReplicaConnectionState;
  /** Successful connections so far (1 + rehydrations that connected). */
  readonly connects: number;
}

/** What listeners of `onEvent` see. */
export type StorageControllerEvent =
  | CollectionEvent
  | {
      readonly kind: "response";
      readonly instanceId: string;
      readonly replicaId: ReplicaId;
      readonly response: StorageResponse;
    }
  | {
      readonly kind: "replicaConnected" | "replicaRehydrating";
      readonly instanceId: string;
      readonly replicaId: ReplicaId;
    }
  | {
      readonly kind: "replicaFailed";
      readonly instanceId: string;
      readonly replicaId: ReplicaId;
      readonly error: Error;
    };

/** The storage controller. */
export interface StorageController {
  readonly metrics: StorageControllerMetrics;
  /** @throws InstanceExists, ControllerClosed */
  createInstance(instanceId: string, options: StorageInstanceOptions): void;
  /** Lets a read-only instance's replicas write (one way). @throws InstanceMissing */
  /**
   * Drops an instance: its remaining ingestions are dropped (on the replicas too), its replica
   * tasks stopped and its history forgotten. @throws InstanceMissing
   * With `keepReplicas` (a live rebuild of the cluster's controller) the connections stop FIRST,
   * so the replicas keep every ingestion running for the next controller to reconcile.
   */
  dropInstance(instanceId: string, options?: { readonly keepReplicas?: boolean }): Promise<void>;
  allowWrites(instanceId: string): void;
  /** Sends storage parameters to every replica. @throws InstanceMissing */
  updateConfiguration(instanceId: string, params: ReadonlyMap<string, string>): void;
  /** @throws InstanceMissing, InvalidReplicaId, ReplicaExists, ControllerClosed */
  addReplica(instanceId: string, replicaId: ReplicaId, location: ReplicaLocationConfig): void;
  /**
   * The replica's process (re)started at `location`: a new URL is used from the next attempt on
   * (a connected task is restarted), and a connecting task tries now rather than after the rest
   * of its backoff. @throws InstanceMissing, ReplicaMissing
   */
  updateReplicaLocation(
    instanceId: string,
    replicaId: ReplicaId,
    location: ReplicaLocationConfig,
  ): void;
  /** Closes the replica's task and re-places its objects. @throws InstanceMissing, ReplicaMissing */
  dropReplica(instanceId: string, replicaId: ReplicaId): Promise<void>;
  /** The instance's replicas, smallest id first. @throws InstanceMissing */
  replicas(instanceId: string): StorageReplicaInfo[];
  /**
   * Replaces the instance's connector and gives every replica its next incarnation through it
   * (a controller-side phase flipped live): ingestions and their placement stay, each replica
   * reconciles the replayed history against what it runs. @throws InstanceMissing
   */
  reseatReplicas(instanceId: string, connector: StorageReplicaConnector): Promise<void>;
  /**
   * Creates (or, for an existing id of the same instance, alters) an ingestion.
   * @throws InstanceMissing, CollectionExists, PlacementConflict, ControllerClosed
   */
  createIngestion(
    instanceId: string,
    id: GlobalId,
    description: IngestionDescription,
    preference?: ReplicaPreference,
  ): void;
  /** Drops an ingestion and all its exports. @throws CollectionMissing */
  dropIngestion(id: GlobalId): void;
  /**
   * Allows compaction of a collection up to `since`; `null` drops it (an ingestion's own id
   * drops the whole ingestion).
   * @throws CollectionMissing, CompactionRegression
   */
  allowCompaction(id: GlobalId, since: Frontier): void;
  /** The write frontier (max over replicas). @throws CollectionMissing */
  frontier(id: GlobalId): Frontier;
  /** The latest status (undefined before the first). @throws CollectionMissing */
  status(id: GlobalId): StatusUpdate | undefined;
  /** Every status, oldest first (bounded). @throws CollectionMissing */
  statusHistory(id: GlobalId): readonly StatusUpdate[];
  /** The latest statistics per replica. @throws CollectionMissing */
  statistics(id: GlobalId): ReadonlyMap<ReplicaId, SourceStatistics>;
  /**
   * Resolves once the write frontier is at or beyond `target` (`null`: closed).
   * @throws CollectionMissing, UpperWaitTimedOut (rejections)
   */
  waitForUpper(id: GlobalId, target: Frontier, options?: { timeoutMs?: number }): Promise<void>;
  /** True while `id` is a live (not dropped) collection. */
  hasCollection(id: GlobalId): boolean;
  /** The instance's command history, reduced first. @throws InstanceMissing */
  history(instanceId: string): readonly StorageCommand[];
  /** Commands the instance's history holds now, without reducing or copying it. @throws InstanceMissing */
  historySize(instanceId: string): number;
  /**
   * Replaces failed replica tasks (also run every `maintenanceIntervalMs`) whose connector has no
   * rehydration policy of its own (the legacy tasks).
   */
  rehydrateFailedReplicas(): void;
  /** Subscribes to events; returns the unsubscribe function. */
  onEvent(listener: (event: StorageControllerEvent) => void): () => void;
  /** Stops maintenance, closes every task, rejects pending waits. */
  close(): Promise<void>;
}

/** One replica of an instance. */
interface ReplicaState {
  /** Updated by `updateReplicaLocation`; read at every connection attempt. */
  url: string;
  /** The current incarnation's task; replaced on rehydration. */
  task: StorageReplicaConnection;
  /** Closes `task` and settles its metrics (connected gauge, connect wait). */
  stopTask: () => Promise<void>;
  /** The current incarnation: 1, + 1 per new task. */
  epoch: number;
  /** Successful connections of this replica's tasks. */
  connects: number;
  /** The connector's rehydration schedule for this replica (unified path); undefined: legacy. */
  rehydration: ReplicaRehydration | undefined;
}

/** One storage instance. */
interface InstanceState {
  readonly id: string;
  readonly history: StorageCommandHistory;
  readonly placement: IngestionPlacement;
  readonly replicas: Map<ReplicaId, ReplicaState>;
  /** How this instance's replicas are connected; replaced by `reseatReplicas`. */
  connector: StorageReplicaConnector;
  readonly tuning: ReplicaConnectionTuning | undefined;
  /** Live ingestions → their collection ids (own id first). */
  readonly ingestions: Map<GlobalId, readonly GlobalId[]>;
  /** False until `allowWrites` was pushed. */
  writable: boolean;
}

/** Creates a storage controller. Replicas are connected as they are added. */
export function createStorageController(options: StorageControllerOptions): StorageController {
  const logger = (options.logger ?? pino({ level: "silent" })).child({
    component: "storage-controller",
  });
  const registry = options.registry ?? new Registry();
  const metrics = createStorageControllerMetrics(registry);
  const listeners = new Set<(event: StorageControllerEvent) => void>();
  const emit = (event: StorageControllerEvent) => {
    for (const l of listeners) {
      try {
        l(event);
      } catch (e) {
        logger.error({ err: e }, "storage controller: an event listener threw");
      }
    }
  };
  const collections = new StorageCollections({
    logger,
    emit,
    ...(options.statusHistoryLimit === undefined
      ? {}
      : { statusHistoryLimit: options.statusHistoryLimit }),
  });
  const instances = new Map<string, InstanceState>();
  const closing = new Set<Promise<void>>();
  let closed = false;

  const instance = (id: string, operation: string): InstanceState => {
    const i = instances.get(id);
    if (i === undefined) throw new InstanceMissing(id, operation);
    return i;
  };
  const replica = (i: InstanceState, replicaId: ReplicaId, operation: string): ReplicaState => {
    const r = i.replicas.get(replicaId);
    if (r === undefined) throw new ReplicaMissing(replicaId, operation);
    return r;
  };
  const closeTask = (state: ReplicaState) => {
    const p = state.stopTask();
    closing.add(p);
    void p.finally(() => closing.delete(p));
  };

  /** Pushes commands into the history and sends them to the replicas that must receive them. */
  const send = (i: InstanceState, commands: readonly StorageCommand[]) => {
    for (const c of commands) i.history.push(c);
    for (const c of commands) {
      const id = objectIdOf(c);
      const targets = id === undefined ? [...i.replicas.keys()] : i.placement.replicasFor(id);
      for (const r of targets) i.replicas.get(r)?.task.send([c]);
    }
  };

  /** Starts a new incarnation of `replicaId` (its replay is read when its stream opens). */
  const startTask = (i: InstanceState, replicaId: ReplicaId, state: ReplicaState): void => {
    const epoch = ++state.epoch;
    state.rehydration?.started();
    const startedAt = performance.now();
    const labels = { instance_id: i.id, replica_id: replicaId };
    /** Whether this task is counted in the connected gauge / its connect wait was recorded. */
    let counted = false;
    let waited = false;
    const recordWait = () => {
      if (waited) return;
      waited = true;
      metrics.replicaConnectWaitSeconds.inc(labels, (performance.now() - startedAt) / 1000);
    };
    const uncount = () => {
      if (!counted) return;
      counted = false;
      metrics.connectedReplicaCount.dec({ instance_id: i.id });
    };
    const current = () => i.replicas.get(replicaId)?.task === task && task.state === "connected";
    let assigned = false;
    const task: StorageReplicaConnection = i.connector({
      instanceId: i.id,
      replicaId,
      epoch,
      generation: options.generation,
      ...(options.replicaSecret === undefined ? {} : { replicaSecret: options.replicaSecret }),
      location: () => state.url,
      replay: () => {
        i.history.reduce();
        return i.placement.commandsFor(replicaId, i.history.commands());
      },
      logger,
      ...(i.tuning === undefined ? {} : { tuning: i.tuning }),
      onCommandSent: (c) => metrics.commandsTotal.inc({ ...labels, command_type: c.kind }),
      onResponses: (e, responses) => {
        if (e !== state.epoch) return; // an older incarnation's
        for (const response of responses) {
          if (task.state !== "connected") return;
          metrics.responsesTotal.inc({ ...labels, response_type: response.kind });
          if (!current()) continue; // a stale task
          emit({ kind: "response", instanceId: i.id, replicaId, response });
          collections.absorb(i.id, replicaId, response);
        }
      },
      onConnected: () => {
        recordWait();
        counted = true;
        metrics.connectedReplicaCount.inc({ instance_id: i.id });
        metrics.replicaConnectsTotal.inc(labels);
        const announce = () => {
          const s = i.replicas.get(replicaId);
          if (s?.task !== task) return;
          s.connects++;
          emit({ kind: "replicaConnected", instanceId: i.id, replicaId });
        };
        // A connector may call this synchronously, from inside `i.connector(...)` (a one-port
        // replica whose shared stream is already open): `task` is assigned and recorded only once
        // that returns, so then the task check waits a microtask.
        if (assigned) announce();
        else queueMicrotask(announce);
      },
      onFailed: (_epoch, error) => {
        uncount();
        if (i.replicas.get(replicaId)?.task !== task) return;
        // The next connection reconciles silently: nothing owed, reported uppers start over.
        collections.replicaReset(i.id, replicaId, false);
        emit({ kind: "replicaFailed", instanceId: i.id, replicaId, error });
        state.rehydration?.failed(() => {
          if (!closed && i.replicas.get(replicaId) === state && state.task === task) {
            rehydrate(i, replicaId, state);
          }
        });
      },
    });
    assigned = true;
    state.task = task;
    state.stopTask = () => {
      state.rehydration?.cancel();
      recordWait();
      uncount();
      return task.close();
    };
  };

  /** Gives a failed replica its next incarnation. */
  const rehydrate = (i: InstanceState, replicaId: ReplicaId, state: ReplicaState) => {
    logger.info({ instance_id: i.id, replica_id: replicaId }, "rehydrating storage replica");
    emit({ kind: "replicaRehydrating", instanceId: i.id, replicaId });
    startTask(i, replicaId, state);
  };

  // PHASE(replicas): legacy — delete when cluster-unification-replicas is retired (the unified
  // replica task owns the rehydration policy, design §9 phase 3).
  const rehydrateFailedReplicas = () => {
    if (closed) return;
    for (const i of instances.values()) {
      for (const [replicaId, state] of i.replicas) {
        // The connector's own policy (unified path) rehydrates these.
        if (state.task.state !== "failed" || state.rehydration !== undefined) continue;
        rehydrate(i, replicaId, state);
      }
    }
  };
  const timer = setInterval(rehydrateFailedReplicas, options.maintenanceIntervalMs ?? 1000);
  timer.unref();

  /** Objects paused before `change`, and the ones paused after it that were not before. */
  const newlyPaused = (i: InstanceState, change: () => void): GlobalId[] => {
    const before = new Set(i.placement.pausedObjects());
    change();
    return i.placement.pausedObjects().filter((id) => !before.has(id));
  };

  const drop = (i: InstanceState, id: GlobalId, objectId: GlobalId) => {
    const command: StorageCommand = { kind: "allowCompaction", id, frontier: null };
    if (objectId !== id) {
      send(i, [command]);
      collections.drop([id]);
      return;
    }
    const ids = i.ingestions.get(objectId) ?? [objectId];
    send(i, [command]);
    collections.injectStatus(i.id, objectId, "dropped");
    collections.objectDropped(objectId);
    i.placement.removeObject(objectId);
    i.ingestions.delete(objectId);
    collections.drop(ids.filter((c) => collections.has(c)));
    logger.info({ instance_id: i.id, id: objectId }, "storage controller: ingestion dropped");
  };

  const controller: StorageController = {
    metrics,

    createInstance(instanceId, instanceOptions) {
      if (closed) throw new ControllerClosed("createInstance");
      if (instances.has(instanceId)) throw new InstanceExists(instanceId);
      const history = new StorageCommandHistory({
        metrics: metrics.historyCountsFor(instanceId),
      });
      const i: InstanceState = {
        id: instanceId,
        history,
        placement: new IngestionPlacement(),
        replicas: new Map(),
        connector: instanceOptions.connector,
        tuning: instanceOptions.tuning,
        ingestions: new Map(),
        writable: false,
      };
      instances.set(instanceId, i);
      // The history's hello is a placeholder: every task sends its own with a fresh nonce.
      history.push({ kind: "hello", hello: createHello(options.generation) });
      history.push({ kind: "initializationComplete" });
      if (instanceOptions.readOnly !== true) controller.allowWrites(instanceId);
      logger.info(
        { instance_id: instanceId, read_only: instanceOptions.readOnly === true },
        "storage instance created",
      );
    },

    async dropInstance(instanceId, options) {
      const i = instance(instanceId, "dropInstance");
      const dropIngestions = () => {
        for (const objectId of [...i.ingestions.keys()]) drop(i, objectId, objectId);
      };
      if (options?.keepReplicas !== true) dropIngestions();
      instances.delete(instanceId);
      const tasks = [...i.replicas.values()].map((s) => s.stopTask());
      for (const replicaId of i.replicas.keys()) collections.replicaReset(i.id, replicaId, true);
      i.replicas.clear();
      // No replica is connected any more: the drops only clear the controller's bookkeeping.
      if (options?.keepReplicas === true) dropIngestions();
      metrics.forgetInstance(instanceId);
      logger.info({ instance_id: instanceId }, "storage instance dropped");
      await Promise.all(tasks);
    },

    allowWrites(instanceId) {
      const i = instance(instanceId, "allowWrites");
      if (i.writable) return;
      i.writable = true;
      send(i, [{ kind: "allowWrites" }]);
    },

    updateConfiguration(instanceId, params) {
      const i = instance(instanceId, "updateConfiguration");
      send(i, [{ kind: "updateConfiguration", params: new Map(params) }]);
    },

    addReplica(instanceId, replicaId, location) {
      if (closed) throw new ControllerClosed("addReplica");
      const i = instance(instanceId, "addReplica");
      const resumed = i.placement.addReplica(replicaId);
      // The task reads `state.url` at once, so the state exists before its task does.
      const state = {
        url: location.storageUrl,
        connects: 0,
        epoch: 0,
        rehydration: i.connector.rehydration?.forReplica(),
      } as ReplicaState;
      i.replicas.set(replicaId, state);
      startTask(i, replicaId, state);
      logger.info(
        { instance_id: instanceId, replica_id: replicaId, url: location.storageUrl, resumed },
        "storage replica added",
      );
    },

    updateReplicaLocation(instanceId, replicaId, location) {
      const i = instance(instanceId, "updateReplicaLocation");
      const state = replica(i, replicaId, "updateReplicaLocation");
      // The replica (re)started there: a connecting task tries now, not after its backoff.
      if (state.url === location.storageUrl) {
        state.task.retryNow?.();
        return;
      }
      state.url = location.storageUrl;
      state.task.retryNow?.();
      if (state.task.state === "connected") {
        closeTask(state);
        collections.replicaReset(i.id, replicaId, false);
        startTask(i, replicaId, state);
      }
    },

    async dropReplica(instanceId, replicaId) {
      const i = instance(instanceId, "dropReplica");
      const state = replica(i, replicaId, "dropReplica");
      i.replicas.delete(replicaId);
      const task = state.stopTask();
      let moves: ReturnType<IngestionPlacement["removeReplica"]> = [];
      const paused = newlyPaused(i, () => {
        moves = i.placement.removeReplica(replicaId);
      });
      collections.replicaReset(i.id, replicaId, true);
      i.history.reduce();
      for (const move of moves) {
        if (move.to === null) continue;
        const ids = new Set(i.ingestions.get(move.objectId) ?? [move.objectId]);
        const commands = i.placement.commandsFor(move.to, i.history.commands()).filter((c) => {
          const id = objectIdOf(c);
          return id !== undefined && ids.has(id);
        });
        i.replicas.get(move.to)?.task.send(commands);
      }
      for (const id of paused) collections.injectStatus(i.id, id, "paused", [REPLICA_DROPPED_HINT]);
      logger.info({ instance_id: instanceId, replica_id: replicaId }, "storage replica dropped");
      await task;
    },

    async reseatReplicas(instanceId, connector) {
      const i = instance(instanceId, "reseatReplicas");
      i.connector = connector;
      const stopped: Promise<void>[] = [];
      for (const [replicaId, state] of i.replicas) {
        stopped.push(state.stopTask());
        state.rehydration = connector.rehydration?.forReplica();
        collections.replicaReset(i.id, replicaId, false);
        startTask(i, replicaId, state);
      }
      logger.info(
        { instance_id: instanceId, replicas: [...i.replicas.keys()] },
        "storage replicas reseated on a new connector",
      );
      await Promise.all(stopped);
    },

    replicas(instanceId) {
      const i = instance(instanceId, "replicas");
      return i.placement.replicas().flatMap((replicaId) => {
        const s = i.replicas.get(replicaId);
        return s === undefined
          ? []
          : [{ replicaId, storageUrl: s.url, state: s.task.state, connects: s.connects }];
      });
    },

    createIngestion(instanceId, id, description, preference) {
      if (closed) throw new ControllerClosed("createIngestion");
      const i = instance(instanceId, "createIngestion");
      const collectionIds = [id];
      for (const e of description.sourceExports)
        if (!collectionIds.includes(e.id)) collectionIds.push(e.id);
      // Validate against every instance's collections before touching the placement.
      collections.addIngestion(instanceId, id, collectionIds);
      const placed = i.placement.addObject(id, {
        preference: preference ?? ingestionPreference(description),
        collectionIds: collectionIds.slice(1),
      });
      i.ingestions.set(id, collectionIds);
      send(i, [{ kind: "runIngestion", id, description }]);
      if (placed.length === 0) collections.injectStatus(i.id, id, "paused", [NO_REPLICA_HINT]);
      logger.info(
        { instance_id: instanceId, id, replicas: placed, collections: collectionIds },
        "storage controller: ingestion created",
      );
    },

    dropIngestion(id) {
      controller.allowCompaction(collections.owner(id, "dropIngestion").objectId, null);
    },

    allowCompaction(id, since) {
      const { instanceId, objectId } = collections.owner(id, "allowCompaction");
      const i = instance(instanceId, "allowCompaction");
      collections.setSince(id, since);
      if (since === null) drop(i, id, objectId);
      else send(i, [{ kind: "allowCompaction", id, frontier: since }]);
    },

    frontier: (id) => collections.frontier(id),
    status: (id) => collections.status(id),
    statusHistory: (id) => collections.statusHistory(id),
    statistics: (id) => collections.statistics(id),
    waitForUpper: (id, target, waitOptions = {}) =>
      collections.waitForUpper(id, target, waitOptions.timeoutMs),
    hasCollection: (id) => collections.has(id),

    history(instanceId) {
      const { history } = instance(instanceId, "history");
      history.reduce();
      return history.commands();
    },

    historySize: (instanceId) => instance(instanceId, "historySize").history.size,

    rehydrateFailedReplicas,

    onEvent(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },

    async close() {
      if (closed) return;
      closed = true;
      clearInterval(timer);
      for (const i of instances.values()) for (const s of i.replicas.values()) closeTask(s);
      collections.close();
      await Promise.all([...closing]);
      listeners.clear();
      logger.info("storage controller closed");
    },
  };
  return controller;
}
