/**
 * Reads: peeks (through an index) and subscribes (of a durable collection).
 *
 * ## Flow of a peek
 * 1. Resolve the object (cached objects; no catalog read) and the index to read: the named one,
 *    or the first index on the named object (`NoIndexForPeek`); check the requested columns, the
 *    key rows and the request's size (`validation/peek.ts`); an index that failed (its definition,
 *    or quarantined by compute) is `ObjectFailed`; a `replica` names one replica of its cluster.
 * 2. Choose the timestamp (`peekTimestamp`: the freshest complete time, or the requested one once
 *    the inputs passed it), awaiting frontier updates until the deadline.
 * 3. The index's cluster's controller (`ClusterController.peek`) with what is left of the
 *    deadline; the first (or the targeted) replica answers, and the response names it.
 *
 * ## Flow of an introspection peek (`mz_introspection.<relation>`)
 * Resolved and validated by `introspection/relations.ts` (relation, cluster, replica: the named
 * one or an online one), read at the requested time or now (wall clock ms, rounded down to the
 * cluster's interval: the newest log time the replica completed), from the replica's own log.
 * The persisted ones (`mz_introspection.replica_<relation>`, every replica's rows) are read by
 * environmentd from persist (`introspection/persisted-peek.ts`): no replica is asked.
 *
 * ## Flow of a subscribe
 * The durable collection (a subsource or view; for an index, what it is on) from its as-of
 * (`subscribeAsOf`), under a transient id from the environment's one counter (`TransientIds`), held at the subscribe's compute since (one below what was emitted, held back
 * while a replica rebuilds it: what a replay reads its shard at), until `upTo` or the empty
 * upper, through the cluster's controller (`ClusterController.subscribe`); the hold on the
 * durable collection comes from its owner's controller (`Shards.acquire`). Breaking out drops
 * the subscribe and releases the hold.
 *
 * A consumer that goes away while no batch comes (a stalled or killed replica, a cluster without
 * replicas) cannot break out: `return()` on an async generator waits for its pending step, so
 * the `finally` would never run and the hold would pin the shard's since — persist could compact
 * nothing and blobs grew with every tick (issue 10, replica kills). Its `cancel` signal (the API
 * call's) releases the hold at once and drops the subscribe (`drop(id)` of its transient id),
 * which ends the stream.
 */
import {
  type ClusterController,
  CollectionMissing,
  PeekStageIndex,
  type PeekTrace,
} from "@mzts/controller-unified/state";
import {
  checkPeekColumns,
  type EnvironmentPeekResponse,
  type EnvironmentSubscribeResponse,
  objectKindPhrase,
  type PeekRequest,
  type ReplicaHealth,
  type SubscribeRequest,
} from "@mzts/protocol";
import type { Frontier, GlobalId, ReplicaId } from "@mzts/repr";
import type { ClusterReplica } from "../catalog/catalog.js";
import { UnknownObject } from "../catalog/errors.js";
import {
  ControllerRebuilt,
  InvalidObjectRequest,
  NoIndexForPeek,
  ObjectFailed,
} from "../errors.js";
import type { PersistedIntrospection } from "../introspection/persisted-introspection.js";
import { persistedRelation } from "../introspection/persisted-relations.js";
import {
  introspectionNow,
  isIntrospectionObject,
  resolveIntrospectionPeek,
} from "../introspection/relations.js";
import { validatePeekKeys, validatePeekSize } from "../validation/peek.js";
import type { Clusters } from "./clusters.js";
import type { Dataflows } from "./dataflows.js";
import type { FrontierSignal } from "./frontier-signal.js";
import type { Frontiers } from "./frontiers.js";
import type { ObjectCache } from "./object-cache.js";
import type { Resolved, ResolvedObjects } from "./objects.js";
import type { Shards } from "./shards.js";
import { peekTimestamp, subscribeAsOf } from "./timestamps.js";
import type { TransientIds } from "./transient-ids.js";

export interface ReadsOptions {
  readonly objects: ObjectCache;
  readonly clusters: Clusters;
  readonly shards: Shards;
  readonly frontiers: Frontiers;
  readonly signal: FrontierSignal;
  readonly dataflows: Dataflows;
  /** Default peek timeout (ms). */
  readonly peekTimeoutMs: number;
  /** The environment's transient ids (shared with the persisted introspection's subscribes). */
  readonly transientIds: TransientIds;
  /** Answers peeks of `mz_introspection.replica_<relation>` (absent: they are unknown). */
  readonly persisted?: PersistedIntrospection;
  /** A replica's health (`Replicas.healthOf`): introspection peeks pick an online replica. */
  /** Whether a replica keeps storage introspection relations (undefined: unknown). */
  readonly replicaLogsStorage?: (replicaId: string) => boolean | undefined;
  readonly replicaHealth: (
    clusterId: GlobalId,
    replicaId: ReplicaId,
  ) => { health: ReplicaHealth; reason: string };
}

/** Peeks and subscribes (see the file comment). */
export class Reads {
  readonly #o: ReadsOptions;

  constructor(opts: ReadsOptions) {
    this.#o = opts;
  }

  /** `trace`: the API's stage times (`resolved`, `timestamped` marked here; see `PeekTrace`). */
  async peek(req: PeekRequest, trace?: PeekTrace): Promise<EnvironmentPeekResponse> {
    const resolved = await this.#o.objects.get();
    if (isIntrospectionObject(req.object)) return this.#peekIntrospection(req, resolved);
    const { byName, byId, clusters, replicas } = resolved;
    const object = byName.get(req.object);
    if (object === undefined) throw new UnknownObject("object", req.object);
    if (object.kind === "source") {
      throw new InvalidObjectRequest(
        "object",
        `${req.object} is a source; its data is in its subsources (${req.object}_<output>): peek one of them`,
      );
    }
    let index: Resolved | undefined = object.kind === "index" ? object : undefined;
    if (index === undefined) {
      for (const r of byId.values()) {
        if (r.kind === "index" && r.on === object.id) {
          index = r;
          break;
        }
      }
    }
    if (index === undefined) throw new NoIndexForPeek(req.object);
    checkPeekColumns(req, index.arity);
    validatePeekKeys(req.literalConstraints, {
      name: index.name,
      key: index.key,
      types: index.types,
    });
    validatePeekSize(req);
    if (this.#o.clusters.rebuilding(index.clusterId)) await this.#o.clusters.ready(index.clusterId);
    const controller = this.#o.clusters.controllerOf(index.clusterId, "peek");
    const failure = index.failed ?? controller.failures().get(index.id);
    if (failure !== undefined) throw new ObjectFailed(index.name, failure);
    const clusterId = index.clusterId;
    const clusterName = clusters.find((c) => c.id === clusterId)?.name ?? clusterId;
    if (req.cluster !== undefined && req.cluster !== clusterName) {
      throw new InvalidObjectRequest(
        "cluster",
        `is ${req.cluster}, but ${req.object} is on cluster ${clusterName}; leave it unset or name ${clusterName}`,
      );
    }
    let targetReplica: string | undefined;
    if (req.replica !== undefined) {
      const name = req.replica;
      targetReplica = replicas.find((r) => r.clusterId === clusterId && r.name === name)?.id;
      if (targetReplica === undefined) throw new UnknownObject("replica", name, clusterName);
    }
    trace?.mark(PeekStageIndex.resolved);
    const timeoutMs = req.timeoutMs ?? this.#o.peekTimeoutMs;
    const deadline = Date.now() + timeoutMs;
    const timestamp = await peekTimestamp(this.#o.frontiers, this.#o.signal, {
      object: req.object,
      index,
      byId,
      requested: req.timestamp,
      timeoutMs,
      deadline,
    });
    // A live rebuild of the cluster's controller may have run meanwhile: peek the current one.
    if (this.#o.clusters.rebuilding(clusterId)) await this.#o.clusters.ready(clusterId);
    const peeked = this.#o.clusters.controllerOf(clusterId, "peek");
    trace?.mark(PeekStageIndex.timestamped);
    const answer = await peeked
      .peek({
        target: index.id,
        ...(targetReplica === undefined ? {} : { targetReplica }),
        ...(trace === undefined ? {} : { trace }),
        timestamp,
        timeoutMs: Math.max(1, deadline - Date.now()),
        ...readParts(req),
      })
      .catch((e: unknown) => {
        throw this.#rebuilt(clusterId, peeked, "peek", e);
      });
    return {
      rows: answer.rows,
      timestamp,
      replica: replicaName(answer.replicaId, replicas),
      replicaId: answer.replicaId,
    };
  }

  /** A peek of `mz_introspection.<relation>` (see the file comment). */
  async #peekIntrospection(
    req: PeekRequest,
    { clusters, replicas }: ResolvedObjects,
  ): Promise<EnvironmentPeekResponse> {
    const rel = persistedRelation(req.object);
    const persisted = rel === undefined ? undefined : this.#o.persisted;
    if (rel !== undefined && persisted !== undefined) {
      return persisted.peek(
        req,
        rel,
        { clusters, replicas },
        req.timeoutMs ?? this.#o.peekTimeoutMs,
      );
    }
    const target = resolveIntrospectionPeek(req, {
      clusters,
      replicas,
      health: this.#o.replicaHealth,
      ...(this.#o.replicaLogsStorage === undefined
        ? {}
        : { logsStorage: this.#o.replicaLogsStorage }),
    });
    validatePeekSize(req);
    const timestamp = req.timestamp ?? introspectionNow(target.intervalMs);
    await this.#o.clusters.ready(target.clusterId);
    const controller = this.#o.clusters.controllerOf(target.clusterId, "peek");
    const answer = await controller.peek({
      target: target.logIndex,
      targetReplica: target.replicaId,
      timestamp,
      timeoutMs: req.timeoutMs ?? this.#o.peekTimeoutMs,
      ...readParts(req),
    });
    return {
      rows: answer.rows,
      timestamp,
      replica: target.replicaName,
      replicaId: answer.replicaId,
    };
  }

  /** See the file comment; `cancel` is the caller going away (e.g. the API call's signal). */
  async *subscribe(
    req: SubscribeRequest,
    cancel?: AbortSignal,
  ): AsyncIterable<EnvironmentSubscribeResponse> {
    const { shards } = this.#o;
    const { byName, byId } = await this.#o.objects.get();
    const object = byName.get(req.object);
    if (object === undefined) throw new UnknownObject("object", req.object);
    // Read the durable collection: the object itself, or the one an index is on.
    const base = object.kind === "index" ? byId.get(object.on ?? "") : object;
    if (base === undefined || (base.kind !== "subsource" && base.kind !== "materializedView")) {
      throw new InvalidObjectRequest(
        "object",
        `${req.object} is ${objectKindPhrase(object.kind)}; subscribe to a subsource, materialized view or index`,
      );
    }
    // A cluster whose controller a live flip is rebuilding has its collections back after it.
    await this.#o.clusters.ready(base.clusterId);
    const asOf = subscribeAsOf(this.#o.frontiers, req.object, base, byId, req.asOf);
    const id = this.#o.transientIds.next();
    const controller = this.#o.clusters.controllerOf(base.clusterId, "subscribe");
    const hold = shards.has(base.id) ? shards.acquire(base.id, asOf) : undefined;
    const onCancel = () => {
      hold?.release();
      try {
        controller.drop(id);
      } catch {
        // CollectionMissing, its only error: the subscribe already ended. (A listener must not throw.)
      }
    };
    try {
      const batches = controller.subscribe({
        debugName: `subscribe-${req.object}`,
        sourceImports: [this.#o.dataflows.sourceImport(base)],
        indexImports: [],
        objectsToBuild: [{ id, plan: { kind: "get", id: base.id, arity: base.arity } }],
        indexExports: [],
        sinkExports: [{ id, fromId: id, connection: { kind: "subscribe" } }],
        asOf,
        until: req.upTo ?? null,
      });
      if (cancel?.aborted === true) onCancel();
      cancel?.addEventListener("abort", onCancel, { once: true });
      for await (const batch of batches) {
        const done = batch.upper === null || (req.upTo !== undefined && batch.upper >= req.upTo);
        const updates = batch.updates.filter(([, , diff]) => diff !== 0);
        // The shard may compact up to where a replay rebuilds the subscribe (its since).
        if (!done && hold !== undefined) {
          const since = liveSince(controller, id);
          if (since !== undefined) hold.downgrade(since);
        }
        yield { updates, upper: done ? null : batch.upper };
        if (done) return;
      }
    } catch (e) {
      // The stream ended because the caller went away: nobody is left to tell.
      if (cancel?.aborted !== true) throw this.#rebuilt(base.clusterId, controller, "subscribe", e);
    } finally {
      cancel?.removeEventListener("abort", onCancel);
      hold?.release();
    }
  }

  /**
   * `e` as the retryable `ControllerRebuilt` when a live flip of `state` rebuilt `used` (the
   * cluster's controller the call ran on) meanwhile; else `e` itself.
   */
  #rebuilt(clusterId: string, used: ClusterController, operation: string, e: unknown): unknown {
    return this.#o.clusters.wasRebuilt(used) ? new ControllerRebuilt(clusterId, operation, e) : e;
  }
}

/** The optional parts of a peek that go to compute as they are. */
function readParts(req: PeekRequest) {
  return {
    ...(req.mapFilterProject === undefined ? {} : { mapFilterProject: req.mapFilterProject }),
    ...(req.finishing === undefined ? {} : { finishing: req.finishing }),
    ...(req.literalConstraints === undefined ? {} : { literalConstraints: req.literalConstraints }),
  };
}

/** The name of replica `id` (its id if it was dropped since). */
function replicaName(id: ReplicaId, replicas: readonly ClusterReplica[]): string {
  return replicas.find((r) => r.id === id)?.name ?? id;
}

/** The since of subscribe `id`, or undefined once its stream ended. */
function liveSince(controller: ClusterController, id: string): Frontier | undefined {
  try {
    return controller.frontiers(id).since;
  } catch (e) {
    if (e instanceof CollectionMissing) return undefined;
    throw e;
  }
}
