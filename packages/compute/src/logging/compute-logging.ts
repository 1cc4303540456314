/**
 * `ComputeLogging`: what one compute worker tells its `LoggingHost` (phase 2, *logging*) — the
 * raising side of the `ComputeLogEvent`s of `@mzts/mz-cluster/logging`, whichever host (compute's
 * legacy one or the unified logging dataflows) turns them into relations.
 *
 * ## When what is raised
 * - As it happens (from `ComputeState`): `dataflowCreated` (id = build sequence number; exports
 *   with kinds; the graph's operators; the imports), `dataflowDropped` / `exportDropped`,
 *   `peekStarted` / `peekEnded` (every accepted peek, however it ends: answered, canceled, dropped
 *   with its index or by reconciliation).
 * - `hydrated`: checked after every `step()` while some export is not hydrated, so its time is
 *   exact to a step: from `dataflowCreated` to the export's output frontier passing its as-of
 *   (an index's upper, a persist sink's input, a subscribe's emitted frontier; an empty as-of
 *   hydrates when the output closes).
 * - Sampled once per maintenance tick (`maintain(nowMs)`), raised only when changed:
 *   `operatorElapsed` (the graph times its operators only while logging is on),
 *   `exportFrontier` (indexes: upper; persist sinks: write frontier), `importFrontier` (each
 *   import of each export), `arrangementSize` and `errorCount` (indexes). Then the host steps.
 *   Only dataflows *touched* since the last tick are sampled: announced ones, and those the
 *   worker `touch()`es because their graph ran or their arrangements were compacted — nothing
 *   sampled changes otherwise, so a tick's cost does not grow with idle dataflows.
 *
 * ## Cost when logging is off
 * Every entry point first reads `host.logger.enabled` (false for `NO_LOGGER`, interval 0) and
 * returns: no events are built, no graph is timed, nothing is sampled.
 *
 * ## A host reconfigured
 * A `configure()` with another config than the last (a reconciliation with another logging
 * config) replaces the host's installation (both hosts; the logger object may stay the same):
 * every cached sample is forgotten and the live dataflows are announced again. The same config
 * again keeps everything.
 */
import type { ComputeEventLogger, ExportKind, LoggingHost } from "@mzts/mz-cluster/logging";
import type { LoggingConfig } from "@mzts/protocol";
import { Frontier, type GlobalId } from "@mzts/repr";
import type { DataflowInstance, IndexState } from "../render/dataflow.js";
import type { PersistSinkOperator } from "../render/persist-sink.js";

/**
 * What was last raised for one export (one record per export, updated in place: a tick samples
 * an export with one map lookup; issue 16). Nothing raised reads as the empty frontier / no row.
 */
interface ExportLog {
  readonly id: GlobalId;
  /** The export's index (undefined: a persist sink or a subscribe), looked up once. */
  readonly ix: IndexState | undefined;
  /** The export's persist sink (undefined: an index or a subscribe), looked up once. */
  readonly sink: PersistSinkOperator | undefined;
  /** Last raised output frontier (undefined: none raised). */
  frontier: Frontier | undefined;
  /** Last raised import frontiers, by the dataflow's feed index. */
  readonly imports: Array<Frontier | undefined>;
  /** Whether an arrangement size was raised (then `records`, `batches`, `sizeBytes` hold it). */
  sized: boolean;
  records: number;
  batches: number;
  sizeBytes: number;
  /** Last raised error count (0: none). */
  errors: number;
}

/** What is remembered of one announced dataflow, to raise only what changed. */
interface DataflowLog {
  readonly df: DataflowInstance;
  /** `performance.now()` at the announcement (ns), the hydration clock's start. */
  readonly createdNs: number;
  /** Last raised elapsed ns per operator id. */
  readonly elapsed: number[];
  /**
   * Per live export (in `liveExports` order): what was last raised about it. A tick walks this
   * array, with no set iteration nor map lookups per export (issue 16); `exportDropped` removes.
   */
  readonly exports: ExportLog[];
  /** Exports whose output has not yet passed the as-of. */
  readonly unhydrated: Set<GlobalId>;
}

export class ComputeLogging {
  readonly host: LoggingHost;
  /** Announced dataflows by build sequence number. */
  readonly #dataflows = new Map<number, DataflowLog>();
  /** Dataflows with an export not yet hydrated. */
  readonly #hydrating = new Set<DataflowLog>();
  /** Dataflows to sample at the next tick (announced or touched since the last). */
  readonly #touched = new Set<DataflowLog>();
  /** The last configuration applied. */
  #config: LoggingConfig | undefined;

  constructor(host: LoggingHost) {
    this.host = host;
  }

  /** Configures the host; another config than the last gets every live dataflow announced again. */
  configure(config: LoggingConfig, live: Iterable<DataflowInstance>): void {
    this.host.configure(config);
    if (this.#config !== undefined && sameLoggingConfig(this.#config, config)) return;
    this.#config = config;
    const logger = this.host.logger;
    this.#dataflows.clear();
    this.#hydrating.clear();
    this.#touched.clear();
    if (logger.enabled) for (const df of live) this.dataflowCreated(df);
  }

  dataflowCreated(df: DataflowInstance): void {
    const logger = this.host.logger;
    if (!logger.enabled) return;
    df.graph.enableTiming();
    const exports: Array<{ id: string; kind: ExportKind }> = [];
    for (const id of df.liveExports) exports.push({ id, kind: exportKind(df, id) });
    logger.log({
      kind: "dataflowCreated",
      dataflowId: df.seq,
      name: df.desc.debugName,
      exports,
      // The graph's operators carry `id` and `name`: no per-operator copy.
      operators: df.graph.operators,
      imports: [...df.feedIds],
    });
    const log: DataflowLog = {
      df,
      createdNs: performance.now() * 1e6,
      elapsed: [],
      exports: [...df.liveExports].map((id) => exportLog(df, id)),
      unhydrated: new Set(df.liveExports),
    };
    this.#dataflows.set(df.seq, log);
    this.#hydrating.add(log);
    this.#touched.add(log);
  }

  /** `df` ran or was compacted: sample it at the next tick (unannounced dataflows: no-op). */
  touch(df: DataflowInstance): void {
    const log = this.#dataflows.get(df.seq);
    if (log !== undefined) this.#touched.add(log);
  }

  /** One export dropped; `dataflowGone` when it was the dataflow's last. */
  exportDropped(df: DataflowInstance, id: GlobalId, dataflowGone: boolean): void {
    const log = this.#dataflows.get(df.seq);
    if (log === undefined) return;
    const logger = this.host.logger;
    if (dataflowGone) {
      this.#dataflows.delete(df.seq);
      this.#hydrating.delete(log);
      this.#touched.delete(log);
      if (logger.enabled) logger.log({ kind: "dataflowDropped", dataflowId: df.seq });
      return;
    }
    log.unhydrated.delete(id);
    const i = log.exports.findIndex((x) => x.id === id);
    if (i >= 0) log.exports.splice(i, 1);
    if (logger.enabled) logger.log({ kind: "exportDropped", exportId: id });
  }

  peekStarted(uuid: string, objectId: string, time: bigint): void {
    const logger = this.host.logger;
    if (!logger.enabled) return;
    logger.log({ kind: "peekStarted", uuid, objectId, time, atNs: performance.now() * 1e6 });
  }

  /** A peek answered, canceled or dropped (a host that never saw its start ignores it). */
  peekEnded(uuid: string): void {
    const logger = this.host.logger;
    if (logger.enabled) logger.log({ kind: "peekEnded", uuid, atNs: performance.now() * 1e6 });
  }

  /** After a worker step: raises `hydrated` for exports whose output passed their as-of. */
  afterStep(): void {
    if (this.#hydrating.size === 0) return;
    const logger = this.host.logger;
    if (!logger.enabled) return;
    const nowNs = performance.now() * 1e6;
    for (const log of this.#hydrating) {
      const asOf = log.df.desc.asOf;
      for (const id of log.unhydrated) {
        const out = outputFrontier(log.df, id);
        if (out === undefined) continue;
        if (out === null || (asOf !== null && out > asOf)) {
          log.unhydrated.delete(id);
          logger.log({ kind: "hydrated", exportId: id, sinceCreatedNs: nowNs - log.createdNs });
        }
      }
      if (log.unhydrated.size === 0) this.#hydrating.delete(log);
    }
  }

  /** The maintenance tick: samples what changed, then steps the host. True when it did work. */
  maintain(nowMs: number): boolean {
    const logger = this.host.logger;
    if (logger.enabled) for (const log of this.#touched) sample(logger, log);
    this.#touched.clear();
    return this.host.step(nowMs);
  }

  /**
   * The ms from `nowMs` until the host's log indexes next advance (the next multiple of the
   * interval: their upper is one past the last multiple `<= now`); `Infinity` when nothing is
   * installed. The worker must step the host then, whatever else happens.
   */
  nextStepInMs(nowMs: number): number {
    const interval = this.#config?.intervalMs ?? 0;
    if (!this.host.logger.enabled || !(interval > 0)) return Number.POSITIVE_INFINITY;
    return interval - (((Math.floor(nowMs) % interval) + interval) % interval);
  }

  /** Frees the host. */
  close(): void {
    this.#config = undefined;
    this.#dataflows.clear();
    this.#hydrating.clear();
    this.#touched.clear();
    this.host.close();
  }
}

/** Whether two logging configs are the same (a host keeps everything when configured again). */
export function sameLoggingConfig(a: LoggingConfig, b: LoggingConfig): boolean {
  if (a.enabled !== b.enabled || a.intervalMs !== b.intervalMs) return false;
  if (a.logLogging !== b.logLogging || a.indexLogs.size !== b.indexLogs.size) return false;
  for (const [k, v] of a.indexLogs) if (b.indexLogs.get(k) !== v) return false;
  return true;
}

function exportKind(df: DataflowInstance, id: GlobalId): ExportKind {
  if (df.indexes.has(id)) return "index";
  if (df.subscribes.has(id)) return "subscribe";
  return "persistSink";
}

/** An export's output frontier (undefined: not known yet). */
function outputFrontier(df: DataflowInstance, id: GlobalId): Frontier | undefined {
  const ix = df.indexes.get(id);
  if (ix) return ix.arrangement.upper;
  const sink = df.persistSinks.get(id);
  if (sink) return sink.outputFrontier;
  return df.subscribes.get(id)?.frontier;
}

/** A new export record: nothing raised yet. */
function exportLog(df: DataflowInstance, id: GlobalId): ExportLog {
  return {
    id,
    ix: df.indexes.get(id),
    sink: df.persistSinks.get(id),
    frontier: undefined,
    imports: [],
    sized: false,
    records: 0,
    batches: 0,
    sizeBytes: 0,
    errors: 0,
  };
}

/** Raises what changed in one dataflow since the last tick. */
function sample(logger: ComputeEventLogger, log: DataflowLog): void {
  const df = log.df;
  const seq = df.seq;
  const elapsed = df.graph.operatorElapsedNs;
  const last = log.elapsed;
  for (let i = 0; i < elapsed.length; i++) {
    const ns = Math.round(elapsed[i] ?? 0);
    if (ns !== (last[i] ?? 0)) {
      last[i] = ns;
      logger.operatorElapsed(seq, i, ns);
    }
  }
  const feeds = df.feeds;
  const exports = log.exports;
  for (let e = 0; e < exports.length; e++) {
    const x = exports[e]!;
    const id = x.id;
    const ix = x.ix;
    const write = ix ? ix.arrangement.upper : x.sink?.writeFrontier;
    // Nothing raised reads as the empty frontier (no row): an empty first sample raises nothing.
    if (
      write !== undefined &&
      !Frontier.equal(x.frontier === undefined ? null : x.frontier, write)
    ) {
      x.frontier = write;
      logger.exportFrontier(id, write);
    }
    const seen = x.imports;
    for (let i = 0; i < feeds.length; i++) {
      const f = feeds[i]!.frontier;
      const prev = seen[i];
      if (Frontier.equal(prev === undefined ? null : prev, f)) continue;
      seen[i] = f;
      logger.importFrontier(id, df.feedIds[i]!, f);
    }
    if (!ix) continue;
    const arr = ix.arrangement;
    const records = arr.updateCount;
    const batches = arr.timeCount;
    const sizeBytes = arr.sizeBytes;
    if (!x.sized || x.records !== records || x.batches !== batches || x.sizeBytes !== sizeBytes) {
      x.sized = true;
      x.records = records;
      x.batches = batches;
      x.sizeBytes = sizeBytes;
      logger.arrangementSize(id, records, batches, sizeBytes);
    }
    const count = ix.errors.count;
    if (count !== x.errors) {
      x.errors = count;
      logger.log({ kind: "errorCount", exportId: id, count });
    }
  }
}
