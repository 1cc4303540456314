/**
 * `ClusterState`: the one controller state of a cluster (design.md §9 phase 5) — the compute and
 * storage objects in one collection table (`collection-table.ts`), one read-hold mechanism
 * (`read-holds.ts`) that also feeds the persist since handles (`since-handles.ts`), one command
 * history with one reduction (`cluster-history.ts`), one health record per replica
 * (`replica-health.ts`) and one maintenance tick (`maintenance.ts`). It replaces, per cluster,
 * compute-client's `Instance` state and storage-client's instance state with environmentd's
 * `ImportHolds`/`PersistReadHolds` upkeep.
 *
 * A synchronous core without I/O: the driver (`unified-cluster-controller.ts`) feeds it calls
 * and responses, sends `takeOutbox()`, surfaces `takeEvents()`, does the since-handle I/O.
 *
 * ## Flow
 * 1. `new ClusterState` pushes the preamble (`clusterPreamble`) into the history.
 * 2. DDL (`createIngestion`, `createDataflow`, `allowWrites`, `allowCompaction`, `drop`) checks
 *    its input, updates the table and holds, and pushes its commands into the history and the
 *    outbox. A dataflow holds each local import (`dependant:<dataflow>`) at its as-of, then at
 *    its own since; a foreign import (another cluster's) comes with a `ReadHold` the state keeps.
 * 3. Replicas: `addReplica` (epoch 1), `spawn` (the next epoch, after a failure), `replay` (the
 *    reduced history, read when the incarnation's stream opens), `connected`, `failed`,
 *    `dropReplica`. The per-workload replica rules (`replica-rules.ts`) apply at each.
 * 4. `absorb(replicaId, epoch, response)`: responses of another epoch are dropped; frontiers
 *    update the per-replica and global write frontiers, which move the policy holds; peek answers
 *    settle the first pending peek; drop acknowledgements forget rows.
 * 5. Whenever a collection's holds change, its since is re-derived at once: a compute
 *    collection's advance is sent as `allowCompaction` (empty = the drop), and every dataflow's
 *    holds on its imports follow its since (so the imports' sinces advance too).
 * 6. `tick(nowMs)`: since-handle downgrades and expiries, stale replicas.
 *
 * ## Split out, one concept each
 * Peeks (`cluster-peeks.ts`), subscribes (`cluster-subscribes.ts`, the shared merge and since
 * rule), a dataflow's import checks (`dataflow-imports.ts`), ingestion placement
 * (`cluster-placement.ts`, the shared rule), log indexes (`log-indexes.ts`: peeked on one
 * replica, imported only by targeted subscribes).
 */
import {
  type ClusterCommand,
  type ClusterResponse,
  type ComputeCommand,
  type ComputeResponse,
  type DataflowDescription,
  type HelloRefusal,
  type IngestionDescription,
  ingestionCollectionIds,
  type Peek,
  type StorageCommand,
  type StorageResponse,
} from "@mzts/protocol";
import { Frontier, type GlobalId, type ReplicaId, ReplicaId as ReplicaIds } from "@mzts/repr";
import {
  ClusterCommandHistory,
  type ClusterHistoryMetrics,
  clusterPreamble,
  PROTOCOL_RULES,
} from "./cluster-history.js";
import { ClusterPeeks } from "./cluster-peeks.js";
import { ClusterPlacement } from "./cluster-placement.js";
import { ClusterSubscribes } from "./cluster-subscribes.js";
import { type Collection, type CollectionFrontiers, CollectionTable } from "./collection-table.js";
import { checkImports, holdImports, type ImportContext } from "./dataflow-imports.js";
import {
  CollectionExists,
  CollectionMissing,
  DependantsExist,
  InvalidLoggingConfig,
  InvalidStateRequest,
  ReplicaExists,
  ReplicaMissing,
  SinceViolation,
} from "./errors.js";
import { type LogIndex, logIndexesOf } from "./log-indexes.js";
import {
  DEFAULT_MAINTENANCE,
  type MaintenanceReport,
  type MaintenanceTuning,
  maintenanceStep,
} from "./maintenance.js";
import { Holder, heldAt, type ReadHold } from "./read-holds.js";
import { type ReplicaHealthRecord, ReplicaHealthTable } from "./replica-health.js";
import { REPLICA_RULES } from "./replica-rules.js";
import { SinceHandles, shardRow } from "./since-handles.js";
import { SincePropagation } from "./since-propagation.js";
import type {
  ClusterStateEvent,
  ClusterStateOptions,
  ClusterStateSizes,
  CreateDataflowOptions,
  OutgoingCommand,
} from "./state-io.js";
import type { SubscribeStream } from "./subscribe-stream.js";
import { commandTarget } from "./targeted-commands.js";

/** The one controller state of a cluster (see the file comment). */
export class ClusterState {
  readonly clusterId: string;
  readonly #window: bigint;
  readonly #tuning: MaintenanceTuning;
  readonly #table: CollectionTable;
  readonly #history: ClusterCommandHistory;
  readonly #health = new ReplicaHealthTable();
  readonly #handles = new SinceHandles();
  /** How hold changes propagate: sinces, `allowCompaction`, imports' holds, forgetting. */
  readonly #propagation: SincePropagation;
  /** Live ingestions → their collection ids (own id first). */
  readonly #ingestions = new Map<GlobalId, GlobalId[]>();
  /** Persist sink exports of live dataflows (what `allowWrites` accepts). */
  readonly #persistSinks = new Set<GlobalId>();
  readonly #peeks: ClusterPeeks;
  readonly #subscribes: ClusterSubscribes;
  readonly #placement: ClusterPlacement;
  readonly #importContext: ImportContext;
  #closed = false;
  /** The log indexes of the logging config (fixed for the state's life; `log-indexes.ts`). */
  readonly #logIndexes: ReadonlyMap<GlobalId, LogIndex>;
  #outbox: OutgoingCommand[] = [];
  #events: ClusterStateEvent[] = [];
  #externalHolds = 0;

  /** @throws InvalidLoggingConfig (see `logIndexesOf`). */
  constructor(opts: ClusterStateOptions) {
    this.clusterId = opts.clusterId;
    this.#logIndexes = logIndexesOf(
      opts.logging,
      (reason) => new InvalidLoggingConfig(opts.clusterId, reason),
    );
    this.#window = opts.compactionWindowMs ?? 1000n;
    this.#tuning = { ...DEFAULT_MAINTENANCE, ...opts.maintenance };
    this.#table = new CollectionTable(opts.clusterId);
    this.#history = new ClusterCommandHistory(opts.rules ?? PROTOCOL_RULES);
    this.#propagation = new SincePropagation({
      table: this.#table,
      windowMs: this.#window,
      replicas: () => this.#health.ids(),
      allowCompaction: (id, since) =>
        this.#compute({ kind: "allowCompaction", id, frontier: since }),
      forgotten: (id) => this.#events.push({ kind: "forgotten", id }),
    });
    this.#peeks = new ClusterPeeks({
      table: this.#table,
      history: this.#history,
      propagation: this.#propagation,
      compute: (command, replicaId) => this.#compute(command, replicaId),
      checkReplica: (replicaId) => this.#replicaEpoch(replicaId),
      logIndex: (id) => this.#logIndexes.get(id),
      event: (e) => this.#events.push(e),
    });
    this.#placement = new ClusterPlacement(opts.clusterId, opts.placement);
    this.#importContext = {
      clusterId: opts.clusterId,
      table: this.#table,
      logIndex: (id) => this.#logIndexes.get(id),
      taken: (id) => this.#subscribes.has(id),
    };
    this.#subscribes = new ClusterSubscribes({
      imports: this.#importContext,
      propagation: this.#propagation,
      compute: (command, replicaId) => this.#compute(command, replicaId),
      checkReplica: (replicaId) => this.#replicaEpoch(replicaId),
      replicaIds: () => this.#health.ids(),
      isClosed: () => this.#closed,
      ended: (id) => this.#events.push({ kind: "forgotten", id }),
    });
    for (const c of clusterPreamble(opts)) this.#history.push(c);
  }

  // --- outbox and events ---------------------------------------------------------------------

  /** The commands to send since the last call, in order. */
  takeOutbox(): OutgoingCommand[] {
    const out = this.#outbox;
    this.#outbox = [];
    return out;
  }

  /** The events since the last call, in order. */
  takeEvents(): ClusterStateEvent[] {
    const out = this.#events;
    this.#events = [];
    return out;
  }

  #compute(command: ComputeCommand, replicaId?: ReplicaId): void {
    const c: ClusterCommand = { kind: "compute", command };
    this.#history.push(c);
    this.#outbox.push(replicaId === undefined ? { command: c } : { command: c, replicaId });
  }

  /** A storage command: into the history, to the replicas its object is placed on. */
  #storage(command: StorageCommand): void {
    const c = { kind: "storage", command } as const;
    this.#history.push(c);
    this.#outbox.push(...this.#placement.route(c));
  }

  // --- replicas ------------------------------------------------------------------------------

  /**
   * Adds a replica and starts its first incarnation (epoch 1, returned).
   * @throws InvalidId (from `@mzts/repr`) when `replicaId` is not `u<n>`/`s<n>`.
   * @throws ReplicaExists
   */
  addReplica(replicaId: ReplicaId): number {
    ReplicaIds.parse(replicaId);
    if (this.#health.has(replicaId)) throw new ReplicaExists(this.clusterId, replicaId);
    this.#health.add(replicaId);
    this.#placement.replicaAdded(replicaId);
    return this.spawn(replicaId);
  }

  /** Starts the replica's next incarnation; returns its epoch. @throws ReplicaMissing */
  spawn(replicaId: ReplicaId): number {
    const epoch = this.#replicaEpoch(replicaId) + 1;
    this.#health.spawned(replicaId, epoch);
    for (const c of this.#table.values()) REPLICA_RULES[c.workload].spawned(c, replicaId);
    this.#subscribes.replicaSpawned(replicaId);
    return epoch;
  }

  /**
   * The replay of the replica's current incarnation: the reduced history, without the commands
   * targeted at other replicas (peeks, targeted subscribes: `commandTarget`). Call it when the
   * incarnation's stream opens. @throws ReplicaMissing
   */
  replay(replicaId: ReplicaId): readonly ClusterCommand[] {
    this.#replicaEpoch(replicaId);
    const targetOf = (id: GlobalId) => this.#subscribes.targetOf(id);
    const commands = this.#history.commands().filter((c) => {
      if (c.kind === "storage") return this.#placement.replays(replicaId, c.command);
      const target = commandTarget(c.command, targetOf);
      return target === undefined || target === replicaId;
    });
    for (const c of [...this.#table.values()]) {
      REPLICA_RULES[c.workload].replayed(c, replicaId);
      this.#propagation.maybeForget(c);
    }
    return commands;
  }

  /** The incarnation connected. Returns false for another epoch. */
  connected(replicaId: ReplicaId, epoch: number, nowMs: number): boolean {
    return this.#health.connected(replicaId, epoch, nowMs);
  }

  /**
   * The incarnation failed: its frontiers are void (per-workload rules) and the peeks targeted at
   * it are settled (`peekSettled` without a response). Returns false for another epoch or a
   * second failure.
   */
  failed(replicaId: ReplicaId, epoch: number, message: string, refusal?: HelloRefusal): boolean {
    if (!this.#health.failed(replicaId, epoch, message, refusal)) return false;
    this.#peeks.settleTargeted(replicaId);
    for (const c of [...this.#table.values()]) {
      REPLICA_RULES[c.workload].failed(c, replicaId);
      this.#propagation.maybeForget(c);
    }
    return true;
  }

  /** Removes a replica: its peeks, frontiers, holds and health record go. @throws ReplicaMissing */
  dropReplica(replicaId: ReplicaId): void {
    this.#replicaEpoch(replicaId);
    this.#health.remove(replicaId);
    this.#outbox.push(...this.#placement.replicaRemoved(replicaId, () => this.#history.commands()));
    this.#peeks.settleTargeted(replicaId);
    this.#subscribes.replicaDropped(replicaId);
    for (const c of [...this.#table.values()]) {
      REPLICA_RULES[c.workload].removed(c, replicaId);
      this.#propagation.settle(c);
    }
  }

  /**
   * The live compute exports' write frontiers as `replicaId`'s current incarnation reported them
   * (an export it has not reported on yet is absent). @throws ReplicaMissing
   */
  replicaFrontiers(replicaId: ReplicaId): Map<GlobalId, Frontier> {
    this.#replicaEpoch(replicaId);
    return this.#table.replicaWrites(replicaId);
  }

  /**
   * The live compute exports (indexes, persist sinks), whether or not a replica reported on them
   * (a hydration check needs the ones a replica has not reported on yet: `replicaFrontiers`
   * leaves them out).
   */
  computeExports(): GlobalId[] {
    return this.#table.liveComputeIds();
  }

  /** The log indexes of the logging config (empty when logging is off). */
  logIndexes(): ReadonlyMap<GlobalId, LogIndex> {
    return this.#logIndexes;
  }

  /** One record per replica, in the order they were added. */
  health(): ReplicaHealthRecord[] {
    return this.#health.records();
  }

  #replicaEpoch(replicaId: ReplicaId): number {
    const epoch = this.#health.epoch(replicaId);
    if (epoch === undefined) throw new ReplicaMissing(this.clusterId, replicaId);
    return epoch;
  }

  // --- storage objects -----------------------------------------------------------------------

  /**
   * Creates an ingestion (its own collection and one per source export), or alters a live one
   * (new exports are added; the new definition replaces the old in the history).
   * @param shardSince the durable since of an export's shard (its since handle; default minimum).
   * @throws CollectionExists when an id belongs to another object or is still being dropped.
   */
  createIngestion(
    id: GlobalId,
    description: IngestionDescription,
    nowMs = 0,
    shardSince: (shardId: string) => Frontier = () => Frontier.MIN,
  ): void {
    const ids = ingestionCollectionIds(id, description);
    const existing = this.#ingestions.get(id);
    for (const cid of ids) {
      const row = this.#table.find(cid);
      if (row !== undefined && (row.dropped || !(existing?.includes(cid) ?? false))) {
        throw new CollectionExists(this.clusterId, cid);
      }
    }
    const shards = new Map(description.sourceExports.map((e) => [e.id, e.shardId]));
    for (const cid of ids) {
      if (this.#table.has(cid)) continue;
      const shardId = shards.get(cid);
      const since = shardId === undefined ? Frontier.MIN : shardSince(shardId);
      const c = this.#table.insert({
        id: cid,
        kind: cid === id ? "ingestion" : "sourceExport",
        objectId: id,
        ...(shardId === undefined ? {} : { shardId }),
        since,
      });
      if (since !== null) c.holds.set(Holder.POLICY, since);
      if (shardId !== undefined) this.#handles.register(cid, shardId, since, nowMs);
    }
    this.#ingestions.set(id, ids);
    this.#placement.ingestion(id, description);
    this.#storage({ kind: "runIngestion", id, description });
  }

  // --- compute objects -----------------------------------------------------------------------

  /**
   * Creates a dataflow: its index exports and persist sinks become collections at its as-of,
   * each local import is held at the as-of by the dataflow.
   * @throws InvalidStateRequest (empty as-of, a subscribe sink, no export, a foreign import
   *   without a hold).
   * @throws CollectionExists, CollectionMissing (a local import dropped), SinceViolation.
   */
  createDataflow(desc: DataflowDescription, options: CreateDataflowOptions = {}, nowMs = 0): void {
    const op = `createDataflow ${desc.debugName}`;
    if (desc.sinkExports.some((s) => s.connection.kind !== "persist")) {
      throw new InvalidStateRequest(
        op,
        "subscribe sinks are opened with createSubscribe (the controller's subscribe), not here",
      );
    }
    const exportIds = [...desc.indexExports.map((e) => e.id), ...desc.sinkExports.map((s) => s.id)];
    const key = exportIds[0];
    if (key === undefined)
      throw new InvalidStateRequest(op, "a dataflow must export an index or a persist sink");
    const foreign = options.foreignHolds ?? [];
    const { asOf, local: imports } = checkImports(this.#importContext, desc, {
      op,
      exportIds,
      foreignHolds: foreign,
    });
    holdImports(this.#table, key, imports, asOf, op);
    this.#propagation.addDataflow(key, { exports: exportIds, imports, foreign });
    const sinks = new Map(desc.sinkExports.map((s) => [s.id, s.connection]));
    for (const id of exportIds) {
      const sink = sinks.get(id);
      const shardId = sink?.kind === "persist" ? sink.shardId : undefined;
      const c = this.#table.insert({
        id,
        kind: shardId === undefined ? "index" : "materializedView",
        objectId: key,
        ...(shardId === undefined ? {} : { shardId }),
        since: asOf,
        dependencies: imports,
      });
      c.holds.set(Holder.POLICY, asOf);
      REPLICA_RULES.compute.created(c, this.#health.ids());
      if (shardId !== undefined) {
        this.#persistSinks.add(id);
        this.#handles.register(id, shardId, options.shardSince?.(shardId) ?? asOf, nowMs);
      }
    }
    this.#compute({ kind: "createDataflow", dataflow: desc });
    for (const e of desc.indexExports) this.#compute({ kind: "schedule", id: e.id });
    for (const s of desc.sinkExports) this.#compute({ kind: "schedule", id: s.id });
  }

  /** Lets a persist sink write (kept in the history). @throws CollectionMissing */
  allowWrites(id: GlobalId): void {
    if (!this.#persistSinks.has(id)) throw new CollectionMissing(this.clusterId, id, "allowWrites");
    this.#compute({ kind: "allowWrites", id });
  }

  // --- compaction and drops ------------------------------------------------------------------

  /**
   * Raises a collection's read-policy floor to `frontier` (never back); the empty frontier drops
   * it (`drop`). @throws CollectionMissing, DependantsExist (a drop)
   */
  allowCompaction(id: GlobalId, frontier: Frontier): void {
    const c = this.#table.live(id, "allowCompaction");
    if (frontier === null) {
      this.drop(id);
      return;
    }
    c.floor = Frontier.join(c.floor, frontier);
    this.#propagation.updatePolicy(c);
  }

  /**
   * Drops a collection — for an ingestion's own id, the ingestion with all its exports. Its
   * holds go; the replicas are told (compute: once no peek holds it); the row is forgotten when
   * every replica acknowledged.
   * @throws CollectionMissing, DependantsExist (a live dataflow of this cluster reads it)
   */
  drop(id: GlobalId): void {
    if (this.#subscribes.fail(id, "the subscribe was dropped")) return;
    const c = this.#table.live(id, "drop");
    const ids = c.kind === "ingestion" ? (this.#ingestions.get(id) ?? [id]) : [id];
    const readers = ids.flatMap((cid) => [...(this.#table.find(cid)?.dependants ?? [])]);
    if (readers.length > 0) throw new DependantsExist(id, readers);
    if (c.workload === "storage") {
      this.#storage({ kind: "allowCompaction", id, frontier: null });
      if (c.kind === "ingestion") {
        this.#ingestions.delete(id);
        this.#placement.removed(id);
      }
      for (const cid of ids) {
        const row = this.#table.find(cid);
        if (row === undefined || row.dropped) continue;
        row.dropped = true;
        REPLICA_RULES.storage.dropped(row);
        this.#propagation.settle(row);
      }
      return;
    }
    this.#persistSinks.delete(id);
    c.dropped = true;
    REPLICA_RULES.compute.dropped(c);
    const df = this.#propagation.dataflow(c.objectId);
    if (df?.exports.every((e) => this.#table.find(e)?.dropped !== false)) {
      // No live reader any more (drops of its imports are allowed), but the dataflow keeps
      // holding them until its own drop is sent (`SincePropagation`): a replay rebuilds it until then.
      for (const imp of df.imports) this.#table.find(imp)?.dependants.delete(c.objectId);
    }
    this.#propagation.settle(c);
  }

  // --- reads ---------------------------------------------------------------------------------

  /**
   * Holds `id` at `at` until released (one hold among the collection's others).
   * @throws CollectionMissing, SinceViolation
   */
  acquireReadHold(id: GlobalId, at: Frontier): ReadHold {
    const c = this.#table.live(id, "acquireReadHold");
    if (!Frontier.lessEqual(c.since, at)) throw new SinceViolation(id, at, c.since);
    const holder = Holder.external(++this.#externalHolds);
    return heldAt(id, c.holds, holder, at, () => this.#propagation.settle(c));
  }

  /**
   * Opens a subscribe (`cluster-subscribes.ts`): its merged stream. Ending the stream (its
   * consumer breaks out, `drop(id)`, the target replica dropped, an error batch) sends the drop.
   * @throws InvalidStateRequest, CollectionExists, CollectionMissing, SinceViolation,
   *   LogImportUntargeted, ReplicaMissing
   */
  createSubscribe(
    desc: DataflowDescription,
    options: {
      readonly targetReplica?: ReplicaId;
      readonly foreignHolds?: readonly ReadHold[];
    } = {},
  ): SubscribeStream {
    return this.#subscribes.open(desc, options.targetReplica, options.foreignHolds);
  }

  /** Ends subscribe `id` with `SubscribeFailed(reason)`; false when it is not live. */
  failSubscribe(id: GlobalId, reason: string): boolean {
    return this.#subscribes.fail(id, reason);
  }

  /** The replicas running the object of storage collection `id` (`cluster-placement.ts`). */
  placement(id: GlobalId): readonly ReplicaId[] {
    return this.#placement.replicasFor(id);
  }

  /** The ingestions no replica runs now (all of them with zero replicas). */
  pausedIngestions(): GlobalId[] {
    return this.#placement.paused();
  }

  /** Ends every subscribe without sending drops (the driver closes). */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#subscribes.failAll("the cluster controller closed");
  }

  /** Starts a peek of an index (`cluster-peeks.ts`). */
  beginPeek(peek: Peek): void {
    this.#peeks.begin(peek);
  }

  /** Settles a pending peek without an answer (timeout, abort). Returns whether it was pending. */
  finishPeek(uuid: string): boolean {
    return this.#peeks.finish(uuid);
  }

  /** Whether `absorb` would settle peek `uuid` with an answer of `replicaId`'s incarnation `epoch`. */
  awaitsPeek(replicaId: ReplicaId, epoch: number, uuid: string): boolean {
    return this.#absorbs(replicaId, epoch) && this.#peeks.awaits(replicaId, uuid);
  }

  /** Pending peeks. */
  get peekCount(): number {
    return this.#peeks.size;
  }

  /** The uuids of the pending peeks reading `id`. */
  peeksReading(id: GlobalId): string[] {
    return this.#peeks.reading(id);
  }

  // --- responses -----------------------------------------------------------------------------

  /** A response of `replicaId`'s incarnation `epoch`; other epochs (and failed ones) are dropped. */
  absorb(replicaId: ReplicaId, epoch: number, response: ClusterResponse, nowMs = 0): void {
    if (!this.#absorbs(replicaId, epoch)) return;
    this.#health.heard(replicaId, epoch, nowMs);
    if (response.kind === "compute") this.#absorbCompute(replicaId, response.response, response);
    else this.#absorbStorage(replicaId, response.response, response);
  }

  /** Whether responses of `replicaId`'s incarnation `epoch` are absorbed (current, not failed). */
  #absorbs(replicaId: ReplicaId, epoch: number): boolean {
    const h = this.#health;
    return h.current(replicaId, epoch) && h.get(replicaId)?.state !== "failed";
  }

  #absorbCompute(replicaId: ReplicaId, r: ComputeResponse, whole: ClusterResponse): void {
    switch (r.kind) {
      case "frontiers": {
        const c = this.#table.find(r.id);
        if (c === undefined || c.workload !== "compute") return;
        const held = c.holds.get(Holder.replica(replicaId));
        const input = r.frontiers.input;
        if (held !== undefined && input !== undefined && Frontier.lessThan(held, input)) {
          c.holds.release(Holder.replica(replicaId));
          this.#propagation.settle(c);
        }
        if (r.frontiers.write === undefined || !this.#table.has(c.id)) return;
        this.#absorbWrite(c, replicaId, r.frontiers.write);
        return;
      }
      case "peekResponse":
        this.#peeks.answered(replicaId, r.uuid, r.response);
        return;
      case "subscribeResponse":
        this.#subscribes.absorb(replicaId, r.id, r.response);
        return;
      default:
        this.#events.push({ kind: "response", replicaId, response: whole });
    }
  }

  #absorbStorage(replicaId: ReplicaId, r: StorageResponse, whole: ClusterResponse): void {
    switch (r.kind) {
      case "frontierUpper": {
        const c = this.#table.find(r.id);
        if (c === undefined || c.workload !== "storage") return;
        if (c.dropped && !REPLICA_RULES.storage.lateWrite(c, replicaId)) return;
        this.#absorbWrite(c, replicaId, r.upper);
        return;
      }
      case "droppedId": {
        const c = this.#table.find(r.id);
        if (c === undefined || c.owed === undefined) return;
        c.delivered.add(replicaId);
        c.owed.delete(replicaId);
        this.#propagation.maybeForget(c);
        return;
      }
      default:
        this.#events.push({ kind: "response", replicaId, response: whole });
    }
  }

  #absorbWrite(c: Collection, replicaId: ReplicaId, write: Frontier): void {
    if (this.#table.absorbWrite(c, replicaId, write)) {
      this.#events.push({ kind: "writeFrontier", id: c.id, frontier: c.write });
      this.#propagation.updatePolicy(c);
    } else {
      this.#propagation.maybeForget(c);
    }
  }

  // --- queries -------------------------------------------------------------------------------

  /** Whether `id` is a collection (live, or dropped and not yet forgotten). */
  has(id: GlobalId): boolean {
    return this.#table.has(id);
  }

  /** Whether `id` is a live collection or a live subscribe. */
  isLive(id: GlobalId): boolean {
    return this.#table.find(id)?.dropped === false || this.#subscribes.has(id);
  }

  /**
   * A collection's or a live subscribe's frontiers.
   * @throws CollectionMissing when unknown or forgotten (dropped ones answer until then).
   */
  frontiers(id: GlobalId): CollectionFrontiers {
    return this.#subscribes.frontiers(id) ?? this.#table.frontiers(id);
  }

  /** The holds of a collection: holder → frontier. @throws CollectionMissing */
  holds(id: GlobalId): ReadonlyMap<string, Frontier> {
    return this.#table.known(id, "holds").holds.snapshot();
  }

  /** Every collection id the table holds (live and dropped-not-forgotten). */
  collectionIds(): GlobalId[] {
    return this.#table.ids();
  }

  /** The kind and workload of a collection. @throws CollectionMissing */
  describe(
    id: GlobalId,
  ): Pick<Collection, "kind" | "workload" | "objectId" | "shardId" | "dropped"> {
    const c = this.#table.known(id, "describe");
    return {
      kind: c.kind,
      workload: c.workload,
      objectId: c.objectId,
      shardId: c.shardId,
      dropped: c.dropped,
    };
  }

  /** The durable since of a shard-backed collection's handle, as last settled. */
  durableSince(id: GlobalId): Frontier | undefined {
    return this.#handles.durableSince(id);
  }

  /** Sizes for status and metrics. */
  sizes(): ClusterStateSizes {
    return {
      collections: this.#table.size,
      computeCollections: this.#table.computeSize,
      subscribes: this.#subscribes.size,
      history: this.#history.size,
      peeks: this.#peeks.size,
      replicas: this.#health.size,
      sinceHandles: this.#handles.size,
    };
  }

  /** Mirrors the history's per-kind counts (`ClusterCommandHistory.attachMetrics`). */
  attachHistoryMetrics(sink: ClusterHistoryMetrics): () => void {
    return this.#history.attachMetrics(sink);
  }

  /** The reduced history (what a replica with no targeted peeks is replayed). */
  history(): readonly ClusterCommand[] {
    return this.#history.commands();
  }

  // --- maintenance ---------------------------------------------------------------------------

  /** One maintenance step (`maintenance.ts`): what the driver must do now. */
  tick(nowMs: number): MaintenanceReport {
    return maintenanceStep(
      { handles: this.#handles, health: this.#health, rows: (id) => shardRow(this.#table, id) },
      nowMs,
      this.#tuning,
    );
  }

  /** A since-handle downgrade of the tick succeeded. */
  sinceSettled(id: GlobalId, since: Frontier, nowMs: number): void {
    this.#handles.settled(id, since, nowMs);
  }

  /** A since-handle downgrade of the tick failed (the next tick retries). */
  sinceFailed(id: GlobalId): void {
    this.#handles.failed(id);
  }
}
