/**
 * `UnifiedLoggingHost`: the unified path's `LoggingHost` (phase 2, *logging*, flag on) — one
 * worker's logging dataflow (`log-dataflow.ts`), fed by this worker's own events (`logger`, the
 * compute worker) and by events other workloads' workers forwarded to it (`ingest`, the storage
 * workers routed here by the runtime: storage worker `s` → compute worker `s % W`).
 *
 * ## Flow
 * 1. `configure(config)` (at `CreateInstance`): when enabled with a positive interval, installs
 *    one log index per known `indexLogs` relation (unknown names are counted and ignored), and
 *    `logger` becomes a real logger; otherwise nothing is installed and `logger` is `NO_LOGGER`.
 *    The same configuration again (reconciliation) keeps everything; another one replaces it.
 *    `logLogging` is not implemented (the logging dataflow does not log itself).
 * 2. `logger.log(e)` / `ingest(events)` queue `LogEvent`s (O(1), no row work on the hot path;
 *    a queue of `MAX_QUEUED` events is applied at once, so memory stays bounded between steps).
 *    The logger's typed calls (the per-tick compute events, `ComputeEventLogger`) are applied
 *    at once instead, after the queue and at the row time a queued event would get: no event
 *    object nor queue entry per change (issue 16).
 * 3. `step(nowMs)` applies the queued events in order — each at row time
 *    `max(logTime(atMs), the smallest interval multiple >= upper)` (late events, e.g. forwarded
 *    ones, land at the next open log time) — through the relation families
 *    (`dataflow-updates.ts`, `peek-updates.ts`, `storage-updates.ts`; the first two hold a log
 *    time's rows until it ends, so what comes and goes within it costs no table work), then
 *    advances every log
 *    index's upper to `floor(nowMs / interval) * interval + 1` and compacts to
 *    `upper - 1 - retentionMs` rounded down to the interval (never back).
 *
 * ## Who drives `step`
 * The **workload** does (compute's `ComputeState.maintain()` calls `logging.step(Date.now())`),
 * exactly as it does for the legacy host; the runtime never steps the host. `step` is cheap and
 * idempotent for an unchanged `nowMs`, so an extra call costs nothing.
 *
 * Nothing throws out of the host: a malformed event is counted (`rejected`) and skipped.
 */
import type { LoggingConfig } from "@mzts/protocol";
import { logRelation, logTime } from "@mzts/protocol/domain";
import type { Timestamp } from "@mzts/repr";
import { DataflowUpdates, isDataflowEvent } from "./dataflow-updates.js";
import { type ComputeEventLogger, type LogEvent, type LogEventBody, NO_LOGGER } from "./events.js";
import { LOG_RETENTION_MS, type LoggingHost, type LogIndex } from "./host.js";
import { LogDataflow, type LogInstall } from "./log-dataflow.js";
import { isPeekEvent, PeekUpdates } from "./peek-updates.js";
import { applyStorageEvent, isStorageEvent } from "./storage-updates.js";

/**
 * Which forwarded events a host wants, reported at every `configure` that changes the
 * installation: storage's only when a storage relation is installed. A report with `storage`
 * means a fresh installation that holds no storage rows yet: forwarders re-arm, so the raisers
 * send their current state again.
 */
export interface LoggingDemand {
  readonly storage: boolean;
}

/** What a host has done (the runtime sums it over workers for `/metrics`). */
export interface LoggingStats {
  /** Events applied, by the workload that raised them. */
  readonly events: { readonly compute: number; readonly storage: number };
  /** Records held by the log indexes (arrangement entries). */
  readonly records: number;
  /** Malformed events skipped. */
  readonly rejected: number;
  /** Events about unknown (never created or dropped) dataflows and exports, skipped. */
  readonly orphans: number;
  /** `indexLogs` entries naming no relation. */
  readonly unknownRelations: number;
}

export interface UnifiedLoggingHostOptions {
  /** The worker this host runs on: the `worker` of its own events. */
  readonly worker: number;
  /** Wall clock (ms) stamped on own events; default `Date.now`. */
  readonly clock?: () => number;
  /** History kept behind the upper; default `LOG_RETENTION_MS`. */
  readonly retentionMs?: number;
  /** Called after every `configure` that changes the installation, and at `close`. */
  readonly onDemand?: (demand: LoggingDemand) => void;
}

/** An installed configuration. */
interface Active {
  readonly intervalMs: number;
  readonly dataflow: LogDataflow;
  readonly dataflows: DataflowUpdates;
  readonly peeks: PeekUpdates;
}

/** The unified logging of one worker; see the file comment. */
export class UnifiedLoggingHost implements LoggingHost {
  readonly worker: number;
  readonly #clock: () => number;
  readonly #retentionMs: number;
  readonly #onDemand: ((d: LoggingDemand) => void) | undefined;
  /** The installed configuration; undefined while logging is off. */
  #active: Active | undefined;
  /** Identity of the last configuration (`configure` with the same one keeps everything). */
  #configKey: string | undefined;
  /** Events logged or ingested, not yet applied; emptied by `step`. */
  #queue: LogEvent[] = [];
  /** Upper of every log index (0 until the first `step`). */
  #upper = 0n;
  /** Since of every log index; only advances. */
  #since = 0n;
  readonly #local: ComputeEventLogger;
  #events = { compute: 0, storage: 0 };
  #rejected = 0;
  #orphansBefore = 0;
  #unknown = 0;
  /** The row time of the last typed call, for its `atMs` and upper (`#direct`). */
  #directMs = Number.NaN;
  #directUpper = -1n;
  #directTime: Timestamp = 0n;

  constructor(opts: UnifiedLoggingHostOptions) {
    this.worker = opts.worker;
    this.#clock = opts.clock ?? Date.now;
    this.#retentionMs = opts.retentionMs ?? LOG_RETENTION_MS;
    this.#onDemand = opts.onDemand;
    const queue = (event: LogEventBody) => {
      if (this.#queue.push({ worker: this.worker, atMs: this.#clock(), event }) >= MAX_QUEUED) {
        this.#drain();
      }
    };
    // The per-tick events are applied at once (after the queue, so in logging order), at the
    // row time `#drain` would give them: no event object, no queue entry (issue 16).
    const worker = this.worker;
    this.#local = Object.freeze({
      enabled: true,
      log: queue,
      operatorElapsed: (dataflowId: number, operatorId: number, elapsedNs: number) => {
        const active = this.#direct();
        if (active === undefined) return;
        try {
          active.dataflows.operatorElapsed(worker, dataflowId, operatorId, elapsedNs);
          this.#events.compute++;
        } catch {
          this.#rejected++;
        }
      },
      exportFrontier: (exportId: string, time: bigint | null) => {
        const active = this.#direct();
        if (active === undefined) return;
        try {
          active.dataflows.exportFrontier(worker, exportId, time);
          this.#events.compute++;
        } catch {
          this.#rejected++;
        }
      },
      importFrontier: (exportId: string, importId: string, time: bigint | null) => {
        const active = this.#direct();
        if (active === undefined) return;
        try {
          active.dataflows.importFrontier(worker, exportId, importId, time);
          this.#events.compute++;
        } catch {
          this.#rejected++;
        }
      },
      arrangementSize: (exportId: string, records: number, batches: number, sizeBytes: number) => {
        const active = this.#direct();
        if (active === undefined) return;
        try {
          active.dataflows.arrangementSize(worker, exportId, records, batches, sizeBytes);
          this.#events.compute++;
        } catch {
          this.#rejected++;
        }
      },
    });
  }

  /**
   * Makes the tables ready for one of this worker's events logged now, applied at once: the
   * queue applied first (logging order), then the tables at the event's row time (what `#drain`
   * gives an event of this `atMs`). Undefined when nothing is installed or the clock reads no
   * valid time (counted as rejected, as `#drain` does).
   */
  #direct(): Active | undefined {
    const active = this.#active;
    if (active === undefined) return undefined;
    if (this.#queue.length > 0) this.#drain();
    const atMs = this.#clock();
    let time: Timestamp;
    if (atMs === this.#directMs && this.#directUpper === this.#upper) time = this.#directTime;
    else {
      try {
        const t = logTime(atMs, active.intervalMs);
        const open = ceilTo(this.#upper, BigInt(active.intervalMs));
        // biome-ignore lint/complexity/useMathMinMax: bigints (Math.max takes numbers)
        time = t > open ? t : open;
      } catch {
        this.#rejected++;
        return undefined;
      }
      this.#directMs = atMs;
      this.#directUpper = this.#upper;
      this.#directTime = time;
    }
    if (time !== active.dataflow.time) {
      // Held rows belong to the time that ends here.
      this.#rejected += flushHeld(active);
      active.dataflow.at(time);
    }
    return active;
  }

  /** `NO_LOGGER` until configured with logging enabled and a relation installed. */
  get logger(): ComputeEventLogger {
    return this.#active === undefined ? NO_LOGGER : this.#local;
  }

  /** Events waiting for the next `step` (fewer than `MAX_QUEUED`). */
  get queued(): number {
    return this.#queue.length;
  }

  configure(config: LoggingConfig): void {
    const key = configKey(config);
    if (key === this.#configKey) return;
    this.#configKey = key;
    this.#teardown();
    if (config.enabled && Number.isInteger(config.intervalMs) && config.intervalMs > 0) {
      const installs: LogInstall[] = [];
      const seen = new Set<string>();
      for (const [name, id] of config.indexLogs) {
        const relation = logRelation(name);
        if (relation === undefined || seen.has(relation.name)) {
          this.#unknown++;
          continue;
        }
        seen.add(relation.name);
        installs.push({ id, relation });
      }
      if (installs.length > 0) {
        const dataflow = new LogDataflow(installs, `logging/worker-${this.worker}`);
        this.#active = {
          intervalMs: config.intervalMs,
          dataflow,
          dataflows: new DataflowUpdates(dataflow),
          peeks: new PeekUpdates(dataflow),
        };
      }
    }
    this.#onDemand?.({ storage: this.#active?.dataflow.hasWorkload("storage") ?? false });
  }

  /** Queues events forwarded from other workers (kept with their worker and time). */
  ingest(events: readonly LogEvent[]): void {
    if (this.#active === undefined) return;
    for (const e of events) this.#queue.push(e);
    if (this.#queue.length >= MAX_QUEUED) this.#drain();
  }

  index(id: string): LogIndex | undefined {
    return this.#active?.dataflow.index(id);
  }

  step(nowMs: number): boolean {
    const active = this.#active;
    if (active === undefined || !Number.isFinite(nowMs)) return false;
    const interval = active.intervalMs;
    const worked = this.#drain();
    const lastComplete = Math.floor(nowMs / interval) * interval;
    const upper = BigInt(lastComplete + 1);
    const advanced = upper > this.#upper;
    if (advanced) {
      this.#upper = upper;
      this.#rejected += flushHeld(active);
      active.dataflow.advance(upper);
    }
    const since = BigInt(Math.floor((lastComplete - this.#retentionMs) / interval) * interval);
    if (since > this.#since) {
      this.#since = since;
      active.dataflow.compact(since);
    }
    return worked || advanced;
  }

  /**
   * Applies the queued events (at the current upper's open log time or later); true when there
   * were any. Also run when the queue reaches `MAX_QUEUED`, so a workload that steps late holds
   * at most one row change per key, not every event.
   */
  #drain(): boolean {
    const active = this.#active;
    if (active === undefined || this.#queue.length === 0) return false;
    const queue = this.#queue;
    this.#queue = [];
    const open = ceilTo(this.#upper, BigInt(active.intervalMs));
    // Consecutive events mostly share a millisecond: one log time per distinct `atMs`.
    let lastMs = Number.NaN;
    let time = open;
    for (const e of queue) {
      if (e.atMs !== lastMs) {
        try {
          const t = logTime(e.atMs, active.intervalMs);
          // biome-ignore lint/complexity/useMathMinMax: bigints (Math.max takes numbers)
          time = t > open ? t : open;
          lastMs = e.atMs;
        } catch {
          this.#rejected++;
          continue;
        }
      }
      this.#apply(active, e, time);
    }
    return true;
  }

  /** What this host has done so far. */
  stats(): LoggingStats {
    return {
      events: { ...this.#events },
      records: this.#active?.dataflow.records ?? 0,
      rejected: this.#rejected,
      orphans: this.#orphansBefore + (this.#active?.dataflows.orphans ?? 0),
      unknownRelations: this.#unknown,
    };
  }

  close(): void {
    const had = this.#active !== undefined;
    this.#teardown();
    this.#configKey = undefined;
    if (had) this.#onDemand?.({ storage: false });
  }

  /** Applies one event at its row time `time`. */
  #apply(active: Active, e: LogEvent, time: Timestamp): void {
    try {
      if (time !== active.dataflow.time) {
        // Held rows belong to the time that ends here.
        this.#rejected += flushHeld(active);
        active.dataflow.at(time);
      }
      const body = e.event;
      if (isDataflowEvent(body)) {
        active.dataflows.apply(e.worker, body);
        this.#events.compute++;
      } else if (isPeekEvent(body)) {
        active.peeks.apply(e.worker, body);
        this.#events.compute++;
      } else if (isStorageEvent(body)) {
        applyStorageEvent(active.dataflow, e.worker, body);
        this.#events.storage++;
      } else this.#rejected++;
    } catch {
      this.#rejected++;
    }
  }

  #teardown(): void {
    if (this.#active !== undefined) {
      this.#orphansBefore += this.#active.dataflows.orphans;
      this.#active.dataflow.close();
    }
    this.#active = undefined;
    this.#queue = [];
    this.#upper = 0n;
    this.#since = 0n;
    this.#directMs = Number.NaN;
  }
}

/** Writes the rows the relation families hold back within a log time (at the tables' time). */
function flushHeld(active: Active): number {
  const failed = active.dataflows.flush();
  active.peeks.flush();
  return failed;
}

/** Most events queued before they are applied without waiting for `step`. */
const MAX_QUEUED = 65_536;

/** The smallest multiple of `interval` at or past `t`. */
function ceilTo(t: bigint, interval: bigint): bigint {
  return ((t + interval - 1n) / interval) * interval;
}

function configKey(c: LoggingConfig): string {
  const logs = [...c.indexLogs].map(([k, v]) => `${k}=${v}`).sort();
  return JSON.stringify([c.enabled, c.intervalMs, logs]);
}
