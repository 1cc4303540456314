/**
 * `UnifiedClusterController`: the **unified** `ClusterController` (design.md §9 phase 5) — a
 * driver over one `ClusterState`. The state decides; this file does the I/O it asks for: replica
 * connections, persist since handles, timers, promises and listeners.
 *
 * ## Flow
 * - **Replicas**: `addReplica` → `state.addReplica` (epoch 1) and a `ReplicaIncarnation` through
 *   the injected connectors (two-port: one compute + one storage connection; one-port: one
 *   cluster connection). A stream opening reads `state.replay(r)` (its workload's slice);
 *   all connected → `state.connected`; the first failure → `state.failed(r, epoch, message,
 *   helloRefusalOf(error))`, the incarnation is closed, and the unified rehydration policy (the
 *   compute/cluster connector's, else `createRehydrationPolicy()`) decides when `state.spawn`
 *   starts the next one. Responses → `state.absorb`.
 * - **After every call and every response** (`#flush`): the outbox goes to the replicas (a
 *   targeted command only to its replica; split by workload on two ports), then the events go
 *   out: write frontiers to `onWriteFrontier` listeners and `waitForUpper` waiters, settled peeks
 *   to their promises (`peek-waiters.ts`), storage statuses and statistics to `objectStatus`.
 * - **Objects**: `openShards` opens the since handles (`SinceHandleIo`) and remembers each
 *   shard's durable since; `createIngestion` / `createDataflow` (a persist sink's shard) require
 *   it — a shard not opened is an `InvalidStateRequest` that says to call `openShards` first.
 * - **Maintenance**: every `tickIntervalMs` (unref'd; 0 = only when `maintain()` is called)
 *   `state.tick(now)`; each downgrade/heartbeat is done through `SinceHandleIo` and confirmed
 *   with `sinceSettled` / `sinceFailed` (retried by the next tick), each expiry is done once.
 * - **Peeks**: the `Peek` is built as compute-client's `buildPeek` does (arity from the
 *   dataflow), `state.beginPeek`; timeouts and aborts settle it through `state.finishPeek`. A replica's
 *   connections drop the peek answers `state.awaitsPeek` says nobody awaits undecoded (issue 16).
 * - `close()`: the timer stops, pending respawns are cancelled, every connection closes, pending
 *   peeks and `waitForUpper`s reject, in-flight persist I/O is awaited; later calls throw.
 *
 * ## Subscribes
 * `subscribe` opens one in the state (`cluster-subscribes.ts`) and returns its merged stream;
 * the end of the stream (completed, failed, broken off) flushes the drop it queued.
 */
import { randomUUID } from "node:crypto";
import {
  buildPeek,
  type ClusterResponse,
  type DataflowDescription,
  type HelloRefusal,
  helloRefusalOf,
  type IngestionDescription,
  type LoggingConfig,
  type SourceStatistics,
  type StatusUpdate,
} from "@mzts/protocol";
import type { Frontier, GlobalId, ReplicaId } from "@mzts/repr";
import type { Logger } from "pino";
import type { Registry } from "prom-client";
import { createRehydrationPolicy, type ReplicaRehydration } from "../replicas/rehydration.js";
import type { ReplicaConnectionTuning } from "../replicas/replica-connection.js";
import type {
  ClusterController,
  ClusterControllerStatus,
  ClusterLogIndex,
  ClusterPeekAnswer,
  ClusterPeekRequest,
  ClusterReplicaLocation,
  ClusterSubscribeBatch,
} from "./cluster-controller.js";
import { ClusterState } from "./cluster-state.js";
import type { CollectionFrontiers } from "./collection-table.js";
import { validateDataflowPlans } from "./dataflow-imports.js";
import { DriverMetrics, ResponseTally } from "./driver-metrics.js";
import { DriverQuarantine } from "./driver-quarantine.js";
import {
  CollectionMissing,
  InvalidStateRequest,
  PeekCanceled,
  PeekFailed,
  ReplicaMissing,
} from "./errors.js";
import { NO_REPLICA_HINT, REPLICA_DROPPED_HINT } from "./ingestion-placement.js";
import { LOGGING_DISABLED } from "./log-indexes.js";
import { PeekStageIndex } from "./peek-trace.js";
import { PeekWaiters } from "./peek-waiters.js";
import type { ReadHold } from "./read-holds.js";
import type { ReplicaHealthRecord } from "./replica-health.js";
import { type ClusterConnectors, ReplicaIncarnation } from "./replica-incarnation.js";
import type { SinceHandleIo } from "./since-handle-io.js";
import type { ClusterStateOptions } from "./state-io.js";
import { flushingIterable } from "./subscribe-streams.js";
import { UpperWaiters } from "./upper-waiters.js";

/** Options of `UnifiedClusterController`. */
export interface UnifiedClusterControllerOptions extends Omit<ClusterStateOptions, "logging"> {
  /**
   * The cluster's logging config (log index ids + interval), sent in its `CreateInstance`, as
   * compute-client's `createInstance(id, logging, …)` takes it. Default: logging off.
   */
  readonly logging?: LoggingConfig;
  /**
   * The legacy controllers' Prometheus series (same names, `instance_id` / `replica_id` labels)
   * and the cluster state's gauges, registered on `registry`. Absent: no metrics.
   */
  readonly metrics?: { readonly registry: Registry };
  readonly connectors: ClusterConnectors;
  readonly sinceHandles: SinceHandleIo;
  readonly logger: Logger;
  /** The environment's replica secret (hello proofs); absent = unsigned hellos. */
  readonly replicaSecret?: Uint8Array;
  readonly tuning?: ReplicaConnectionTuning;
  /** The maintenance interval (ms; default 1000; 0 = no timer, call `maintain()`). */
  readonly tickIntervalMs?: number;
  /** The clock (tests; default `Date.now`). */
  readonly now?: () => number;
}

interface ReplicaEntry {
  location: ClusterReplicaLocation;
  incarnation: ReplicaIncarnation | undefined;
  /** The current incarnation's epoch (set before it is built: it may report while being built). */
  epoch: number;
  /** When the current incarnation started (`performance.now()`; the connect wait metric). */
  startedAt: number;
  readonly rehydration: ReplicaRehydration;
}

// PHASE(state): unified — the driver of one ClusterState
/** The unified path behind `ClusterController` (see the file comment). */
export class UnifiedClusterController implements ClusterController {
  readonly clusterId: string;
  readonly path = "unified" as const;
  readonly state: ClusterState;
  readonly #o: UnifiedClusterControllerOptions;
  readonly #log: Logger;
  readonly #now: () => number;
  readonly #replicas = new Map<ReplicaId, ReplicaEntry>();
  /** Shard id → its handle's durable since, from `openShards`. */
  readonly #opened = new Map<string, Frontier>();
  /** Index export → the arity of what it indexes (the `Peek`'s arity). */
  readonly #arities = new Map<GlobalId, number>();
  readonly #peeks: PeekWaiters;
  readonly #uppers: UpperWaiters;
  readonly #frontierListeners = new Set<(id: GlobalId) => void>();
  readonly #statuses = new Map<GlobalId, StatusUpdate>();
  readonly #statistics = new Map<GlobalId, Map<ReplicaId, SourceStatistics>>();
  readonly #quarantine: DriverQuarantine;
  readonly #metrics: DriverMetrics | undefined;
  readonly #timer: NodeJS.Timeout | undefined;
  /** The running maintenance step (one at a time). */
  #maintaining: Promise<void> | undefined;
  #closed = false;

  constructor(opts: UnifiedClusterControllerOptions) {
    this.clusterId = opts.clusterId;
    this.#o = opts;
    this.#log = opts.logger.child({ component: "cluster-controller", cluster_id: opts.clusterId });
    this.#now = opts.now ?? Date.now;
    this.state = new ClusterState({ ...opts, logging: opts.logging ?? LOGGING_DISABLED });
    this.#peeks = new PeekWaiters((uuid) => {
      this.state.finishPeek(uuid);
      this.#flush();
    });
    this.#uppers = new UpperWaiters((id) => this.state.frontiers(id).write);
    this.#quarantine = new DriverQuarantine(
      {
        log: this.#log,
        failPeek: (uuid, reason) => this.#peeks.fail(uuid, new PeekFailed(uuid, reason)),
        peeksReading: (id) => this.state.peeksReading(id),
        failSubscribe: (id, reason) => this.state.failSubscribe(id, reason),
        isLive: (id) => this.state.isLive(id),
        drop: (id) => this.state.drop(id),
      },
      this.#now,
    );
    this.#metrics =
      opts.metrics === undefined
        ? undefined
        : new DriverMetrics(opts.metrics.registry, opts.clusterId, this.state);
    this.#metrics?.gauges(this.state);
    const every = opts.tickIntervalMs ?? 1000;
    if (every > 0) {
      this.#timer = setInterval(() => void this.maintain(), every);
      this.#timer.unref();
    }
  }

  // --- replicas -------------------------------------------------------------------------------

  addReplica(replicaId: ReplicaId, location: ClusterReplicaLocation): void {
    this.#open("addReplica");
    this.#checkLayout(location, "addReplica");
    const epoch = this.state.addReplica(replicaId);
    const policy =
      this.#o.connectors.compute?.rehydration ??
      this.#o.connectors.cluster?.rehydration ??
      createRehydrationPolicy();
    const entry: ReplicaEntry = {
      location,
      incarnation: undefined,
      epoch,
      startedAt: 0,
      rehydration: policy.forReplica(),
    };
    this.#replicas.set(replicaId, entry);
    this.#start(replicaId, entry, epoch);
    this.#metrics?.gauges(this.state);
  }

  updateReplicaLocation(replicaId: ReplicaId, location: ClusterReplicaLocation): void {
    const entry = this.#replica(replicaId);
    this.#checkLayout(location, "updateReplicaLocation");
    if (location.layout !== entry.location.layout) {
      throw new InvalidStateRequest(
        "updateReplicaLocation",
        `replica ${replicaId} moved from the ${entry.location.layout} to the ${location.layout} ` +
          "layout; drop the replica and add it again",
      );
    }
    entry.location = location;
    entry.incarnation?.retryNow();
  }

  async dropReplica(replicaId: ReplicaId): Promise<void> {
    const entry = this.#replica(replicaId);
    this.#replicas.delete(replicaId);
    entry.rehydration.cancel();
    this.#quarantine.forgetReplica(replicaId);
    const before = new Set(this.state.pausedIngestions());
    this.state.dropReplica(replicaId);
    for (const id of this.state.pausedIngestions())
      if (!before.has(id)) this.#paused(id, REPLICA_DROPPED_HINT);
    this.#flush();
    await entry.incarnation?.close();
  }

  replicas(): readonly ReplicaHealthRecord[] {
    return this.state.health();
  }

  replicaFrontiers(replicaId: ReplicaId): ReadonlyMap<GlobalId, Frontier> {
    return this.state.replicaFrontiers(replicaId);
  }

  /** The live compute exports, reported on or not (`ClusterState.computeExports`). */
  computeExports(): readonly GlobalId[] {
    return this.state.computeExports();
  }

  #checkLayout(location: ClusterReplicaLocation, op: string): void {
    const { compute, storage, cluster } = this.#o.connectors;
    const ok =
      location.layout === "one-port"
        ? cluster !== undefined
        : compute !== undefined && storage !== undefined;
    if (!ok) {
      throw new InvalidStateRequest(
        op,
        `this cluster controller was built without connectors for the ${location.layout} ` +
          "layout; give a location in the layout its replicas serve",
      );
    }
  }

  #replica(replicaId: ReplicaId): ReplicaEntry {
    const entry = this.#replicas.get(replicaId);
    if (entry === undefined) throw new ReplicaMissing(this.clusterId, replicaId);
    return entry;
  }

  /** Starts incarnation `epoch` of a replica. */
  #start(replicaId: ReplicaId, entry: ReplicaEntry, epoch: number): void {
    entry.rehydration.started();
    entry.epoch = epoch;
    entry.startedAt = performance.now();
    entry.incarnation = new ReplicaIncarnation({
      clusterId: this.clusterId,
      replicaId,
      epoch,
      generation: this.#o.generation,
      ...(this.#o.replicaSecret === undefined ? {} : { replicaSecret: this.#o.replicaSecret }),
      logger: this.#o.logger,
      ...(this.#o.tuning === undefined ? {} : { tuning: this.#o.tuning }),
      connectors: this.#o.connectors,
      location: () => entry.location,
      replay: () => {
        const replay = this.state.replay(replicaId);
        // Forgetting at the replay emits events; deliver them after the stream's first write.
        queueMicrotask(() => this.#flush());
        return replay;
      },
      onConnected: (e) => {
        if (!this.state.connected(replicaId, e, this.#now())) return;
        this.#metrics?.connected(replicaId, (performance.now() - entry.startedAt) / 1000);
        this.#flush();
      },
      onResponses: (e, responses) => this.#absorb(replicaId, e, responses),
      awaitsPeek: (uuid) => {
        if (this.state.awaitsPeek(replicaId, epoch, uuid)) return true;
        // Dropped undecoded (issue 16): still a sign of life (last heard), and a current
        // incarnation's is counted as if delivered.
        this.state.peekAnswerDropped(replicaId, epoch, this.#now());
        if (entry.epoch === epoch) this.#metrics?.peekResponseDropped(replicaId);
        return false;
      },
      onCommandSent: (e, command) => {
        if (entry.epoch !== e) return;
        this.#quarantine.sent(replicaId, command);
        this.#metrics?.commandSent(replicaId, command);
      },
      onFailed: (e, error) => this.#failed(replicaId, entry, e, error),
    });
  }

  #failed(replicaId: ReplicaId, entry: ReplicaEntry, epoch: number, error: Error): void {
    const refusal: HelloRefusal | undefined = helloRefusalOf(error);
    if (!this.state.failed(replicaId, epoch, error.message, refusal)) return;
    this.#log.warn({ replica_id: replicaId, epoch, err: error }, "replica incarnation failed");
    // Quarantine before the next incarnation reads its replay (`driver-quarantine.ts`).
    this.#quarantine.failed(replicaId, error, refusal !== undefined);
    this.#flush();
    const failed = entry.incarnation;
    entry.incarnation = undefined;
    void failed?.close();
    entry.rehydration.failed(() => {
      if (this.#closed || this.#replicas.get(replicaId) !== entry) return;
      this.#start(replicaId, entry, this.state.spawn(replicaId));
      this.#flush();
    });
  }

  #absorb(replicaId: ReplicaId, epoch: number, responses: readonly ClusterResponse[]): void {
    const now = this.#now();
    const current = this.#replicas.get(replicaId)?.epoch === epoch;
    // Counted per kind and message; added even when an absorb throws (as each was before it).
    const tally = current && this.#metrics !== undefined ? new ResponseTally() : undefined;
    try {
      for (const r of responses) {
        tally?.add(r);
        this.#quarantine.answered(r);
        this.state.absorb(replicaId, epoch, r, now);
        if (r.kind === "storage") this.#storageObservation(replicaId, r.response);
      }
    } finally {
      if (tally !== undefined) this.#metrics?.responses(replicaId, tally);
    }
    this.#flush();
  }

  #storageObservation(replicaId: ReplicaId, r: ClusterResponse["response"]): void {
    if (r.kind === "statusUpdate") {
      this.#statuses.set(r.update.id, { ...r.update, replicaId });
    } else if (r.kind === "statisticsUpdates") {
      for (const s of r.sources) {
        let m = this.#statistics.get(s.id);
        if (m === undefined) this.#statistics.set(s.id, (m = new Map()));
        m.set(replicaId, s);
      }
    }
  }

  // --- the outbox and the events ----------------------------------------------------------------

  /** Sends the outbox, then delivers the events (see the file comment). */
  #flush(): void {
    const out = this.state.takeOutbox();
    if (out.length > 0) {
      for (const [replicaId, entry] of this.#replicas) {
        const mine = out.filter((c) => c.replicaId === undefined || c.replicaId === replicaId);
        entry.incarnation?.send(mine);
      }
    }
    for (const e of this.state.takeEvents()) {
      switch (e.kind) {
        case "writeFrontier":
          this.#uppers.advanced(e.id);
          for (const l of this.#frontierListeners) this.#safely(() => l(e.id));
          break;
        case "peekSettled":
          this.#quarantine.forget(e.uuid);
          this.#peeks.settled(e.uuid, e.replicaId, e.response);
          break;
        case "forgotten":
          this.#quarantine.forget(e.id);
          this.#uppers.advanced(e.id); // rejects its waiters: the collection is gone
          this.#arities.delete(e.id);
          this.#statuses.delete(e.id);
          this.#statistics.delete(e.id);
          break;
        case "response":
          break;
      }
    }
    this.#metrics?.gauges(this.state);
  }

  #safely(f: () => void): void {
    try {
      f();
    } catch (err) {
      this.#log.warn({ err }, "a write-frontier listener threw; ignored");
    }
  }

  // --- objects --------------------------------------------------------------------------------

  async openShards(
    shards: readonly { readonly id: GlobalId; readonly shardId: string }[],
  ): Promise<ReadonlyMap<GlobalId, Frontier>> {
    this.#open("openShards");
    const out = new Map<GlobalId, Frontier>();
    for (const s of shards) {
      const since = await this.#o.sinceHandles.open(s.shardId);
      this.#opened.set(s.shardId, since);
      out.set(s.id, since);
    }
    return out;
  }

  #shardSince(op: string) {
    return (shardId: string): Frontier => {
      const since = this.#opened.get(shardId);
      if (since === undefined) {
        throw new InvalidStateRequest(
          op,
          `shard ${shardId} has no since handle; call openShards for it first`,
        );
      }
      return since;
    };
  }

  createIngestion(id: GlobalId, description: IngestionDescription): void {
    this.#open("createIngestion");
    const since = this.#shardSince("createIngestion");
    for (const e of description.sourceExports) since(e.shardId);
    this.state.createIngestion(id, description, this.#now(), since);
    if (this.state.placement(id).length === 0) this.#paused(id, NO_REPLICA_HINT);
    this.#flush();
  }

  /** storage-client's `paused` status of an ingestion no replica runs (with its hint). */
  #paused(id: GlobalId, hint: string): void {
    this.#statuses.set(id, {
      id,
      status: "paused",
      timestampMs: BigInt(Math.floor(this.#now())),
      hints: [hint],
      namespacedErrors: new Map(),
    });
  }

  createDataflow(
    desc: DataflowDescription,
    options: { readonly foreignHolds?: readonly ReadHold[] } = {},
  ): void {
    this.#open("createDataflow");
    const since = this.#shardSince(`createDataflow ${desc.debugName}`);
    for (const s of desc.sinkExports)
      if (s.connection.kind === "persist") since(s.connection.shardId);
    // Plans are checked before the state takes the dataflow (compute-client's rule).
    const arities = validateDataflowPlans(desc);
    const foreign = options.foreignHolds;
    this.state.createDataflow(
      desc,
      { ...(foreign === undefined ? {} : { foreignHolds: foreign }), shardSince: since },
      this.#now(),
    );
    for (const e of desc.indexExports) this.#arities.set(e.id, arities.get(e.objectId) ?? 0);
    this.#flush();
  }

  allowWrites(id: GlobalId): void {
    this.state.allowWrites(id);
    this.#flush();
  }

  allowCompaction(id: GlobalId, frontier: Frontier): void {
    this.state.allowCompaction(id, frontier);
    this.#flush();
  }

  drop(id: GlobalId): void {
    this.#quarantine.clearFailure(id); // the user drops it: no longer reported (compute-client's order)
    this.state.drop(id);
    this.#flush();
  }

  // --- reads ----------------------------------------------------------------------------------

  acquireReadHold(id: GlobalId, at: Frontier): ReadHold {
    const hold = this.state.acquireReadHold(id, at);
    this.#flush();
    const flush = () => this.#flush();
    return {
      collectionId: hold.collectionId,
      get frontier() {
        return hold.frontier;
      },
      downgrade(f) {
        hold.downgrade(f);
        flush();
      },
      release() {
        hold.release();
        flush();
      },
    };
  }

  peek(req: ClusterPeekRequest): Promise<ClusterPeekAnswer> {
    if (this.#closed) return Promise.reject(this.#closedError("peek"));
    const uuid = randomUUID();
    const startedAt = performance.now();
    let begun = false;
    const answer = this.#peeks.wait(uuid, req, () => {
      const arity = this.#arities.get(req.target) ?? this.state.logIndexes().get(req.target)?.arity;
      if (arity === undefined) {
        // The state says why (missing, not an index) with its typed errors.
        this.state.frontiers(req.target);
        throw new InvalidStateRequest(
          "peek",
          `${req.target} is not an index of cluster ${this.clusterId}; peek an index on it`,
        );
      }
      req.trace?.mark(PeekStageIndex.issued);
      this.state.beginPeek(buildPeek(uuid, req, arity));
      begun = true;
      this.#flush();
    });
    const trace = req.trace;
    const traced =
      trace === undefined
        ? answer
        : answer.then((a) => {
            trace.mark(PeekStageIndex.answered);
            return a;
          });
    const m = this.#metrics;
    if (m === undefined) return traced;
    // Counted as compute-client counts: begun peeks only, a timeout is a cancel.
    const seconds = () => (performance.now() - startedAt) / 1000;
    return traced.then(
      (a) => {
        m.peek("rows", seconds());
        return a;
      },
      (e: unknown) => {
        if (begun) m.peek(e instanceof PeekCanceled ? "canceled" : "error", seconds());
        throw e;
      },
    );
  }

  /**
   * A subscribe's merged batches (`cluster-subscribes.ts`); edge errors are thrown here. Ending
   * the iteration early (break, `return()`) drops it on the replicas; `foreignHolds` (imports of
   * another cluster) are held at its since and released with it.
   */
  subscribe(
    desc: DataflowDescription,
    options: {
      readonly targetReplica?: ReplicaId;
      readonly foreignHolds?: readonly ReadHold[];
    } = {},
  ): AsyncIterable<ClusterSubscribeBatch> {
    this.#open(`subscribe ${desc.debugName}`);
    validateDataflowPlans(desc);
    const stream = this.state.createSubscribe(desc, options);
    this.#flush();
    return flushingIterable(stream, () => this.#flush());
  }

  // --- observation ----------------------------------------------------------------------------

  logIndexes(): ReadonlyMap<GlobalId, ClusterLogIndex> {
    return this.state.logIndexes();
  }

  hasCollection(id: GlobalId): boolean {
    return this.state.isLive(id);
  }

  frontiers(id: GlobalId): CollectionFrontiers {
    return this.state.frontiers(id);
  }

  waitForUpper(
    id: GlobalId,
    target: Frontier,
    options: { readonly timeoutMs?: number } = {},
  ): Promise<void> {
    if (!this.state.isLive(id))
      return Promise.reject(new CollectionMissing(this.clusterId, id, "waitForUpper"));
    if (this.#closed) return Promise.reject(this.#closedError("waitForUpper"));
    return this.#uppers.wait(id, target, options.timeoutMs ?? 30_000);
  }

  onWriteFrontier(listener: (id: GlobalId) => void): () => void {
    const l = (id: GlobalId) => listener(id);
    this.#frontierListeners.add(l);
    return () => this.#frontierListeners.delete(l);
  }

  /** Dataflows quarantined (`driver-quarantine.ts`) with their reasons, until dropped. */
  failures(): ReadonlyMap<GlobalId, string> {
    return this.#quarantine.failures();
  }

  objectStatus(id: GlobalId) {
    if (!this.state.isLive(id)) throw new CollectionMissing(this.clusterId, id, "objectStatus");
    return {
      status: this.#statuses.get(id),
      statistics: this.#statistics.get(id) ?? new Map<ReplicaId, SourceStatistics>(),
    };
  }

  status(): ClusterControllerStatus {
    const s = this.state.sizes();
    return {
      clusterId: this.clusterId,
      path: this.path,
      collections: s.collections,
      historyCommands: s.history,
      pendingPeeks: s.peeks,
      replicas: this.state.health(),
    };
  }

  // --- maintenance ----------------------------------------------------------------------------

  /**
   * One maintenance step now: `state.tick`, then the since-handle I/O it asks for (awaited).
   * Steps never overlap: a call while one runs waits for it and returns.
   */
  maintain(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    this.#maintaining ??= this.#maintain().finally(() => {
      this.#maintaining = undefined;
    });
    return this.#maintaining;
  }

  async #maintain(): Promise<void> {
    const report = this.state.tick(this.#now());
    for (const r of report.staleReplicas)
      this.#log.warn({ replica_id: r }, "replica connected but silent; it may be stalled");
    const io = this.#o.sinceHandles;
    await Promise.all([
      ...report.downgrades.map(async (d) => {
        try {
          const since = await io.downgrade(d.shardId, d.since);
          this.state.sinceSettled(d.id, since, this.#now());
        } catch (err) {
          this.state.sinceFailed(d.id);
          this.#log.warn(
            { collection_id: d.id, shard: d.shardId, err },
            "since downgrade failed; retrying next tick",
          );
        }
      }),
      ...report.expiries.map(async (x) => {
        this.#opened.delete(x.shardId);
        try {
          await io.expire(x.shardId);
        } catch (err) {
          this.#log.warn(
            { collection_id: x.id, shard: x.shardId, err },
            "since handle expiry failed; persist expires its lease",
          );
        }
      }),
    ]);
    this.#flush();
  }

  // --- lifecycle ------------------------------------------------------------------------------

  async close(): Promise<void> {
    if (this.#closed) return;
    const maintaining = this.#maintaining;
    this.#closed = true;
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#peeks.closeAll();
    this.state.close();
    this.#metrics?.close();
    this.#uppers.closeAll(this.#closedError("waitForUpper"));
    const closing: Promise<void>[] = [];
    for (const entry of this.#replicas.values()) {
      entry.rehydration.cancel();
      if (entry.incarnation !== undefined) closing.push(entry.incarnation.close());
      entry.incarnation = undefined;
    }
    await Promise.all(closing);
    await maintaining;
  }

  #open(op: string): void {
    if (this.#closed) throw this.#closedError(op);
  }

  #closedError(op: string): InvalidStateRequest {
    return new InvalidStateRequest(op, `the controller of cluster ${this.clusterId} is closed`);
  }
}
