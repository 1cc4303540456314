/**
 * One compute instance (cluster) in the controller (materialize.md §4.2): its command history,
 * replicas, collections (frontiers and read holds), pending peeks and subscribes.
 *
 * ## Flow
 * 1. `new Instance` pushes `hello` (placeholder nonce), `createInstance` and
 *    `initializationComplete` into its `ComputeCommandHistory`.
 * 2. Every command goes through `#broadcast`: pushed into the history, then sent to every
 *    replica's current incarnation (queued there while it connects).
 * 3. `addReplica` starts incarnation 1 with the reduced history as replay; a failed incarnation is
 *    rehydrated at once: epoch + 1, the per-replica frontiers reset, its targeted peeks failed,
 *    a new incarnation with the then-current reduced history. The other replicas are untouched.
 * 4. Responses carry the incarnation's epoch; other epochs are discarded.
 *
 * ## Frontiers and read holds
 * - Per replica and collection the reported write frontier (regressions ignored); the global write
 *   frontier is their join — the first replica to advance wins — and never moves back.
 * - Holds (`ReadHolds`): the implied hold `join(floor, write − window)`, one per pending peek,
 *   and one per replica incarnation from the as-of it was told to build the collection at until
 *   it reports an input frontier beyond it (a rehydrating replica's inputs stay readable at its
 *   replay as-of while the others move on: the caller's import holds follow the since).
 *   When their meet (the since) advances, `allowCompaction(id, since)` is broadcast.
 * - Persist sinks (materialized views) are collections too: no peeks, but the same implied hold,
 *   so their `allowCompaction` advances the as-of a replay rebuilds them at (and the caller's
 *   holds on their imports, which follow `frontiers(id).since`, may advance with it).
 * - `dropCollection` releases the implied hold; once no peek holds it either the since becomes
 *   empty (`allowCompaction(id, [])`), and the collection is forgotten when every replica reported
 *   an empty write frontier (a replica added after the drop never had it).
 */
import { randomUUID } from "node:crypto";
import { validatePlan } from "@mzts/expr";
import {
  type ComputeCommand,
  type ComputeResponse,
  ComputeCommandHistory,
  createHello,
  type DataflowDescription,
  type LoggingConfig,
} from "@mzts/protocol";
import {
  Frontier,
  type GlobalId,
  type ReplicaId,
  ReplicaId as ReplicaIds,
  type Timestamp,
} from "@mzts/repr";
import type { Logger } from "pino";
import type { Registry } from "prom-client";
import {
  CollectionExists,
  CollectionMissing,
  ControllerError,
  PeekCanceled,
  PeekFailed,
  PeekTimeout,
  ReplicaExists,
  ReplicaMissing,
  SinceViolation,
} from "./errors.js";
import { bindHistoryMetrics, type ControllerMetrics } from "./metrics.js";
import {
  buildPeek,
  type PeekOutcome,
  type PeekRequest,
  type PeekRows,
  type PendingPeek,
} from "./peek.js";
import { impliedHold, ReadHolds } from "./read-holds.js";
import type {
  ReplicaConnection,
  ReplicaConnectionState,
  ReplicaConnectionTuning,
  ReplicaConnector,
  ReplicaLocation,
} from "./replica-connection.js";
import { type SubscribeBatch, SubscribeFailed, SubscribeStream } from "./subscribe.js";

/** The error text of peeks/subscribes whose target replica went away (upstream's wording). */
export const TARGET_REPLICA_GONE = "target replica failed or was dropped";

/** What a caller can see of a replica. */
export interface ReplicaStatus {
  readonly replicaId: ReplicaId;
  /** The current incarnation (1, then + 1 per rehydration). */
  readonly epoch: number;
  readonly state: ReplicaConnectionState;
  /** Incarnations that failed so far. */
  readonly failures: number;
  /** `replica task failed: …` of the last failure, if any. */
  readonly lastError: string | undefined;
}

/** Frontiers of a collection as the controller sees them. */
export interface CollectionFrontiers {
  /** Meet of the read holds (what the replicas were allowed to compact to). */
  readonly since: Frontier;
  /** Join of the replicas' write frontiers (the as-of until one reports). */
  readonly write: Frontier;
  /** Whether a replica has reported a write frontier for it to this controller yet. */
  readonly reported: boolean;
}

/** Per-collection state (indexes and persist sinks). */
interface CollectionState {
  readonly id: GlobalId;
  /** Indexes answer peeks; a persist sink's since only bounds replays and its imports' holds. */
  readonly kind: "index" | "persistSink";
  /** Arity of the indexed object (for peeks). */
  readonly arity: number;
  readonly asOf: Timestamp;
  /** Join of the replicas' reports; starts at the as-of, only advances. */
  write: Frontier;
  /** The client's read-policy floor: starts at the as-of, raised by `allowCompaction`. */
  floor: Timestamp;
  /** The implied hold's frontier while it is held (until the drop). */
  implied: Frontier | undefined;
  readonly holds: ReadHolds;
  /** The last since sent (the as-of at first); only advances. */
  since: Frontier;
  /** Each replica's write frontier; absent = nothing reported by this incarnation yet. */
  readonly replicaWrite: Map<ReplicaId, Frontier>;
  /** Set by `dropCollection`. */
  dropped: boolean;
  /** Set once any replica reported a write frontier (sticky across rehydrations). */
  reported: boolean;
  /**
   * Per-replica holds: from the moment a replica (incarnation) is told to build the collection
   * at some as-of until it reports an input frontier beyond it. Until then its inputs must stay
   * readable at that as-of, although the other replicas may have moved the since far ahead.
   */
  readonly replicaHolds: Map<ReplicaId, Frontier>;
}

interface ReplicaState {
  readonly id: ReplicaId;
  location: ReplicaLocation;
  epoch: number;
  connection: ReplicaConnection;
  failures: number;
  lastError: string | undefined;
  /** Whether the current incarnation is counted in the connected gauge. */
  connected: boolean;
  /** When the current incarnation was spawned (ms), to tell a crash loop from a long run. */
  spawnedAt: number;
  /** Incarnations in a row that failed within `QUICK_FAILURE_MS` of their start. */
  quickFailures: number;
  /** A delayed respawn, while backing off a crash loop. */
  respawn: NodeJS.Timeout | undefined;
}

/** An incarnation that fails sooner than this after its start counts toward a crash loop. */
const QUICK_FAILURE_MS = 5000;
/** Longest pause between incarnations of a crash-looping replica. */
const MAX_RESPAWN_DELAY_MS = 5000;

export interface InstanceOptions {
  readonly id: string;
  readonly generation: bigint;
  readonly logging: LoggingConfig;
  readonly logger: Logger;
  readonly registry: Registry;
  readonly metrics: ControllerMetrics;
  readonly connector: ReplicaConnector;
  readonly compactionWindowMs: bigint;
  readonly tuning?: ReplicaConnectionTuning;
  /** Called when a collection is created / forgotten (the controller's id index). */
  onCollection(id: GlobalId, live: boolean): void;
}

export class Instance {
  readonly id: string;
  readonly #opts: InstanceOptions;
  readonly #log: Logger;
  /** Every command sent, reduced; replayed to new incarnations. */
  readonly #history = new ComputeCommandHistory();
  readonly #detachHistoryMetrics: () => void;
  readonly #replicas = new Map<ReplicaId, ReplicaState>();
  readonly #collections = new Map<GlobalId, CollectionState>();
  readonly #peeks = new Map<string, PendingPeek>();
  readonly #subscribes = new Map<GlobalId, SubscribeStream>();
  /** Persist sink exports of live dataflows (the ids `allowWrites` accepts). */
  readonly #persistSinks = new Set<GlobalId>();
  #closed = false;

  constructor(opts: InstanceOptions) {
    this.id = opts.id;
    this.#opts = opts;
    this.#log = opts.logger.child({ instance_id: opts.id });
    this.#detachHistoryMetrics = this.#history.attachMetrics(
      bindHistoryMetrics(opts.registry, { instance_id: opts.id }),
    );
    this.#history.push({ kind: "hello", hello: createHello(opts.generation) });
    this.#history.push({ kind: "createInstance", config: { logging: opts.logging } });
    this.#history.push({ kind: "initializationComplete" });
    this.#gauges();
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
    ReplicaIds.parse(replicaId);
    if (this.#replicas.has(replicaId)) throw new ReplicaExists(this.id, replicaId);
    const state: ReplicaState = {
      id: replicaId,
      location,
      epoch: 0,
      connection: undefined as unknown as ReplicaConnection,
      failures: 0,
      lastError: undefined,
      connected: false,
      spawnedAt: 0,
      quickFailures: 0,
      respawn: undefined,
    };
    this.#replicas.set(replicaId, state);
    this.#spawn(state, 1);
    this.#log.info({ replica_id: replicaId, url: location.computeUrl }, "replica added");
    this.#gauges();
  }

  updateReplicaLocation(replicaId: ReplicaId, location: ReplicaLocation): void {
    const r = this.#replica(replicaId);
    r.location = location;
  }

  async dropReplica(replicaId: ReplicaId): Promise<void> {
    const r = this.#replica(replicaId);
    this.#replicas.delete(replicaId);
    clearTimeout(r.respawn);
    this.#setConnected(r, false);
    this.#failTargeted(replicaId);
    for (const c of this.#collections.values()) {
      c.replicaWrite.delete(replicaId);
      this.#releaseReplicaHold(c, replicaId);
      this.#maybeCompact(c);
    }
    this.#gauges();
    this.#log.info({ replica_id: replicaId }, "replica dropped");
    await r.connection.close();
  }

  replicas(): ReplicaStatus[] {
    return [...this.#replicas.values()].map((r) => ({
      replicaId: r.id,
      epoch: r.epoch,
      state: r.connection.state,
      failures: r.failures,
      lastError: r.lastError,
    }));
  }

  #replica(replicaId: ReplicaId): ReplicaState {
    const r = this.#replicas.get(replicaId);
    if (r === undefined) throw new ReplicaMissing(this.id, replicaId);
    return r;
  }

  /** Starts incarnation `epoch` of `r` with the current reduced history. */
  #spawn(r: ReplicaState, epoch: number): void {
    r.epoch = epoch;
    r.spawnedAt = Date.now();
    for (const c of this.#collections.values()) {
      // A collection whose drop was already sent is not in the replay: nothing to wait for.
      if (c.dropped && c.since === null) c.replicaWrite.set(r.id, null);
      else c.replicaWrite.delete(r.id);
      // The replay rebuilds it at its since: hold that until this incarnation reports past it.
      this.#releaseReplicaHold(c, r.id);
      if (!c.dropped) this.#acquireReplicaHold(c, r.id, c.since);
    }
    const labels = { instance_id: this.id, replica_id: r.id };
    r.connection = this.#opts.connector({
      instanceId: this.id,
      replicaId: r.id,
      epoch,
      generation: this.#opts.generation,
      location: () => r.location,
      replay: () => {
        // Read when the stream opens: collections dropped (and created) since the spawn are not
        // in it, so this incarnation will never report on them either.
        const commands = this.#history.commands();
        if (this.#replicas.get(r.id) === r && r.epoch === epoch) {
          for (const c of this.#collections.values()) {
            if (c.dropped && c.since === null && !c.replicaWrite.has(r.id)) {
              c.replicaWrite.set(r.id, null);
              this.#maybeRemove(c);
            }
          }
        }
        return commands;
      },
      logger: this.#log.child({ replica_id: r.id, epoch }),
      ...(this.#opts.tuning !== undefined ? { tuning: this.#opts.tuning } : {}),
      onConnected: (e) => {
        if (this.#replicas.get(r.id) !== r || r.epoch !== e) return;
        this.#opts.metrics.replicaConnectsTotal.inc(labels);
        this.#opts.metrics.replicaConnectWaitSeconds.inc(labels, (Date.now() - r.spawnedAt) / 1000);
        this.#setConnected(r, true);
        this.#log.info({ replica_id: r.id, epoch: e }, "replica connected");
      },
      onResponses: (e, responses) => {
        if (this.#replicas.get(r.id) !== r || r.epoch !== e) return; // stale incarnation
        for (const resp of responses) this.#handle(r.id, resp);
      },
      onFailed: (e, error) => {
        if (this.#replicas.get(r.id) !== r || r.epoch !== e || this.#closed) return;
        this.#rehydrate(r, error);
      },
      onCommandSent: (c) =>
        this.#opts.metrics.commandsTotal.inc({ ...labels, command_type: c.kind }),
    });
  }

  #rehydrate(r: ReplicaState, error: Error): void {
    r.failures++;
    r.lastError = `replica task failed: ${error.message}`;
    this.#setConnected(r, false);
    this.#failTargeted(r.id);
    // A replica that fails right after every start (e.g. it refuses a command of the replayed
    // history) is respawned with backoff instead of in a tight loop.
    r.quickFailures = Date.now() - r.spawnedAt < QUICK_FAILURE_MS ? r.quickFailures + 1 : 0;
    const delay =
      r.quickFailures <= 1 ? 0 : Math.min(MAX_RESPAWN_DELAY_MS, 125 * 2 ** (r.quickFailures - 2));
    this.#log.warn(
      { replica_id: r.id, epoch: r.epoch, next_epoch: r.epoch + 1, delay_ms: delay },
      `rehydrating replica ${r.id} after: ${r.lastError}`,
    );
    if (delay === 0) {
      this.#spawn(r, r.epoch + 1);
      return;
    }
    const epoch = r.epoch + 1;
    r.respawn = setTimeout(() => {
      r.respawn = undefined;
      if (this.#replicas.get(r.id) === r && !this.#closed) this.#spawn(r, epoch);
    }, delay);
    r.respawn.unref();
  }

  #setConnected(r: ReplicaState, connected: boolean): void {
    if (r.connected === connected) return;
    r.connected = connected;
    this.#gauges();
  }

  /** Fails the peeks targeted at a replica that went away. */
  #failTargeted(replicaId: ReplicaId): void {
    for (const p of [...this.#peeks.values()]) {
      if (p.targetReplica === replicaId) {
        this.#finishPeek(p, {
          result: "error",
          error: new PeekFailed(p.uuid, TARGET_REPLICA_GONE),
        });
      }
    }
  }

  // --- commands ---------------------------------------------------------------------------

  #broadcast(commands: readonly ComputeCommand[]): void {
    for (const c of commands) this.#history.push(c);
    for (const r of this.#replicas.values()) r.connection.send(commands);
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
    const arities = this.#arities(desc);
    for (const e of desc.indexExports) {
      const arity = arities.get(e.objectId);
      if (arity === undefined) throw new CollectionMissing(e.objectId);
    }
    const exports = [
      ...desc.indexExports.map((e) => ({ id: e.id, of: e.objectId, kind: "index" as const })),
      ...desc.sinkExports
        .filter((s) => s.connection.kind === "persist")
        .map((s) => ({ id: s.id, of: s.fromId, kind: "persistSink" as const })),
    ];
    for (const e of exports) {
      const holds = new ReadHolds();
      holds.acquire(asOf);
      const state: CollectionState = {
        id: e.id,
        kind: e.kind,
        arity: arities.get(e.of) ?? 0,
        asOf,
        write: asOf,
        floor: asOf,
        implied: asOf,
        holds,
        since: asOf,
        replicaWrite: new Map(),
        dropped: false,
        reported: false,
        replicaHolds: new Map(),
      };
      for (const replicaId of this.#replicas.keys())
        this.#acquireReplicaHold(state, replicaId, asOf);
      this.#collections.set(e.id, state);
      this.#opts.onCollection(e.id, true);
    }
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

  #checkDataflow(desc: DataflowDescription): Timestamp {
    if (desc.asOf === null) {
      throw new ControllerError(
        `dataflow ${desc.debugName} has an empty as-of; give it the time its results start at`,
      );
    }
    for (const id of [...desc.indexExports, ...desc.sinkExports].map((e) => e.id)) {
      if (this.#collections.has(id) || this.#subscribes.has(id)) throw new CollectionExists(id);
    }
    for (const imp of desc.indexImports) {
      const c = this.#collections.get(imp.id);
      if (c === undefined || c.dropped) throw new CollectionMissing(imp.id);
      if (!Frontier.lessEqual(c.since, desc.asOf)) {
        throw new SinceViolation(imp.id, desc.asOf, c.since);
      }
    }
    return desc.asOf;
  }

  /** Arity of every import and built object of `desc` (validating the plans). */
  #arities(desc: DataflowDescription): Map<GlobalId, number> {
    const arities = new Map<GlobalId, number>();
    for (const s of desc.sourceImports) arities.set(s.id, s.arity);
    for (const i of desc.indexImports) arities.set(i.id, i.arity);
    desc.objectsToBuild.forEach((o, i) => {
      arities.set(
        o.id,
        validatePlan(o.plan, (id) => arities.get(id), `objectsToBuild[${i}]`),
      );
    });
    return arities;
  }

  /**
   * Raises the client's read-policy floor of `id` to `frontier` (never backward; the empty
   * frontier drops the collection).
   * @throws CollectionMissing when `id` is unknown or dropped.
   */
  allowCompaction(id: GlobalId, frontier: Frontier): void {
    const c = this.#collection(id);
    if (frontier === null) {
      this.dropCollection(id);
      return;
    }
    if (frontier > c.floor) c.floor = frontier;
    this.#updateImplied(c);
  }

  /**
   * Drops a collection (or a subscribe): releases the controller's hold; replicas are told once
   * no peek holds it anymore.
   * @throws CollectionMissing when `id` is unknown or already dropped.
   */
  dropCollection(id: GlobalId): void {
    const sub = this.#subscribes.get(id);
    if (sub !== undefined) {
      sub.fail(new SubscribeFailed(id, "the subscribe was dropped"));
      return;
    }
    const c = this.#collection(id);
    this.#persistSinks.delete(id);
    c.dropped = true;
    if (c.implied !== undefined) c.holds.release(c.implied);
    c.implied = undefined;
    for (const replicaId of [...c.replicaHolds.keys()]) this.#releaseReplicaHold(c, replicaId);
    this.#maybeCompact(c);
  }

  frontiers(id: GlobalId): CollectionFrontiers {
    const sub = this.#subscribes.get(id);
    if (sub !== undefined) return { since: sub.frontier, write: sub.frontier, reported: true };
    const c = this.#collections.get(id);
    if (c === undefined) throw new CollectionMissing(id);
    return { since: c.since, write: c.write, reported: c.reported };
  }

  #collection(id: GlobalId): CollectionState {
    const c = this.#collections.get(id);
    if (c === undefined || c.dropped) throw new CollectionMissing(id);
    return c;
  }

  #acquireReplicaHold(c: CollectionState, replicaId: ReplicaId, at: Frontier): void {
    if (at === null) return;
    c.holds.acquire(at);
    c.replicaHolds.set(replicaId, at);
  }

  #releaseReplicaHold(c: CollectionState, replicaId: ReplicaId): void {
    const held = c.replicaHolds.get(replicaId);
    if (held === undefined) return;
    c.replicaHolds.delete(replicaId);
    c.holds.release(held);
  }

  #updateImplied(c: CollectionState): void {
    if (c.implied === undefined) {
      // Dropped: nothing to hold; the advance may be the last replica's empty frontier.
      this.#maybeRemove(c);
      return;
    }
    const next = impliedHold(c.implied, c.floor, c.write, this.#opts.compactionWindowMs);
    if (!Frontier.equal(next, c.implied)) {
      c.holds.downgrade(c.implied, next);
      c.implied = next;
    }
    this.#maybeCompact(c);
  }

  /** Broadcasts `allowCompaction` when the meet of the holds advanced. */
  #maybeCompact(c: CollectionState): void {
    const since = c.holds.since();
    if (Frontier.lessThan(c.since, since)) {
      c.since = since;
      this.#broadcast([{ kind: "allowCompaction", id: c.id, frontier: since }]);
    }
    this.#maybeRemove(c);
  }

  #maybeRemove(c: CollectionState): void {
    if (!c.dropped || c.holds.size > 0 || c.since !== null) return;
    for (const r of this.#replicas.keys()) {
      if (c.replicaWrite.get(r) !== null) return;
    }
    this.#collections.delete(c.id);
    this.#opts.onCollection(c.id, false);
    this.#gauges();
  }

  // --- responses --------------------------------------------------------------------------

  #handle(replicaId: ReplicaId, resp: ComputeResponse): void {
    this.#opts.metrics.responsesTotal.inc({
      instance_id: this.id,
      replica_id: replicaId,
      response_type: resp.kind,
    });
    switch (resp.kind) {
      case "frontiers": {
        const c = this.#collections.get(resp.id);
        if (c === undefined) return;
        // The replica's inputs passed the as-of it was told to build at: its readers have read
        // their snapshots (under their own since handles), so its hold can go. (Not the write
        // frontier: a persist sink reports its shard's upper, already past the as-of.)
        const input = resp.frontiers.input;
        const held = c.replicaHolds.get(replicaId);
        if (held !== undefined && input !== undefined && Frontier.lessThan(held, input)) {
          this.#releaseReplicaHold(c, replicaId);
          this.#maybeCompact(c);
        }
        const write = resp.frontiers.write;
        if (write === undefined || !this.#collections.has(c.id)) return;
        const prev = c.replicaWrite.get(replicaId);
        if (prev !== undefined && Frontier.lessThan(write, prev)) {
          this.#log.debug({ replica_id: replicaId, id: c.id }, "write frontier regression ignored");
          return;
        }
        c.replicaWrite.set(replicaId, write);
        c.reported = true;
        if (Frontier.lessThan(c.write, write)) {
          c.write = write;
          this.#updateImplied(c);
        } else {
          this.#maybeRemove(c);
        }
        return;
      }
      case "peekResponse": {
        const p = this.#peeks.get(resp.uuid);
        if (p === undefined) return; // answered already, or unknown
        if (p.targetReplica !== undefined && p.targetReplica !== replicaId) return;
        const r = resp.response;
        this.#finishPeek(
          p,
          r.kind === "rows"
            ? { result: "rows", rows: r.rows }
            : r.kind === "error"
              ? { result: "error", error: new PeekFailed(p.uuid, r.message) }
              : { result: "canceled", error: new PeekCanceled(p.uuid, "a replica canceled it") },
        );
        return;
      }
      case "subscribeResponse":
        this.#subscribes.get(resp.id)?.offer(resp.response);
        return;
      case "commandError":
        this.#log.warn({ replica_id: replicaId, error: resp.error }, "replica refused a command");
        return;
      case "status":
        return;
    }
  }

  // --- peeks ------------------------------------------------------------------------------

  /**
   * Reads `req.target` at `req.timestamp`; the first answer wins.
   * @throws CollectionMissing, ReplicaMissing, SinceViolation synchronously (as a rejection).
   * Rejects with `PeekFailed`, `PeekTimeout`, `PeekCanceled`.
   */
  peek(req: PeekRequest): Promise<PeekRows> {
    const c = this.#collection(req.target);
    if (c.kind !== "index") {
      throw new ControllerError(
        `${req.target} is a materialized view's persist sink, which answers no peeks; peek an index on it`,
      );
    }
    if (req.targetReplica !== undefined) this.#replica(req.targetReplica);
    if (!Frontier.lessEqual(c.since, req.timestamp)) {
      throw new SinceViolation(c.id, req.timestamp, c.since);
    }
    const uuid = randomUUID();
    const peek = buildPeek(uuid, req, c.arity);
    return new Promise<PeekRows>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const onAbort = () => {
        const p = this.#peeks.get(uuid);
        if (p !== undefined) {
          this.#finishPeek(p, {
            result: "canceled",
            error: new PeekCanceled(uuid, "the caller aborted it"),
          });
        }
      };
      const pending: PendingPeek = {
        uuid,
        target: c.id,
        timestamp: req.timestamp,
        targetReplica: req.targetReplica,
        startedAt: performance.now(),
        settle: (o) => (o.result === "rows" ? resolve(o.rows) : reject(o.error)),
        dispose: () => {
          clearTimeout(timer);
          req.signal?.removeEventListener("abort", onAbort);
        },
      };
      c.holds.acquire(req.timestamp);
      this.#peeks.set(uuid, pending);
      this.#broadcast([{ kind: "peek", peek }]);
      this.#gauges();
      if (req.timeoutMs !== undefined) {
        const ms = req.timeoutMs;
        timer = setTimeout(() => {
          const p = this.#peeks.get(uuid);
          if (p !== undefined) {
            this.#finishPeek(p, { result: "canceled", error: new PeekTimeout(uuid, ms) });
          }
        }, ms);
      }
      if (req.signal !== undefined) {
        if (req.signal.aborted) onAbort();
        else req.signal.addEventListener("abort", onAbort, { once: true });
      }
    });
  }

  /** Settles a pending peek: retire, cancel on every replica, THEN release its hold. */
  #finishPeek(p: PendingPeek, outcome: PeekOutcome): void {
    if (this.#peeks.get(p.uuid) !== p) return;
    this.#peeks.delete(p.uuid);
    p.dispose();
    this.#history.retirePeek(p.uuid);
    this.#broadcast([{ kind: "cancelPeek", uuid: p.uuid }]);
    const c = this.#collections.get(p.target);
    if (c !== undefined) {
      c.holds.release(p.timestamp);
      this.#maybeCompact(c);
    }
    const labels = { instance_id: this.id, result: outcome.result };
    this.#opts.metrics.peeksTotal.inc(labels);
    this.#opts.metrics.peekDuration.observe(labels, (performance.now() - p.startedAt) / 1000);
    this.#gauges();
    p.settle(outcome);
  }

  // --- subscribes -------------------------------------------------------------------------

  /**
   * Creates a subscribe dataflow (exactly one subscribe sink) and returns its merged batches.
   * @throws ControllerError when `desc` does not export exactly one subscribe sink.
   * @throws CollectionExists, CollectionMissing, SinceViolation, MalformedPlan as `createDataflow`.
   */
  subscribe(desc: DataflowDescription): AsyncIterable<SubscribeBatch> {
    const sinks = desc.sinkExports.filter((s) => s.connection.kind === "subscribe");
    const sink = sinks[0];
    if (sinks.length !== 1 || sink === undefined || desc.indexExports.length > 0) {
      throw new ControllerError(
        `dataflow ${desc.debugName} must export exactly one subscribe sink and no index to be ` +
          "subscribed; use createDataflow for indexes and persist sinks",
      );
    }
    const asOf = this.#checkDataflow(desc);
    this.#arities(desc);
    const stream = new SubscribeStream(sink.id, asOf, () => {
      this.#subscribes.delete(sink.id);
      this.#opts.onCollection(sink.id, false);
      if (!this.#closed)
        this.#broadcast([{ kind: "allowCompaction", id: sink.id, frontier: null }]);
      this.#gauges();
    });
    this.#subscribes.set(sink.id, stream);
    this.#opts.onCollection(sink.id, true);
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
    const l = { instance_id: this.id };
    m.replicaCount.set(l, this.#replicas.size);
    m.connectedReplicaCount.set(l, [...this.#replicas.values()].filter((r) => r.connected).length);
    m.peekCount.set(l, this.#peeks.size);
    m.subscribeCount.set(l, this.#subscribes.size);
    m.collectionCount.set(l, this.#collections.size);
  }

  /** Cancels pending peeks and subscribes and stops every replica task. */
  async close(): Promise<void> {
    if (this.#closed) return;
    for (const p of [...this.#peeks.values()]) {
      this.#finishPeek(p, {
        result: "canceled",
        error: new PeekCanceled(p.uuid, "the compute controller was closed"),
      });
    }
    this.#closed = true;
    for (const s of [...this.#subscribes.values()]) {
      s.fail(new SubscribeFailed(s.id, "the compute controller was closed"));
    }
    const replicas = [...this.#replicas.values()];
    for (const r of replicas) clearTimeout(r.respawn);
    this.#replicas.clear();
    await Promise.all(replicas.map((r) => r.connection.close()));
    this.#gauges();
    this.#detachHistoryMetrics();
  }
}
