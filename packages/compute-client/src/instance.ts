/**
 * One compute instance (cluster) in the controller (materialize.md §4.2): the composition of its
 * command history, replicas (`replicas.ts`, behind the replica seam), collections with their
 * frontiers and read holds (`collections.ts`), pending peeks (`pending-peeks.ts`) and subscribes
 * (`subscribes.ts`). This file owns the history, the broadcast, the dataflow checks and the
 * routing of responses; each part owns its own state.
 *
 * ## Flow
 * 1. `new Instance` pushes `hello` (placeholder nonce), `createInstance` and
 *    `initializationComplete` into its `ComputeCommandHistory`.
 * 2. Every command goes through `#broadcast`: pushed into the history, then sent to every
 *    replica's current incarnation (an incarnation still connecting finds it in its replay).
 * 3. `addReplica` starts incarnation 1 through the instance's `connector` (per cluster: the
 *    composition root chooses it); a failed incarnation is rehydrated with epoch + 1, the
 *    per-replica frontiers reset, its targeted peeks failed. The other replicas are untouched.
 * 4. Responses carry the incarnation's epoch; other epochs are discarded (`replicas.ts`). The
 *    rest are routed here: frontiers to the collections, peek answers to the pending peeks,
 *    subscribe batches to the subscribes.
 * 5. Poison commands (`quarantine.ts`): what current incarnations are sent and answer, and their
 *    failures, feed a `PoisonQuarantine`; a command it quarantines is taken out of the history
 *    (its peek failed, its collection dropped) before the failed replica's next incarnation reads
 *    its replay, and the collection is reported failed (`failures()`) until the user drops it.
 */

import type { ReplicaConnectionTuning } from "@mzts/controller-unified/replicas";
import { validateDataflowPlans } from "@mzts/controller-unified/state";
import {
  type ComputeCommand,
  ComputeCommandHistory,
  type ComputeResponse,
  createHello,
  type DataflowDescription,
  helloRefusalOf,
  type LoggingConfig,
} from "@mzts/protocol";
import { Frontier, type GlobalId, type ReplicaId, type Timestamp } from "@mzts/repr";
import type { Logger } from "pino";
import type { Registry } from "prom-client";
import {
  type CollectionFrontiers,
  InstanceCollections,
  type ReplicaCollectionFrontier,
} from "./collections.js";
import {
  CollectionExists,
  CollectionMissing,
  ControllerError,
  LogImportUntargeted,
  SinceViolation,
} from "./errors.js";
import { type LogIndex, logIndexesOf } from "./log-indexes.js";
import { bindHistoryMetrics, type ControllerMetrics } from "./metrics.js";
import type { PeekAnswer, PeekRequest } from "./peek.js";
import { type ComparisonRecord, comparisonMetrics, type PathSplit } from "./peek-comparison.js";
import { InstancePeeks } from "./pending-peeks.js";
import { PoisonQuarantine, type Quarantined } from "./quarantine.js";
import {
  type ComputeReplicaConnector,
  InstanceReplicas,
  type ReplicaLocation,
  type ReplicaStatus,
} from "./replicas.js";
import type { SubscribeBatch } from "./subscribe.js";
import { InstanceSubscribes } from "./subscribes.js";

export interface InstanceOptions {
  readonly id: string;
  readonly generation: bigint;
  /** Signs every hello (`ComputeControllerOptions.replicaSecret`). */
  readonly replicaSecret?: Uint8Array;
  readonly logging: LoggingConfig;
  readonly logger: Logger;
  readonly registry: Registry;
  readonly metrics: ControllerMetrics;
  /** This instance's replica-connection implementation (chosen per cluster). */
  readonly connector: ComputeReplicaConnector;
  readonly compactionWindowMs: bigint;
  readonly tuning?: ReplicaConnectionTuning;
  /** Migration stages: the replica split of a migrating phase, read per peek (`controller.ts`). */
  readonly pathSplit?: () => PathSplit | undefined;
  /** Each finished comparison, after it is counted and logged. */
  readonly onComparison?: (record: ComparisonRecord) => void;
  /** Called when a collection is created / forgotten (the controller's id index). */
  onCollection(id: GlobalId, live: boolean): void;
  /** A collection's global write frontier advanced (the controller's `onWriteFrontier`). */
  onWriteFrontier?(id: GlobalId): void;
}

export class Instance {
  readonly id: string;
  readonly #opts: InstanceOptions;
  readonly #log: Logger;
  /** Every command sent, reduced; replayed to new incarnations. */
  readonly #history = new ComputeCommandHistory();
  readonly #detachHistoryMetrics: () => void;
  readonly #replicas: InstanceReplicas;
  readonly #collections: InstanceCollections;
  readonly #peeks: InstancePeeks;
  readonly #subscribes: InstanceSubscribes;
  /** Poison commands: strikes per unanswered command, quarantined collections. */
  readonly #quarantine = new PoisonQuarantine();
  /** Persist sink exports of live dataflows (the ids `allowWrites` accepts). */
  readonly #persistSinks = new Set<GlobalId>();
  /** The log indexes of the logging config (fixed for the instance's life; `log-indexes.ts`). */
  readonly #logIndexes: ReadonlyMap<GlobalId, LogIndex>;
  #closed = false;
  /** `{ instance_id }` of every gauge series of this instance. */
  readonly #labels: { readonly instance_id: string };
  /** Stops reading the peek count at scrapes (sets it one last time). */
  readonly #removePeekCount: () => void;

  /** @throws InvalidLoggingConfig (see `logIndexesOf`). */
  constructor(opts: InstanceOptions) {
    this.#logIndexes = logIndexesOf(opts.id, opts.logging);
    this.id = opts.id;
    this.#labels = { instance_id: opts.id };
    this.#opts = opts;
    this.#log = opts.logger.child({ instance_id: opts.id });
    this.#detachHistoryMetrics = this.#history.attachMetrics(
      bindHistoryMetrics(opts.registry, { instance_id: opts.id }),
    );
    const broadcast = (commands: readonly ComputeCommand[]) => this.#broadcast(commands);
    const onGaugesChanged = () => this.#gauges();
    const isClosed = () => this.#closed;
    const onCollection = (id: GlobalId, live: boolean) => {
      if (!live) this.#quarantine.forget(id);
      opts.onCollection(id, live);
    };
    this.#replicas = new InstanceReplicas({
      instanceId: opts.id,
      generation: opts.generation,
      ...(opts.replicaSecret === undefined ? {} : { replicaSecret: opts.replicaSecret }),
      log: this.#log,
      metrics: opts.metrics,
      connector: opts.connector,
      ...(opts.tuning !== undefined ? { tuning: opts.tuning } : {}),
      history: this.#history,
      isClosed,
      onSpawn: (replicaId) => {
        this.#collections.replicaSpawned(replicaId);
        this.#subscribes.replicaSpawned(replicaId);
      },
      onReplay: (replicaId) => this.#collections.replicaReplayed(replicaId),
      onResponses: (replicaId, responses, arrivedAt) => {
        // Counted per kind and message, not per response (issue 16: ~1,000 frontiers a second
        // at 1,000 idle indexes, ~2 µs of label hashing each); added even when a handler
        // throws, as each was before it.
        const tally = new Map<ComputeResponse["kind"], number>();
        try {
          for (const resp of responses) {
            tally.set(resp.kind, (tally.get(resp.kind) ?? 0) + 1);
            this.#quarantine.answered(resp);
            this.#handle(replicaId, resp, arrivedAt);
          }
        } finally {
          for (const [kind, n] of tally) this.#countResponse(replicaId, kind, n);
        }
      },
      onCommandSent: (replicaId, command) => {
        this.#quarantine.sent(replicaId, command);
        if (command.kind === "peek") this.#peeks.written(command.peek.uuid);
      },
      awaitsPeek: (replicaId, uuid) => {
        if (this.#peeks.awaits(uuid)) return true;
        // Dropped undecoded (issue 16); counted as if delivered. Quarantine and holds have
        // forgotten the peek already (settled).
        this.#countResponse(replicaId, "peekResponse");
        return false;
      },
      onDisconnected: (replicaId, error) => {
        this.#peeks.failTargeted(replicaId);
        if (helloRefusalOf(error) !== undefined) {
          // A refused hello (fenced, or not authenticated) is no command's fault: what the
          // incarnation was sent gets no strike.
          this.#quarantine.forgetReplica(replicaId);
          return;
        }
        const poison = this.#quarantine.failed(replicaId, error.message);
        if (poison !== undefined) this.#applyQuarantine(poison);
      },
      onGaugesChanged,
      // A targeted subscribe's commands; a targeted peek's cancel (`cancelTarget`).
      targetOf: (id) => this.#subscribes.targetOf(id) ?? this.#peeks.cancelTarget(id),
    });
    this.#collections = new InstanceCollections({
      log: this.#log,
      compactionWindowMs: opts.compactionWindowMs,
      replicaIds: () => this.#replicas.ids(),
      broadcast,
      onCollection,
      onWriteFrontier: (id) => opts.onWriteFrontier?.(id),
      onGaugesChanged,
    });
    this.#peeks = new InstancePeeks({
      instanceId: opts.id,
      metrics: opts.metrics,
      history: this.#history,
      collections: this.#collections,
      logIndex: (id) => this.#logIndexes.get(id),
      checkReplica: (replicaId) => this.#replicas.get(replicaId),
      broadcast,
      onSettled: (uuid) => this.#quarantine.forget(uuid),
      // The peek count is read when scraped (`#removePeekCount`): a peek sets no gauge.
      onGaugesChanged: () => {},
      comparison: () => {
        const split = opts.pathSplit?.();
        if (split === undefined) return undefined;
        return {
          ...split,
          slotOf: (r) => split.slotOf(r),
          connected: (slot) => this.#replicas.anyConnected((r) => split.slotOf(r) === slot),
        };
      },
      onComparison: (record) => this.#compared(record),
    });
    this.#subscribes = new InstanceSubscribes({
      isClosed,
      broadcast,
      replicaIds: () => this.#replicas.ids(),
      onCollection,
      onGaugesChanged,
    });
    this.#removePeekCount = opts.metrics.addScrapeSource(() =>
      opts.metrics.peekCount.set(this.#labels, this.#peeks.size),
    );
    this.#history.push({ kind: "hello", hello: createHello(opts.generation) });
    this.#history.push({ kind: "createInstance", config: { logging: opts.logging } });
    this.#history.push({ kind: "initializationComplete" });
    this.#gauges();
  }

  /** Counts and logs a finished peek comparison (migration stages). */
  #compared(record: ComparisonRecord): void {
    const m = comparisonMetrics(this.#opts.registry);
    const base = { instance_id: this.id, phase: record.phase };
    m.comparisons.inc({ ...base, result: record.result });
    for (const [path, ms] of Object.entries(record.latencyMs)) {
      m.pathLatency.observe({ ...base, path }, ms / 1000);
    }
    for (const path of record.errors) m.pathErrors.inc({ ...base, path });
    if (record.result === "inconsistent") {
      this.#log.warn(
        {
          uuid: record.uuid,
          phase: record.phase,
          served_by: record.servedBy,
          difference: record.difference,
        },
        `peek answers of the ${record.phase} phase's paths differ: ${record.difference}`,
      );
    } else if (record.result === "fallback") {
      this.#log.info(
        { uuid: record.uuid, phase: record.phase, served_by: record.servedBy },
        "peek served by the non-authoritative path: no authoritative answer in time",
      );
    }
    try {
      this.#opts.onComparison?.(record);
    } catch (e) {
      this.#log.error({ err: e }, "onComparison threw");
    }
  }

  /** The log indexes of the instance (empty when logging is off). */
  logIndexes(): ReadonlyMap<GlobalId, LogIndex> {
    return this.#logIndexes;
  }

  /** The history (read-only use: sizes, tests). */
  get history(): ComputeCommandHistory {
    return this.#history;
  }

  // --- replicas ---------------------------------------------------------------------------

  /**
   * Adds a replica and starts its first incarnation.
   * @throws InvalidId (from `@mzts/repr`) when `replicaId` is not `u<n>`/`s<n>`.
   * @throws ReplicaExists when it is already a replica of this instance.
   */
  addReplica(replicaId: ReplicaId, location: ReplicaLocation): void {
    this.#replicas.add(replicaId, location);
    this.#log.info({ replica_id: replicaId, url: location.computeUrl }, "replica added");
    this.#gauges();
  }

  /** @throws ReplicaMissing */
  updateReplicaLocation(replicaId: ReplicaId, location: ReplicaLocation): void {
    const r = this.#replicas.get(replicaId);
    r.location = location;
    // The replica (re)started there: a connecting incarnation tries now, not after its backoff.
    r.connection?.retryNow?.();
  }

  /** @throws ReplicaMissing */
  async dropReplica(replicaId: ReplicaId): Promise<void> {
    const r = this.#replicas.remove(replicaId);
    this.#quarantine.forgetReplica(replicaId);
    this.#peeks.failTargeted(replicaId);
    this.#collections.replicaDropped(replicaId);
    this.#subscribes.replicaDropped(replicaId);
    this.#gauges();
    this.#log.info({ replica_id: replicaId }, "replica dropped");
    await r.connection.close();
  }

  replicas(): ReplicaStatus[] {
    return this.#replicas.statuses();
  }

  /** Every replica's next incarnation goes through `connector` (`InstanceReplicas.reseat`). */
  async reseatReplicas(connector: ComputeReplicaConnector): Promise<void> {
    this.#log.info(
      { replicas: [...this.#replicas.ids()] },
      "reseating replicas on a new connector",
    );
    await this.#replicas.reseat(connector);
  }

  /** Per live collection: the replica's reported write frontier and the global one. */
  replicaFrontiers(replicaId: ReplicaId): Map<GlobalId, ReplicaCollectionFrontier> {
    this.#replicas.get(replicaId);
    return this.#collections.replicaFrontiers(replicaId);
  }

  // --- quarantine -------------------------------------------------------------------------

  /** Takes a poison command out of the history (see `quarantine.ts`) and fails its object. */
  #applyQuarantine(q: Quarantined): void {
    this.#log.error(
      { quarantined: q },
      `quarantining a command that made replicas fail: ${q.reason}`,
    );
    if (q.kind === "peek") {
      this.#peeks.fail(q.uuid, q.reason);
      return;
    }
    for (const id of q.ids) {
      this.#peeks.failReading(id, q.reason);
      if (this.#subscribes.fail(id, q.reason)) continue;
      if (this.#collections.find(id)?.dropped === false) this.dropCollection(id);
    }
  }

  /** Collections quarantined with their reasons (`quarantine.ts`). */
  failures(): ReadonlyMap<GlobalId, string> {
    return this.#quarantine.failures();
  }

  /** The user dropped `id`: a quarantine failure of it is no longer reported. */
  clearFailure(id: GlobalId): void {
    this.#quarantine.clearFailure(id);
  }

  // --- commands ---------------------------------------------------------------------------

  #broadcast(commands: readonly ComputeCommand[]): void {
    for (const c of commands) this.#history.push(c);
    this.#replicas.send(commands);
  }

  /**
   * Creates a dataflow and schedules its exports. Index exports become collections.
   * @throws CollectionExists when an export id is taken.
   * @throws CollectionMissing when an imported index is unknown.
   * @throws SinceViolation when the as-of is below an imported index's since.
   * @throws MalformedPlan (from `@mzts/expr`) when a plan is invalid.
   */
  createDataflow(desc: DataflowDescription): void {
    const asOf = this.#checkDataflow(desc);
    const arities = validateDataflowPlans(desc);
    for (const e of desc.indexExports) {
      const arity = arities.get(e.objectId);
      if (arity === undefined) throw new CollectionMissing(e.objectId);
    }
    this.#collections.create(
      [
        ...desc.indexExports.map((e) => ({ id: e.id, of: e.objectId, kind: "index" as const })),
        ...desc.sinkExports
          .filter((s) => s.connection.kind === "persist")
          .map((s) => ({ id: s.id, of: s.fromId, kind: "persistSink" as const })),
      ].map((e) => ({ id: e.id, kind: e.kind, arity: arities.get(e.of) ?? 0 })),
      asOf,
    );
    this.#broadcast([
      { kind: "createDataflow", dataflow: desc },
      ...desc.indexExports.map((e) => ({ kind: "schedule" as const, id: e.id })),
      ...desc.sinkExports.map((e) => ({ kind: "schedule" as const, id: e.id })),
    ]);
    for (const s of desc.sinkExports)
      if (s.connection.kind === "persist") this.#persistSinks.add(s.id);
    this.#gauges();
  }

  /**
   * Lets a persist sink write (replicas build sinks read-only until then). Kept in the command
   * history, so a rehydrated replica gets it too.
   * @throws CollectionMissing when `id` is not a persist sink of this instance.
   */
  allowWrites(id: GlobalId): void {
    if (!this.#persistSinks.has(id)) throw new CollectionMissing(id);
    this.#broadcast([{ kind: "allowWrites", id }]);
  }

  /** `targetReplica`: the replica a targeted subscribe is for (may import log indexes). */
  #checkDataflow(desc: DataflowDescription, targetReplica?: ReplicaId): Timestamp {
    if (desc.asOf === null) {
      throw new ControllerError(
        `dataflow ${desc.debugName} has an empty as-of; give it the time its results start at`,
      );
    }
    for (const id of [...desc.indexExports, ...desc.sinkExports].map((e) => e.id)) {
      if (this.#collections.has(id) || this.#subscribes.has(id) || this.#logIndexes.has(id))
        throw new CollectionExists(id);
    }
    for (const imp of desc.indexImports) {
      const log = this.#logIndexes.get(imp.id);
      if (log !== undefined) {
        if (targetReplica === undefined) throw new LogImportUntargeted(log.id, log.relation.name);
        if (imp.arity !== log.arity) {
          throw new ControllerError(
            `dataflow ${desc.debugName} imports log index ${imp.id} (${log.relation.name}) with ` +
              `arity ${imp.arity}; the relation has ${log.arity} columns`,
          );
        }
        continue;
      }
      const c = this.#collections.find(imp.id);
      if (c === undefined || c.dropped) throw new CollectionMissing(imp.id);
      if (!Frontier.lessEqual(c.since, desc.asOf)) {
        throw new SinceViolation(imp.id, desc.asOf, c.since);
      }
    }
    return desc.asOf;
  }

  /**
   * Raises the client's read-policy floor of `id` to `frontier` (never backward; the empty
   * frontier drops the collection).
   * @throws CollectionMissing when `id` is unknown or dropped.
   */
  allowCompaction(id: GlobalId, frontier: Frontier): void {
    this.#collections.live(id);
    if (frontier === null) this.dropCollection(id);
    else this.#collections.raiseFloor(id, frontier);
  }

  /**
   * Drops a collection (or a subscribe): releases the controller's hold; replicas are told once
   * no peek holds it anymore.
   * @throws CollectionMissing when `id` is unknown or already dropped.
   */
  dropCollection(id: GlobalId): void {
    if (this.#subscribes.fail(id, "the subscribe was dropped")) return;
    this.#collections.live(id);
    this.#persistSinks.delete(id);
    this.#collections.drop(id);
  }

  /** @throws CollectionMissing */
  frontiers(id: GlobalId): CollectionFrontiers {
    const sub = this.#subscribes.frontiers(id);
    if (sub !== undefined) return { ...sub, reported: true };
    return this.#collections.frontiers(id);
  }

  // --- responses --------------------------------------------------------------------------

  #countResponse(replicaId: ReplicaId, kind: ComputeResponse["kind"], n = 1): void {
    this.#opts.metrics.responsesTotal.inc(
      { instance_id: this.id, replica_id: replicaId, response_type: kind },
      n,
    );
  }

  #handle(replicaId: ReplicaId, resp: ComputeResponse, arrivedAt?: number): void {
    switch (resp.kind) {
      case "frontiers":
        this.#collections.absorbFrontiers(replicaId, resp);
        return;
      case "peekResponse":
        this.#peeks.absorb(replicaId, resp, arrivedAt);
        return;
      case "subscribeResponse":
        this.#subscribes.absorb(replicaId, resp.id, resp.response);
        return;
      case "commandError":
        this.#log.warn({ replica_id: replicaId, error: resp.error }, "replica refused a command");
        return;
      case "status":
        return;
    }
  }

  // --- peeks and subscribes ---------------------------------------------------------------

  /**
   * Reads `req.target` (an index or a log index) at `req.timestamp`; the first answer wins.
   * @throws CollectionMissing, ReplicaMissing, SinceViolation, LogPeekUntargeted synchronously
   * (as a rejection). Rejects with `PeekFailed`, `PeekTimeout`, `PeekCanceled`.
   */
  peek(req: PeekRequest): Promise<PeekAnswer> {
    return this.#peeks.peek(req);
  }

  /**
   * Creates a subscribe dataflow (exactly one subscribe sink) and returns its merged batches.
   * With `targetReplica` (replica-targeted, `targeted.ts`) only that replica builds it — also in
   * its replays after a reconnect, never another replica — it may import the instance's log
   * indexes (that replica's log), and it ends with `SubscribeFailed` when the replica is dropped.
   * A log index has no controller since: choose an as-of the replica still holds (its last
   * `LOG_RETENTION_MS`), or the replica refuses the dataflow.
   * @throws ControllerError when `desc` does not export exactly one subscribe sink.
   * @throws CollectionExists, CollectionMissing, SinceViolation, MalformedPlan as `createDataflow`.
   * @throws LogImportUntargeted when it imports a log index without `targetReplica`.
   * @throws ReplicaMissing when `targetReplica` is not a replica of the instance.
   */
  subscribe(
    desc: DataflowDescription,
    options: { readonly targetReplica?: ReplicaId } = {},
  ): AsyncIterable<SubscribeBatch> {
    const target = options.targetReplica;
    const sinks = desc.sinkExports.filter((s) => s.connection.kind === "subscribe");
    const sink = sinks[0];
    if (sinks.length !== 1 || sink === undefined || desc.indexExports.length > 0) {
      throw new ControllerError(
        `dataflow ${desc.debugName} must export exactly one subscribe sink and no index to be ` +
          "subscribed; use createDataflow for indexes and persist sinks",
      );
    }
    if (target !== undefined) this.#replicas.get(target);
    const asOf = this.#checkDataflow(desc, target);
    validateDataflowPlans(desc);
    const stream = this.#subscribes.open(sink.id, asOf, target);
    this.#broadcast([
      { kind: "createDataflow", dataflow: desc },
      { kind: "schedule", id: sink.id },
    ]);
    this.#gauges();
    return stream;
  }

  // --- lifecycle --------------------------------------------------------------------------

  #gauges(): void {
    const m = this.#opts.metrics;
    const l = this.#labels;
    m.replicaCount.set(l, this.#replicas.size);
    m.connectedReplicaCount.set(l, this.#replicas.connectedCount);
    m.subscribeCount.set(l, this.#subscribes.size);
    m.collectionCount.set(l, this.#collections.size);
  }

  /** Cancels pending peeks and subscribes and stops every replica task. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#peeks.cancelAll("the compute controller was closed");
    this.#closed = true;
    this.#subscribes.failAll("the compute controller was closed");
    await this.#replicas.close();
    this.#gauges();
    this.#removePeekCount();
    this.#detachHistoryMetrics();
  }
}
