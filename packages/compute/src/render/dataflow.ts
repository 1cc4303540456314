/**
 * `buildDataflow()`: one worker's rendering of a `DataflowDescription`, and `DataflowInstance`,
 * what the worker keeps of it until every export is dropped.
 *
 * ## Flow (identical on every worker, so exchange channels line up)
 * 1. `checkDataflow()` validates everything first (imports present, index since ≤ as-of, plans
 *    valid with the imports' and earlier objects' arities, exports naming known objects and
 *    valid key columns), so a bad description is refused before anything is built.
 * 2. A `Graph` with the dataflow's own exchange namespace (`ExchangeRouter.open(seq)`).
 * 3. Imports: each persist source is an input fed by a `SourceReader`, whose position the
 *    worker's one since handle of the shard holds (`ShardSinceHolds`); each index import is an input attached to the exporting dataflow's
 *    `IndexTap` (or a log index's change feed) in this worker — attached last, once every operator is connected (a reader
 *    connecting later would miss earlier messages).
 * 4. Objects: `render()` each plan in order, with imports and earlier objects as `get`s.
 * 5. Exports: an index = `ArrangeByOperator` (exchanged by key) + `IndexTap` (for importers);
 *    the errors of every object are arranged locally (peeks of a dataflow with errors fail);
 *    a subscribe = `SubscribeSink`; a persist sink = `PersistSinkOperator`.
 * 6. Every arrangement starts compacted to the as-of: reads below it are refused.
 *
 * Dataflows are not suspended: they run as soon as they are built (`schedule` is recorded but
 * not required), which the protocol allows ("may build dataflows suspended"). A worker step runs
 * a dataflow's graph only when it is activated (`Graph.stepIfActivated`): new input, exchange
 * arrivals for its namespace (`ComputeState` activates by namespace), an async completion, or a
 * source reader's queued event. Each activation is told to the worker (`BuildEnv.activated`),
 * which steps only the dataflows it was told of.
 */
import {
  ArrangeByOperator,
  type Arrangement,
  createGraph,
  createInput,
  type ExchangeMessage,
  exchange,
  type Graph,
  render,
  type Stream,
  UnionOperator,
} from "@mzts/dataflow";
import { MalformedPlan, validatePlan } from "@mzts/expr";
import type { ExchangeRouter } from "@mzts/mz-cluster/runtime";
import type { DataflowDescription, SubscribeResponse } from "@mzts/protocol";
import { Frontier, type GlobalId } from "@mzts/repr";
import type { Logger } from "pino";
import { CommandRefused } from "../errors.js";
import { SubscribeSink } from "../subscribe/subscribe-sink.js";
import { ImportFeed } from "./import-feed.js";
import { IndexTap } from "./index-tap.js";
import { PersistSinkOperator } from "./persist-sink.js";
import type { ShardListeners } from "./shard-listeners.js";
import type { ShardSinceHolds } from "./shard-since-holds.js";
import { type OpenShard, type SourceImportFailure, SourceReader } from "./source-import.js";

/** An index export held by this worker. */
export interface IndexState {
  readonly id: GlobalId;
  readonly dataflow: DataflowInstance;
  readonly key: readonly number[];
  readonly arity: number;
  readonly arrangement: Arrangement;
  /** The dataflow's error collection as arranged in this worker. */
  readonly errors: Arrangement;
  readonly tap: IndexTap;
}

/** Where a dataflow's updates of an imported index come from (history, then changes). */
export interface IndexSource {
  attach(feed: ImportFeed): void;
  detach(feed: ImportFeed): void;
}

/**
 * An index a dataflow of this worker can import: a dataflow's index export (`IndexState`, fed
 * by its `IndexTap`) or a log index (fed by its change feed).
 */
export interface ImportableIndex {
  readonly arrangement: Arrangement;
  readonly tap: IndexSource;
}

/** What `buildDataflow` needs from the worker. */
export interface BuildEnv {
  readonly worker: number;
  readonly workers: number;
  readonly router: ExchangeRouter<ExchangeMessage>;
  readonly openShard: OpenShard;
  /** The worker's one listener per shard, shared by its source readers. */
  readonly listeners: ShardListeners;
  readonly requestStep: () => void;
  readonly logger: Logger;
  /** The worker's since holds: one persist since handle per shard, shared by its source readers. */
  readonly holds: ShardSinceHolds;
  /** An index export or log index live in this worker. */
  index(id: GlobalId): ImportableIndex | undefined;
  /** Emits a subscribe response of this worker. */
  subscribeResponse(id: GlobalId, r: SubscribeResponse): void;
  /**
   * The dataflow's graph became activated (`GraphOptions.onActivate`), or a source reader queued
   * an event for it: the worker steps it. Not called for the build itself (a new graph is
   * activated): the worker adds a built dataflow to its active set.
   */
  activated(df: DataflowInstance): void;
  /** A source reader of `df` in this worker stopped for good (`SourceImportFailure`). */
  sourceFailed?(df: DataflowInstance, failure: SourceImportFailure): void;
}

/** One worker's running dataflow. */
export class DataflowInstance {
  /** Build sequence number (= exchange namespace), identical on every worker. */
  readonly seq: number;
  /** The description; replaced by reconciliation when it reuses the dataflow (new as-of). */
  desc: DataflowDescription;
  readonly graph: Graph;
  readonly sources: SourceReader[] = [];
  /** Index imports: the feed and the tap it is attached to. */
  readonly imports: Array<{ readonly feed: ImportFeed; readonly tap: IndexSource }> = [];
  readonly indexes = new Map<GlobalId, IndexState>();
  readonly subscribes = new Map<GlobalId, SubscribeSink>();
  readonly persistSinks = new Map<GlobalId, PersistSinkOperator>();
  /** Export ids not yet dropped; the dataflow is freed when this becomes empty. */
  readonly liveExports = new Set<GlobalId>();
  /** Import feeds, sources then indexes (for the input frontier). */
  readonly feeds: ImportFeed[] = [];
  /** The import id of each of `feeds`, in the same order. */
  readonly feedIds: GlobalId[] = [];
  /** Set by `schedule` (recorded only: dataflows run at once). */
  scheduled = false;
  /** `countRecords()` when the worker last counted it (its statistics keep the sum). */
  records = 0;
  /** Set by `dispose()`: the worker no longer steps it (a late activation is ignored). */
  disposed = false;
  /**
   * The first source import that stopped for good on any worker (its frontier, and so the
   * dataflow's, no longer moves): peeks waiting on it are answered with its error.
   */
  failure: SourceImportFailure | undefined;

  constructor(seq: number, desc: DataflowDescription, graph: Graph) {
    this.seq = seq;
    this.desc = desc;
    this.graph = graph;
  }

  /** Meet of the imports' frontiers (empty when there are no imports). */
  get inputFrontier(): Frontier {
    let f: Frontier = Frontier.EMPTY;
    for (const feed of this.feeds) f = Frontier.meet(f, feed.frontier);
    return f;
  }

  /**
   * Entries of the dataflow's arrangements: every index's, plus each distinct error arrangement
   * once (a dataflow's indexes share one). Changes only when the graph runs or an arrangement is
   * compacted.
   */
  countRecords(): number {
    let records = 0;
    let counted: Arrangement | undefined;
    let more: Set<Arrangement> | undefined;
    for (const ix of this.indexes.values()) {
      records += ix.arrangement.size;
      const errs = ix.errors;
      if (errs === counted || more?.has(errs)) continue;
      if (counted === undefined) counted = errs;
      else (more ??= new Set()).add(errs);
      records += errs.size;
    }
    return records;
  }

  /**
   * Moves source data in and runs every operator once — only when the graph is activated (data
   * or a frontier reached one of its inputs, exchange messages or an async completion arrived;
   * `Graph.stepIfActivated`): an idle dataflow costs a few field reads. A dataflow whose graph
   * ran adds itself to `touched` (its frontiers, sizes and timings may have changed). True when
   * anything moved.
   */
  step(touched: Set<DataflowInstance>): boolean {
    let worked = false;
    for (const s of this.sources) if (s.pump()) worked = true;
    if (!this.graph.activated) return worked;
    touched.add(this);
    if (this.graph.stepIfActivated()) worked = true;
    return worked;
  }

  /**
   * Frees everything: readers stop, importers detach, arrangements release their contents.
   * The returned promise settles (never rejects) once the readers' since handles are expired.
   */
  dispose(router: ExchangeRouter<ExchangeMessage>): Promise<void> {
    this.disposed = true;
    const released = Promise.all(this.sources.map((s) => s.stop()));
    for (const { feed, tap } of this.imports) tap.detach(feed);
    for (const ix of this.indexes.values()) {
      if (ix.arrangement.since !== null) ix.arrangement.allowCompaction(Frontier.EMPTY);
      if (ix.errors.since !== null) ix.errors.allowCompaction(Frontier.EMPTY);
    }
    for (const s of this.persistSinks.values()) s.stop();
    router.close(this.seq);
    return released.then(() => undefined);
  }
}

/** Every id a description exports. */
export function exportIds(desc: DataflowDescription): GlobalId[] {
  return [...desc.indexExports.map((e) => e.id), ...desc.sinkExports.map((s) => s.id)];
}

/**
 * Checks a description against this worker's state without building anything.
 * @throws CommandRefused (unknownId, sinceViolation, malformedPlan) naming the object.
 */
export function checkDataflow(
  desc: DataflowDescription,
  index: (id: GlobalId) => ImportableIndex | undefined,
): void {
  const first = exportIds(desc)[0] ?? desc.objectsToBuild[0]?.id ?? "";
  const arities = new Map<GlobalId, number>();
  for (const s of desc.sourceImports) arities.set(s.id, s.arity);
  for (const imp of desc.indexImports) {
    const ix = index(imp.id);
    if (!ix) {
      throw new CommandRefused(
        imp.id,
        "unknownId",
        `dataflow ${first} imports index ${imp.id}, which this replica does not have; create it first`,
      );
    }
    if (desc.asOf !== null && !Frontier.lessEqual(ix.arrangement.since, desc.asOf)) {
      throw new CommandRefused(
        imp.id,
        "sinceViolation",
        `dataflow ${first} imports index ${imp.id} as of ${desc.asOf}, but the index is compacted to ${Frontier.format(ix.arrangement.since)}; choose an as-of at or after its since`,
      );
    }
    arities.set(imp.id, imp.arity);
  }
  for (const obj of desc.objectsToBuild) {
    try {
      arities.set(
        obj.id,
        validatePlan(obj.plan, (id) => arities.get(id), `objects[${obj.id}]`),
      );
    } catch (e) {
      if (e instanceof MalformedPlan) throw new CommandRefused(obj.id, "malformedPlan", e.message);
      throw e;
    }
  }
  const built = new Set(desc.objectsToBuild.map((o) => o.id));
  for (const ix of desc.indexExports) {
    const arity = arities.get(ix.objectId);
    if (!built.has(ix.objectId) || arity === undefined) {
      throw new CommandRefused(
        ix.id,
        "unknownId",
        `index ${ix.id} exports ${ix.objectId}, which the dataflow does not build`,
      );
    }
    if (ix.key.some((c) => !Number.isInteger(c) || c < 0 || c >= arity)) {
      throw new CommandRefused(
        ix.id,
        "malformedPlan",
        `index ${ix.id} key [${ix.key.join(", ")}] is out of range for arity ${arity}`,
      );
    }
  }
  for (const s of desc.sinkExports) {
    if (!arities.has(s.fromId)) {
      throw new CommandRefused(
        s.id,
        "unknownId",
        `sink ${s.id} reads ${s.fromId}, which the dataflow neither imports nor builds`,
      );
    }
  }
}

/** Builds the dataflow on this worker (after `checkDataflow`). */
export function buildDataflow(
  seq: number,
  desc: DataflowDescription,
  env: BuildEnv,
): DataflowInstance {
  const asOf = desc.asOf;
  const allocator = env.workers > 1 ? env.router.open(seq) : undefined;
  const self: { df?: DataflowInstance } = {};
  const graph = createGraph({
    ...(allocator ? { allocator } : {}),
    asOf: asOf ?? 0n,
    name: desc.debugName || `dataflow#${seq}`,
    onActivate: () => {
      if (self.df !== undefined) env.activated(self.df);
    },
  });
  const df = new DataflowInstance(seq, desc, graph);
  self.df = df;
  // A source reader's queued event makes the dataflow active (the step pumps it in).
  const sourceEvent = () => {
    graph.activate();
    env.requestStep();
  };
  const streams = new Map<GlobalId, Stream>();
  const arities = new Map<GlobalId, number>();
  const feedAsOf = asOf ?? 0n;
  /** Imports that produce nothing (empty as-of), closed once the graph is built. */
  const closed: ImportFeed[] = [];

  for (const s of desc.sourceImports) {
    const input = createInput(graph, `source ${s.id}`);
    const feed = new ImportFeed(input, feedAsOf, desc.until);
    df.feeds.push(feed);
    df.feedIds.push(s.id);
    streams.set(s.id, input.output);
    arities.set(s.id, s.arity);
    if (asOf === null) {
      closed.push(feed);
      continue;
    }
    const reader = new SourceReader({
      id: s.id,
      shardId: s.shardId,
      feed,
      worker: env.worker,
      workers: env.workers,
      openShard: env.openShard,
      listeners: env.listeners,
      holds: env.holds,
      requestStep: sourceEvent,
      logger: env.logger,
      onFailed: (f) => env.sourceFailed?.(df, f),
    });
    df.sources.push(reader);
  }
  for (const imp of desc.indexImports) {
    const input = createInput(graph, `index ${imp.id}`);
    const feed = new ImportFeed(input, feedAsOf, desc.until);
    df.feeds.push(feed);
    df.feedIds.push(imp.id);
    streams.set(imp.id, input.output);
    arities.set(imp.id, imp.arity);
    const ix = env.index(imp.id);
    if (asOf === null || !ix) closed.push(feed);
    else df.imports.push({ feed, tap: ix.tap });
  }
  const errs: Stream[] = [];
  for (const obj of desc.objectsToBuild) {
    const r = render(graph, obj.plan, { imports: streams });
    streams.set(obj.id, r.oks);
    arities.set(
      obj.id,
      validatePlan(obj.plan, (id) => arities.get(id)),
    );
    errs.push(r.errs);
  }
  const errStream = errs.length === 1 ? errs[0]! : new UnionOperator(graph, errs, "errs").output;
  let errors: Arrangement | undefined;
  const errorArrangement = (): Arrangement => {
    if (!errors) {
      errors = new ArrangeByOperator(graph, errStream, [], "errs").arrangement;
      if (asOf !== null) errors.allowCompaction(asOf);
    }
    return errors;
  };

  for (const ix of desc.indexExports) {
    const source = streams.get(ix.objectId)!;
    const op = new ArrangeByOperator(graph, exchange(ix.key)(source), ix.key, `index ${ix.id}`);
    if (asOf !== null) op.arrangement.allowCompaction(asOf);
    const tap = new IndexTap(graph, op.output, op.arrangement);
    df.indexes.set(ix.id, {
      id: ix.id,
      dataflow: df,
      key: ix.key,
      arity: arities.get(ix.objectId)!,
      arrangement: op.arrangement,
      errors: errorArrangement(),
      tap,
    });
    df.liveExports.add(ix.id);
  }
  for (const s of desc.sinkExports) {
    const source = streams.get(s.fromId)!;
    if (s.connection.kind === "subscribe") {
      const sink = new SubscribeSink(graph, source, {
        id: s.id,
        asOf,
        until: desc.until,
        emit: (r) => env.subscribeResponse(s.id, r),
      });
      df.subscribes.set(s.id, sink);
    } else {
      const sink = new PersistSinkOperator(graph, source, {
        id: s.id,
        shardId: s.connection.shardId,
        openShard: env.openShard,
        requestStep: env.requestStep,
        logger: env.logger,
      });
      df.persistSinks.set(s.id, sink);
    }
    df.liveExports.add(s.id);
  }
  // Feed imports only now: a stream's readers must connect before data or frontier moves
  // reach it (they would miss them), and every operator is connected once the graph is built.
  for (const { feed, tap } of df.imports) tap.attach(feed);
  for (const feed of closed) feed.close();
  for (const r of df.sources) r.start();
  return df;
}
