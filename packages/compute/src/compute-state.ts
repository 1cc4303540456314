/**
 * `ComputeState`: one worker's compute state machine — the same on the unified and the legacy
 * path (only command distribution differs). It applies commands in the one order every worker
 * sees, steps the worker's dataflows, answers peeks, emits subscribe batches and reports
 * frontiers. It never throws: a bad command becomes an in-band `commandError` (design §3).
 *
 * ## Example flow (W workers, each running this)
 * 1. `createDataflow(d)`: checked (`checkDataflow`), then built (`buildDataflow`) with the next
 *    build sequence number as its exchange namespace; exports registered by id.
 * 2. `step()`: source data is pumped in, every *activated* graph runs once (new input, exchange
 *    arrivals or an async completion; an idle dataflow is not even looked at: the worker keeps
 *    the set of active ones), pending peeks are retried.
 * 3. `peek(p)`: answered once `since <= t < upper` on this worker's part of the index; the
 *    process merger unions the W parts and applies the finishing.
 * 4. `maintain()`: frontiers of indexes and persist sinks that advanced are reported (never
 *    regressing, first report ≥ as-of), then the worker's statistics if they changed. Only
 *    dataflows *touched* since the last tick (their graph ran, or they were compacted) are looked
 *    at, and statistics are recounted only after a command, a step that worked or an answer:
 *    the tick's cost does not grow with the number of idle dataflows. With
 *    `deps.requestMaintenance` the worker loop runs it only when asked — after a command, a step
 *    that touched a dataflow or worked, an answer — or when due: it returns the ms until the next
 *    log interval boundary (log indexes advance with the wall clock; `Infinity` without logging),
 *    so an idle worker has no maintenance timer (issue 16).
 * 5. `allowCompaction(id, empty)`: the export is dropped; when a dataflow's last export goes, it
 *    is freed; empty frontiers are reported once.
 * 6. A later connection (`onConnection`): commands are buffered until `initializationComplete`,
 *    then reconciled (`reconciliation.ts`).
 *
 * ## Introspection (phase 2, *logging*)
 * The worker's `LoggingHost` (deps) is configured by `createInstance`; events are raised through
 * `ComputeLogging` (`logging/compute-logging.ts`), the host steps in `maintain()`, and a peek
 * whose target is one of its log indexes is answered like an index peek. `allowCompaction` and
 * `schedule` of a log index are accepted and ignored (the host compacts its own indexes).
 *
 * ## Bad commands
 * Duplicate export id or peek uuid → `duplicateId`; unknown import / target / id →
 * `unknownId`; compaction moving back → `frontierRegression`; bad plan → `malformedPlan`; import
 * compacted past the as-of → `sinceViolation`. Benign races (cancel of an unknown or answered
 * peek; schedule, compaction, allowWrites for a dropped id) are ignored and counted.
 * A peek of an unknown index also gets a `peekResponse` error, so it completes.
 */
import type { ExchangeMessage } from "@mzts/dataflow";
import type { LoggingHost } from "@mzts/mz-cluster/logging";
import { type ExchangeMesh, ExchangeRouter } from "@mzts/mz-cluster/runtime";
import type {
  ComputeCommand,
  ComputeResponse,
  DataflowDescription,
  FrontiersUpdate,
  InstanceConfig,
  LoggingConfig,
  Peek,
  PeekResponse,
  SubscribeResponse,
} from "@mzts/protocol";
import { truncateForLog } from "@mzts/protocol/domain";
import { Frontier, type GlobalId } from "@mzts/repr";
import type { Logger } from "pino";
import { CommandErrors } from "./command-errors.js";
import type { ComputeConfig } from "./config.js";
import { CommandRefused } from "./errors.js";
import { type CurrentFrontiers, FrontierReports } from "./frontier-reports.js";
import { ComputeLogging } from "./logging/compute-logging.js";
import type { WorkerStats, WorkerStatsMessage } from "./metrics.js";
import { evaluatePeek, type PeekableIndex, peekErrorMessage } from "./peek/peek.js";
import { planReconciliation } from "./reconciliation.js";
import {
  buildDataflow,
  checkDataflow,
  type DataflowInstance,
  exportIds,
  type ImportableIndex,
  type IndexState,
} from "./render/dataflow.js";
import { SourceFailures } from "./render/source-failures.js";
import { WorkerShards } from "./worker-shards.js";

/** The mesh channel of compute's dataflow exchange (every dataflow, namespaced by build order). */
export const EXCHANGE_CHANNEL = "compute:exchange";

/** What a worker sends to its process: compute responses and its statistics. */
export type WorkerResponse = ComputeResponse | WorkerStatsMessage;

export interface ComputeStateDeps {
  readonly mesh: ExchangeMesh;
  readonly config: ComputeConfig;
  readonly respond: (r: WorkerResponse) => void;
  readonly requestStep: () => void;
  /**
   * Asks the worker loop to run `maintain()` soon (mz-cluster's `MaintenanceTimer`). Absent: the
   * caller runs it on its own fixed cadence.
   */
  readonly requestMaintenance?: () => void;
  readonly logger: Logger;
  /** This worker's introspection (legacy or unified), configured by `createInstance`. */
  readonly logging: LoggingHost;
  /** Wall clock for the logging host's steps (default `Date.now`). */
  readonly now?: () => number;
}

export class ComputeState {
  readonly worker: number;
  readonly workers: number;
  readonly #deps: ComputeStateDeps;
  readonly #log: Logger;
  readonly #router: ExchangeRouter<ExchangeMessage>;
  /** Set by `createInstance`; undefined until the first. */
  #instance: InstanceConfig | undefined;
  /** Live dataflows by build sequence number (ascending = build order). */
  readonly #dataflows = new Map<number, DataflowInstance>();
  /** Live export id → its dataflow. */
  readonly #exports = new Map<GlobalId, DataflowInstance>();
  /** Current compaction frontier per live export (starts at the as-of). */
  readonly #compaction = new Map<GlobalId, Frontier>();
  /** Ids dropped (traffic for them is a benign race). */
  readonly #dropped = new Set<GlobalId>();
  /** Pending peeks by uuid; removed when answered, canceled or at reconciliation. */
  readonly #peeks = new Map<string, Peek>();
  /** Frontier reports of index / persist sink exports and log indexes. */
  readonly #frontiers = new FrontierReports();
  readonly #logging: ComputeLogging;
  readonly #now: () => number;
  /** Commands of a reconnecting controller, buffered until `initializationComplete`. */
  #buffer: ComputeCommand[] | undefined;
  /** Next build sequence number (= exchange namespace). */
  #nextSeq = 0;
  /** The worker's persist client, shared shard listeners and since holds. */
  readonly #shards: WorkerShards;
  #reused = 0;
  #replaced = 0;
  /** Refusals and benign races, counted (`command-errors.ts`). */
  readonly #bad: CommandErrors;
  readonly #dispatchCommand = (cmd: ComputeCommand): void => this.#dispatch(cmd);
  #lastStats = "";
  /** Live exports by kind (statistics). */
  readonly #live = { indexes: 0, subscribes: 0, persistSinks: 0 };
  /** Arrangement entries of every live dataflow, as last counted (`#recount`). */
  #records = 0;
  /** Whether statistics may have changed since the last were sent. */
  #statsDirty = true;
  /**
   * Dataflows that may have work: built, activated since (`BuildEnv.activated`) or still working.
   * A step visits only these (in insertion order; one activated during the step is visited in it)
   * and forgets each that ends its step not activated, so a step's cost does not grow with the
   * number of idle dataflows.
   */
  readonly #active = new Set<DataflowInstance>();
  /** Dataflows whose graph ran since the last `maintain()` (frontiers and sizes may have moved). */
  readonly #touched = new Set<DataflowInstance>();
  /**
   * Dataflows compacted since the last `maintain()`: sizes may have shrunk (introspection samples
   * them again), frontiers did not move (compaction moves none: their reports are not looked at).
   */
  readonly #compacted = new Set<DataflowInstance>();
  /** `FrontierReports.report`'s callbacks, made once (not per report). */
  readonly #reportFrontiers = (id: GlobalId, out: CurrentFrontiers): boolean => {
    const df = this.#exports.get(id);
    return df !== undefined && this.#frontiersOf(df, id, out);
  };
  readonly #sendFrontiers = (id: GlobalId, frontiers: FrontiersUpdate): void =>
    this.#deps.respond({ kind: "frontiers", id, frontiers });
  #closed = false;
  /** Disposals of dropped dataflows whose readers are still expiring their since handles. */
  readonly #disposing = new Set<Promise<void>>();
  /** Stalled dataflows: source imports stopped for good here or on another worker. */
  readonly #sourceFailures: SourceFailures;

  constructor(worker: number, workers: number, deps: ComputeStateDeps) {
    this.worker = worker;
    this.workers = workers;
    this.#deps = deps;
    this.#shards = new WorkerShards(worker, workers, deps.config, deps.logger);
    this.#log = deps.logger;
    this.#bad = new CommandErrors(deps.logger, deps.respond);
    // Exchange arrivals activate only the dataflow of their namespace (= build sequence number).
    this.#router = new ExchangeRouter<ExchangeMessage>(deps.mesh, EXCHANGE_CHANNEL, (ns) => {
      this.#dataflows.get(ns)?.graph.activate();
      deps.requestStep();
    });
    this.#sourceFailures = new SourceFailures({
      mesh: deps.mesh,
      dataflow: (seq) => this.#dataflows.get(seq),
      exporter: (id) => this.#exports.get(id),
      dataflows: () => this.#dataflows.values(),
      nextSeq: () => this.#nextSeq,
      requestStep: deps.requestStep,
    });
    this.#logging = new ComputeLogging(deps.logging);
    this.#now = deps.now ?? Date.now;
  }

  // ---- connection and commands ----------------------------------------------------------------

  /** A new controller connection: after the first, buffer its history for reconciliation. */
  onConnection(nonce: string): void {
    this.#log.info({ nonce }, "compute: new controller connection");
    if (this.#instance !== undefined) this.#buffer = [];
  }

  /** Applies one command (in the total order). Never throws. */
  apply(cmd: ComputeCommand): void {
    if (this.#closed) return;
    this.#dirty();
    if (this.#buffer !== undefined) {
      if (cmd.kind === "initializationComplete") {
        const cmds = this.#buffer;
        this.#buffer = undefined;
        this.#reconcile(cmds);
      } else this.#buffer.push(cmd);
      return;
    }
    this.#handle(cmd);
  }

  #handle(cmd: ComputeCommand): void {
    this.#bad.guard(cmd, this.#dispatchCommand);
  }

  #dispatch(cmd: ComputeCommand): void {
    switch (cmd.kind) {
      case "hello":
      case "initializationComplete":
        return;
      case "createInstance":
        this.#instance = cmd.config;
        this.#configureLogging(cmd.config.logging);
        this.#log.info(
          { logging: cmd.config.logging.enabled, intervalMs: cmd.config.logging.intervalMs },
          "compute: instance created",
        );
        return;
      case "updateConfiguration":
        return;
      case "createDataflow":
        this.#createDataflow(cmd.dataflow);
        return;
      case "schedule": {
        const df = this.#exports.get(cmd.id);
        if (df) df.scheduled = true;
        else if (!this.#deps.logging.index(cmd.id)) this.#unknownOrDropped(cmd.kind, cmd.id);
        return;
      }
      case "allowWrites": {
        const df = this.#exports.get(cmd.id);
        if (df) df.persistSinks.get(cmd.id)?.allowWrites();
        else this.#unknownOrDropped(cmd.kind, cmd.id);
        this.#deps.requestStep();
        return;
      }
      case "allowCompaction":
        this.#allowCompaction(cmd.id, cmd.frontier);
        return;
      case "peek":
        this.#peek(cmd.peek);
        return;
      case "cancelPeek":
        if (this.#peeks.delete(cmd.uuid)) {
          // A persist peek's snapshot stops waiting for its shard's upper.
          this.#shards.cancelPeek(cmd.uuid);
          this.#answer(cmd.uuid, { kind: "canceled" });
        } else this.#bad.benignRace("cancelPeek", cmd.uuid);
        return;
    }
  }

  /** Sends this worker's answer to a peek it accepted. */
  #answer(uuid: string, response: PeekResponse): void {
    this.#dirty();
    this.#logging.peekEnded(uuid);
    this.#deps.respond({ kind: "peekResponse", uuid, response });
  }

  #configureLogging(config: LoggingConfig): void {
    this.#logging.configure(config, this.#dataflows.values());
  }

  #unknownOrDropped(kind: string, id: GlobalId): void {
    this.#bad.unknownOrDropped(kind, id, this.#dropped.has(id));
  }

  #index(id: GlobalId): IndexState | undefined {
    return this.#exports.get(id)?.indexes.get(id);
  }

  /** An index a dataflow may import: a dataflow's index export or a log index of this worker. */
  #importable(id: GlobalId): ImportableIndex | undefined {
    const ix = this.#index(id);
    if (ix !== undefined) return ix;
    const log = this.#deps.logging.index(id);
    return log === undefined ? undefined : { arrangement: log.arrangement, tap: log };
  }

  #createDataflow(desc: DataflowDescription): void {
    const ids = exportIds(desc);
    const seen = new Set<GlobalId>();
    for (const id of ids) {
      if (this.#exports.has(id) || seen.has(id)) {
        throw new CommandRefused(
          id,
          "duplicateId",
          `${id} already exists on this replica; drop it (allowCompaction to the empty frontier) before creating it again`,
        );
      }
      seen.add(id);
    }
    checkDataflow(desc, (id) => this.#importable(id));
    const seq = this.#nextSeq++;
    const df = buildDataflow(seq, desc, {
      worker: this.worker,
      workers: this.workers,
      router: this.#router,
      openShard: (shardId) => this.#shards.open(shardId),
      listeners: this.#shards.listeners,
      holds: this.#shards.holds,
      requestStep: this.#deps.requestStep,
      logger: this.#log,
      index: (id) => this.#importable(id),
      subscribeResponse: (id, r) => this.#subscribeResponse(id, r),
      activated: (d) => {
        if (!d.disposed) this.#active.add(d);
      },
      sourceFailed: (d, failure) => this.#sourceFailures.reported(d, failure),
    });
    this.#dataflows.set(seq, df);
    this.#sourceFailures.built(df);
    this.#active.add(df);
    for (const id of ids) {
      this.#exports.set(id, df);
      this.#countExport(df, id, 1);
      this.#compaction.set(id, desc.asOf);
      this.#dropped.delete(id);
      if (df.indexes.has(id) || df.persistSinks.has(id)) this.#frontiers.track(id, desc.asOf);
    }
    this.#logging.dataflowCreated(df);
    this.#log.info(
      { dataflow: truncateForLog(desc.debugName), seq, exports: ids },
      "compute: dataflow built",
    );
    this.#deps.requestStep();
  }

  #subscribeResponse(id: GlobalId, response: SubscribeResponse): void {
    this.#deps.respond({ kind: "subscribeResponse", id, response });
  }

  #allowCompaction(id: GlobalId, f: Frontier): void {
    const df = this.#exports.get(id);
    if (!df) {
      if (!this.#deps.logging.index(id)) this.#unknownOrDropped("allowCompaction", id);
      return;
    }
    const current = this.#compaction.get(id) ?? Frontier.MIN;
    if (!Frontier.lessEqual(current, f)) {
      throw new CommandRefused(
        id,
        "frontierRegression",
        `allowCompaction of ${id} to ${Frontier.format(f)} would move its compaction frontier back from ${Frontier.format(current)}; frontiers only advance`,
      );
    }
    this.#compaction.set(id, f);
    if (f === null) {
      this.#dropExport(id, true);
      return;
    }
    // Compaction shrinks the arrangements now: introspection samples the dataflow again.
    this.#compacted.add(df);
    const ix = df.indexes.get(id);
    if (ix && Frontier.lessThan(ix.arrangement.since, f)) ix.arrangement.allowCompaction(f);
    // The error arrangement is shared by the dataflow's indexes: compact to their meet.
    if (ix) {
      let meet: Frontier = Frontier.EMPTY;
      for (const other of df.indexes.keys()) {
        if (df.liveExports.has(other))
          meet = Frontier.meet(meet, this.#compaction.get(other) ?? null);
      }
      if (Frontier.lessThan(ix.errors.since, meet)) ix.errors.allowCompaction(meet);
    }
  }

  /** Drops one export; frees the dataflow with its last export. */
  #dropExport(id: GlobalId, report: boolean): void {
    const df = this.#exports.get(id);
    if (!df) return;
    this.#exports.delete(id);
    this.#countExport(df, id, -1);
    this.#compaction.delete(id);
    this.#dropped.add(id);
    df.liveExports.delete(id);
    const ix = df.indexes.get(id);
    if (ix) {
      if (ix.arrangement.since !== null) ix.arrangement.allowCompaction(Frontier.EMPTY);
      for (const [uuid, p] of this.#peeks) {
        if (p.target.kind === "index" && p.target.id === id) {
          this.#peeks.delete(uuid);
          if (report) {
            this.#answer(uuid, {
              kind: "error",
              message: `index ${id} was dropped while the peek waited`,
            });
          } else this.#logging.peekEnded(uuid);
        }
      }
    }
    const sub = df.subscribes.get(id);
    if (sub && report) sub.drop();
    df.persistSinks.get(id)?.stop();
    this.#frontiers.drop(id, report);
    this.#logging.exportDropped(df, id, df.liveExports.size === 0);
    if (df.liveExports.size === 0) {
      const disposed = df.dispose(this.#router);
      this.#active.delete(df);
      this.#disposing.add(disposed);
      void disposed.then(() => this.#disposing.delete(disposed));
      this.#dataflows.delete(df.seq);
      this.#records -= df.records;
      df.records = 0;
      this.#log.info(
        { dataflow: truncateForLog(df.desc.debugName), seq: df.seq },
        "compute: dataflow dropped",
      );
    } else this.#recount(df);
  }

  #peek(peek: Peek): void {
    if (this.#peeks.has(peek.uuid)) {
      throw new CommandRefused(
        peek.uuid,
        "duplicateId",
        `peek ${peek.uuid} is already pending; peek uuids are unique per connection`,
      );
    }
    const target = peek.target;
    if (target.kind === "persist") {
      this.#persistPeek(peek, target.shardId);
      return;
    }
    if (!this.#peekable(target.id)) {
      this.#deps.respond({
        kind: "peekResponse",
        uuid: peek.uuid,
        response: {
          kind: "error",
          message: `peek target ${target.id} is not an index on this replica`,
        },
      });
      throw new CommandRefused(
        target.id,
        "unknownId",
        `peek ${peek.uuid} targets ${target.id}, which is not an index on this replica`,
      );
    }
    this.#peeks.set(peek.uuid, peek);
    this.#logging.peekStarted(peek.uuid, target.id, peek.timestamp);
    this.#deps.requestStep();
  }

  /** An index or a log index of this worker. */
  #peekable(id: GlobalId): PeekableIndex | undefined {
    return this.#index(id) ?? this.#deps.logging.index(id);
  }

  /** Peek of a persist shard: worker 0 reads the snapshot, the others answer no rows. */
  #persistPeek(peek: Peek, shardId: string): void {
    this.#logging.peekStarted(peek.uuid, shardId, peek.timestamp);
    if (this.worker !== 0) {
      this.#answer(peek.uuid, { kind: "rows", rows: [] });
      return;
    }
    this.#peeks.set(peek.uuid, peek);
    void this.#shards.peek(peek, shardId).then((response) => {
      // Not when canceled or forgotten by a reconciliation (the uuid may be pending again).
      if (this.#peeks.get(peek.uuid) !== peek) return;
      this.#peeks.delete(peek.uuid);
      this.#answer(peek.uuid, response);
    });
  }

  // ---- reconciliation -------------------------------------------------------------------------

  #reconcile(cmds: readonly ComputeCommand[]): void {
    const plan = planReconciliation(
      cmds,
      this.#dataflows.values(),
      (id) => this.#compaction.get(id) ?? null,
    );
    for (const cmd of plan.instances) {
      this.#instance = cmd.config;
      this.#configureLogging(cmd.config.logging);
    }
    for (const [old, desc] of plan.reuse) {
      old.desc = desc;
      for (const id of old.liveExports) {
        const ix = old.indexes.get(id);
        if (desc.asOf !== null && ix && Frontier.lessThan(ix.arrangement.since, desc.asOf)) {
          ix.arrangement.allowCompaction(desc.asOf);
        }
        this.#compaction.set(id, Frontier.join(this.#compaction.get(id) ?? null, desc.asOf));
      }
      this.#recount(old);
    }
    for (const { debugName, reason } of plan.replaced) {
      this.#log.info({ dataflow: debugName, reason }, "compute: reconciliation replaces dataflow");
    }
    // Drop what the new controller does not want (silently: it never heard of it).
    for (const df of [...this.#dataflows.values()]) {
      if (!plan.reuse.has(df)) for (const id of [...df.liveExports]) this.#dropExport(id, false);
    }
    for (const uuid of this.#peeks.keys()) this.#logging.peekEnded(uuid);
    this.#peeks.clear();
    this.#shards.cancelPeeks();
    this.#frontiers.reset();
    for (const df of plan.reuse.keys()) {
      for (const id of df.liveExports) {
        if (df.indexes.has(id) || df.persistSinks.has(id)) {
          this.#frontiers.track(id, this.#compaction.get(id) ?? df.desc.asOf);
        }
      }
    }
    const reused = plan.reuse.size;
    const replaced = plan.replaced.length;
    this.#reused += reused;
    this.#replaced += replaced;
    this.#log.info({ reused, replaced }, "compute: reconciliation done");
    for (const cmd of plan.todo) this.#handle(cmd);
    this.#deps.requestStep();
  }

  // ---- stepping and reporting -----------------------------------------------------------------

  /**
   * Runs every active dataflow once and retries pending peeks. True when more work may be
   * pending.
   */
  step(): boolean {
    if (this.#closed) return false;
    let worked = false;
    for (const df of this.#active) {
      if (df.step(this.#touched)) worked = true;
      if (!df.graph.activated) this.#active.delete(df);
    }
    if (worked) this.#statsDirty = true;
    if (worked || this.#touched.size > 0) this.#deps.requestMaintenance?.();
    this.#logging.afterStep();
    for (const [uuid, peek] of this.#peeks) {
      if (peek.target.kind !== "index") continue;
      const ix = this.#peekable(peek.target.id);
      if (!ix) continue;
      const r = this.#evaluate(peek, ix);
      if (r === undefined) continue;
      this.#peeks.delete(uuid);
      this.#answer(uuid, r);
    }
    return worked;
  }

  /** A peek's answer; a throw becomes the peek's error (class 2: the worker carries on). */
  #evaluate(peek: Peek, ix: PeekableIndex): PeekResponse | undefined {
    try {
      return evaluatePeek(peek, ix);
    } catch (e) {
      const err = e as Error;
      this.#bad.count("internal");
      this.#log.error(
        { uuid: peek.uuid, err: err.stack ?? String(e) },
        "compute: peek evaluation failed; answering it with an error",
      );
      return {
        kind: "error",
        message: peekErrorMessage(peek, `internal error: ${err.message ?? String(e)}`),
      };
    }
  }

  /** Statistics may have changed: recount them at the next maintenance, soon. */
  #dirty(): void {
    this.#statsDirty = true;
    this.#deps.requestMaintenance?.();
  }

  /**
   * Reports frontiers that advanced, empty frontiers of drops, and changed statistics. Returns
   * the ms until it is next due unasked (the next log interval boundary; `Infinity`: none).
   */
  maintain(): number {
    if (this.#closed) return Number.POSITIVE_INFINITY;
    const nowMs = this.#now();
    this.#report(nowMs);
    return this.#logging.nextStepInMs(nowMs);
  }

  #report(nowMs: number): void {
    for (const df of this.#touched) {
      this.#logging.touch(df);
      for (const id of df.liveExports) this.#frontiers.touch(id);
      this.#recount(df);
    }
    for (const df of this.#compacted) {
      this.#logging.touch(df);
      this.#recount(df);
    }
    if (this.#touched.size > 0 || this.#compacted.size > 0) this.#statsDirty = true;
    this.#touched.clear();
    this.#compacted.clear();
    // The log indexes advance whatever the connection does; waiting peeks of them retry, and
    // dataflows importing them (activated by their feeds) step.
    if (this.#logging.maintain(nowMs)) this.#deps.requestStep();
    if (this.#buffer !== undefined) return;
    this.#frontiers.report(this.#reportFrontiers, this.#logUppers(), this.#sendFrontiers);
    if (!this.#statsDirty) return;
    this.#statsDirty = false;
    const stats = this.stats();
    const json = JSON.stringify(stats);
    if (json !== this.#lastStats) {
      this.#lastStats = json;
      this.#deps.respond({ kind: "workerStats", stats });
    }
  }

  *#logUppers(): Iterable<[GlobalId, Frontier]> {
    const ids = this.#instance?.logging.indexLogs.values() ?? [];
    for (const id of ids) {
      const ix = this.#deps.logging.index(id);
      if (ix) yield [id, ix.arrangement.upper];
    }
  }

  /** An export's current frontiers, into `out` (fields left undefined when unknown). */
  #frontiersOf(df: DataflowInstance, id: GlobalId, out: CurrentFrontiers): boolean {
    const ix = df.indexes.get(id);
    if (ix) {
      out.write = out.output = ix.arrangement.upper;
      out.input = df.inputFrontier;
      return true;
    }
    const sink = df.persistSinks.get(id);
    if (sink) {
      out.write = sink.writeFrontier;
      out.input = df.inputFrontier;
      out.output = sink.outputFrontier;
    }
    return true;
  }

  /**
   * This worker's statistics. Kept as counts (exports at create and drop; arrangement entries
   * recounted per dataflow whose graph ran or that was compacted): O(1) in idle dataflows.
   */
  stats(): WorkerStats {
    for (const df of this.#touched) this.#recount(df);
    for (const df of this.#compacted) this.#recount(df);
    return {
      dataflows: this.#dataflows.size,
      indexes: this.#live.indexes,
      arrangementRecords: this.#records,
      pendingPeeks: this.#peeks.size,
      subscribes: this.#live.subscribes,
      persistSinks: this.#live.persistSinks,
      reused: this.#reused,
      replaced: this.#replaced,
      ...this.#bad.counts(),
    };
  }

  /** Brings a live dataflow's share of `#records` up to date. */
  #recount(df: DataflowInstance): void {
    if (this.#dataflows.get(df.seq) !== df) return;
    const n = df.countRecords();
    this.#records += n - df.records;
    df.records = n;
  }

  /** Adds `by` (±1) to the live export count of `id`'s kind in `df`. */
  #countExport(df: DataflowInstance, id: GlobalId, by: number): void {
    if (df.indexes.has(id)) this.#live.indexes += by;
    else if (df.subscribes.has(id)) this.#live.subscribes += by;
    else if (df.persistSinks.has(id)) this.#live.persistSinks += by;
  }

  /** Stops readers, expires their since handles and closes the persist client. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#logging.close();
    const released = [...this.#dataflows.values()].map((df) => df.dispose(this.#router));
    this.#dataflows.clear();
    this.#active.clear();
    await Promise.all([...released, ...this.#disposing]);
    await this.#shards.close();
  }
}
