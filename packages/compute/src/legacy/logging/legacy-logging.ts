// PHASE(logging): legacy — delete when cluster-unification-logging is retired
/**
 * `LegacyComputeLogging`: compute's own introspection of one worker (flag
 * `cluster-unification-logging` off) — a `LoggingHost` for compute's relations only, arranged
 * directly: events are queued by its logger and applied as rows of `LogTable`s at `step()`, with
 * no dataflow graph in between (the unified host builds logging dataflows instead; both follow
 * the same event → row rules, `compute-relations.ts`).
 *
 * ## Lifecycle
 * - `configure(config)`: enabled with an interval > 0 → one `LogTable` per `indexLogs` entry
 *   naming a compute relation, and a logger that queues events (its typed calls, the per-tick
 *   events, are applied at once instead, after the queue and at the log time a queued event
 *   would get: no event object per change; issue 16); storage relation names (storage
 *   has no legacy introspection) and unknown names are skipped and counted. Otherwise (or when
 *   no relation is installed) nothing is installed and the logger is `NO_LOGGER`. The same config
 *   again keeps everything; another replaces everything.
 * - `step(nowMs)`: applies the queued events to the tables' current rows, each at
 *   `max(logTime(atMs), the first interval multiple >= upper)`; when the upper advances (to
 *   `floor(nowMs / interval) * interval + 1`, once per interval) the tables write their net
 *   changes to their arrangements and every index's upper and since advance (the since to
 *   `upper - 1 - LOG_RETENTION_MS` rounded down to the interval; neither moves back). No row is
 *   readable before the upper passes its time, so a whole interval's changes coalesce: a peek or
 *   a dataflow that comes and goes within an interval writes nothing, a frontier that moves ten
 *   times writes once.
 * - `close()`: frees every table; the logger becomes `NO_LOGGER`.
 * Storage events reaching this logger are dropped and counted (`ignored().storageEvents`).
 */
import {
  type ComputeEventLogger,
  type ComputeLogEvent,
  LOG_RETENTION_MS,
  type LogEventBody,
  type LoggingHost,
  NO_LOGGER,
} from "@mzts/mz-cluster/logging";
import type { LoggingConfig } from "@mzts/protocol";
import { logRelation, logTime } from "@mzts/protocol/domain";
import type { Logger } from "pino";
import { sameLoggingConfig } from "../../logging/compute-logging.js";
import { ComputeRelations } from "./compute-relations.js";
import { LogTable } from "./log-table.js";

export interface LegacyLoggingOptions {
  /** This worker's index (the `worker_id` of its rows). */
  readonly worker: number;
  /** Wall clock stamping events (default `Date.now`). */
  readonly now?: () => number;
  /** Where configuration problems are logged. */
  readonly log?: Logger;
}

/** What the legacy host skipped (for tests and logs). */
export interface LegacyLoggingIgnored {
  /** Storage events logged to it (storage has no legacy introspection). */
  readonly storageEvents: number;
  /** `indexLogs` entries naming a storage relation. */
  readonly storageRelations: number;
  /** `indexLogs` entries naming no relation. */
  readonly unknownRelations: number;
}

/** Events queued at most between two steps (then applied at once), so memory stays bounded. */
const MAX_QUEUED = 65_536;

const STORAGE_KINDS = new Set<LogEventBody["kind"]>([
  "ingestionFrontier",
  "ingestionStatistics",
  "sourceStatus",
  "sourceDropped",
]);

export class LegacyComputeLogging implements LoggingHost {
  readonly worker: number;
  readonly #now: () => number;
  readonly #log: Logger | undefined;
  #logger: ComputeEventLogger = NO_LOGGER;
  #config: LoggingConfig | undefined;
  #interval = 0;
  /** Installed tables by relation name and by index id. */
  #byName = new Map<string, LogTable>();
  #byId = new Map<string, LogTable>();
  #relations: ComputeRelations | undefined;
  /** Events not yet applied, in logging order, and when each was logged. */
  #queue: ComputeLogEvent[] = [];
  #queueAtMs: number[] = [];
  #upper = 0n;
  #since = 0n;
  /** The log time of the last typed call, for its `atMs` and upper (`#direct`). */
  #directMs = Number.NaN;
  #directUpper = -1n;
  #directTime = 0n;
  #storageEvents = 0;
  #storageRelations = 0;
  #unknownRelations = 0;

  constructor(options: LegacyLoggingOptions) {
    this.worker = options.worker;
    this.#now = options.now ?? Date.now;
    this.#log = options.log;
  }

  get logger(): ComputeEventLogger {
    return this.#logger;
  }

  ignored(): LegacyLoggingIgnored {
    return {
      storageEvents: this.#storageEvents,
      storageRelations: this.#storageRelations,
      unknownRelations: this.#unknownRelations,
    };
  }

  configure(config: LoggingConfig): void {
    if (this.#config !== undefined && sameLoggingConfig(this.#config, config)) return;
    this.close();
    this.#config = config;
    if (!config.enabled || !Number.isInteger(config.intervalMs) || config.intervalMs <= 0) return;
    for (const [name, id] of config.indexLogs) {
      const relation = logRelation(name);
      if (relation === undefined || relation.workload !== "compute") {
        if (relation === undefined) this.#unknownRelations++;
        else this.#storageRelations++;
        this.#log?.debug(
          { relation: name, id },
          relation === undefined
            ? "compute logging: unknown relation in indexLogs; skipped"
            : "compute logging: storage relation has no legacy introspection; skipped",
        );
        continue;
      }
      const table = new LogTable(id, relation);
      this.#byName.set(relation.name, table);
      this.#byId.set(id, table);
    }
    if (this.#byId.size === 0) return;
    this.#interval = config.intervalMs;
    this.#relations = new ComputeRelations(this.worker, this.#byName);
    const now = this.#now;
    // The per-tick events are applied at once (after the queue, so in logging order), at the
    // log time `#drain` would give them: no event object, no queue entry (issue 16).
    this.#logger = Object.freeze({
      enabled: true,
      log: (event: LogEventBody) => {
        if (STORAGE_KINDS.has(event.kind)) this.#storageEvents++;
        else {
          this.#queue.push(event as ComputeLogEvent);
          if (this.#queueAtMs.push(now()) >= MAX_QUEUED) this.#drain(true);
        }
      },
      operatorElapsed: (dataflowId: number, operatorId: number, elapsedNs: number) => {
        const time = this.#direct();
        if (time !== undefined)
          this.#relations!.operatorElapsed(dataflowId, operatorId, elapsedNs, time);
      },
      exportFrontier: (exportId: string, frontier: bigint | null) => {
        const time = this.#direct();
        if (time !== undefined) this.#relations!.exportFrontier(exportId, frontier, time);
      },
      importFrontier: (exportId: string, importId: string, frontier: bigint | null) => {
        const time = this.#direct();
        if (time !== undefined) this.#relations!.importFrontier(exportId, importId, frontier, time);
      },
      arrangementSize: (exportId: string, records: number, batches: number, bytes: number) => {
        const time = this.#direct();
        if (time !== undefined)
          this.#relations!.arrangementSize(exportId, records, batches, bytes, time);
      },
    });
  }

  /**
   * The log time of one event logged now and applied at once (what `#drain` gives an event of
   * this `atMs`), after the queued events; undefined when nothing is installed.
   */
  #direct(): bigint | undefined {
    if (this.#relations === undefined) return undefined;
    if (this.#queue.length > 0) this.#drain();
    const ms = this.#now();
    if (ms === this.#directMs && this.#upper === this.#directUpper) return this.#directTime;
    const interval = BigInt(this.#interval);
    const floor = ((this.#upper + interval - 1n) / interval) * interval;
    const t = logTime(ms, this.#interval);
    const time = t > floor ? t : floor;
    this.#directMs = ms;
    this.#directUpper = this.#upper;
    this.#directTime = time;
    return time;
  }

  index(id: string): LogTable | undefined {
    return this.#byId.get(id);
  }

  step(nowMs: number): boolean {
    const relations = this.#relations;
    if (relations === undefined) return false;
    const interval = BigInt(this.#interval);
    const upper = (BigInt(Math.max(0, Math.floor(nowMs))) / interval) * interval + 1n;
    const advances = upper > this.#upper;
    if (!advances && this.#queue.length === 0) return false;
    this.#drain();
    if (!advances) return true;
    this.#upper = upper;
    const back = upper - 1n - BigInt(LOG_RETENTION_MS);
    const since = back > 0n ? (back / interval) * interval : 0n;
    if (since > this.#since) this.#since = since;
    // The held rows first; then `advance` flushes each table's pending changes.
    relations.flush();
    for (const table of this.#byId.values()) table.advance(this.#upper, this.#since);
    return true;
  }

  /**
   * Applies the queued events to the tables (at most `MAX_QUEUED` wait between steps). Rows held
   * within a log time (`ComputeRelations`) are written by `step` before the tables advance, or
   * here with `full` (a workload stepping late holds no more than one queue).
   */
  #drain(full = false): void {
    const relations = this.#relations;
    if (relations === undefined || this.#queue.length === 0) return;
    const interval = BigInt(this.#interval);
    const queue = this.#queue;
    const atMs = this.#queueAtMs;
    this.#queue = [];
    this.#queueAtMs = [];
    const floor = ((this.#upper + interval - 1n) / interval) * interval;
    // Consecutive events mostly share a millisecond: one log time computation per change.
    let lastMs = Number.NaN;
    let time = floor;
    for (let i = 0; i < queue.length; i++) {
      const ms = atMs[i]!;
      if (ms !== lastMs) {
        lastMs = ms;
        const t = logTime(ms, this.#interval);
        time = t > floor ? t : floor;
      }
      relations.apply(queue[i]!, time);
    }
    if (full) relations.flush();
  }

  close(): void {
    for (const table of this.#byId.values()) table.free();
    this.#byId = new Map();
    this.#byName = new Map();
    this.#relations = undefined;
    this.#queue = [];
    this.#queueAtMs = [];
    this.#logger = NO_LOGGER;
    this.#config = undefined;
    this.#interval = 0;
    this.#upper = 0n;
    this.#since = 0n;
    this.#directMs = Number.NaN;
  }
}
