/**
 * The introspection events (phase 2, *logging*): what a workload's worker tells its logger.
 * Both logging paths consume exactly these: compute's legacy logging
 * (`@mzts/compute` `legacy/logging/`, compute events only) and the unified logging dataflows
 * (`./logging`, every workload). The relations they feed are in `@mzts/protocol`
 * (`LOG_RELATIONS`); which event feeds which relation is written next to each event.
 *
 * ## Rules for the side that raises events
 * - State events carry the **current** value (a total, not a delta): the logger keeps one row per
 *   key and replaces it. Raise them when the value changes; raising an unchanged value is allowed
 *   and logs nothing.
 * - Hot paths (operator scheduling, arrangement sizes, frontiers) are sampled by the raiser at most
 *   once per maintenance tick; a logger that is disabled (interval 0) is `NO_LOGGER`, whose
 *   `enabled` is false, so raisers skip building events at all.
 * - `atMs` is wall-clock milliseconds (`Date.now()`) when the event happened; the logger rounds it
 *   up to its interval (`logTime`). `atNs` fields are `performance.now()`-based nanoseconds, only
 *   ever subtracted from each other on the same worker.
 */

/** An export's kind in `dataflow_exports`. */
export type ExportKind = "index" | "subscribe" | "persistSink";

/** Events raised by compute workers. */
export type ComputeLogEvent =
  /** → dataflows, dataflow_exports, operators; starts the hydration clock of its exports. */
  | {
      readonly kind: "dataflowCreated";
      readonly dataflowId: number;
      readonly name: string;
      readonly exports: readonly { readonly id: string; readonly kind: ExportKind }[];
      readonly operators: readonly { readonly id: number; readonly name: string }[];
      /** Ids of the dataflow's imports (sources and indexes), for import frontiers. */
      readonly imports: readonly string[];
    }
  /** Retracts every row of the dataflow (and of its exports) in every relation. */
  | { readonly kind: "dataflowDropped"; readonly dataflowId: number }
  /** One export dropped while its dataflow lives on: retracts the export's rows. */
  | { readonly kind: "exportDropped"; readonly exportId: string }
  /** → scheduling_elapsed (the operator's total so far). */
  | {
      readonly kind: "operatorElapsed";
      readonly dataflowId: number;
      readonly operatorId: number;
      readonly elapsedNs: number;
    }
  /** → compute_frontiers; `null` (empty) retracts the row. */
  | { readonly kind: "exportFrontier"; readonly exportId: string; readonly time: bigint | null }
  /** → compute_import_frontiers; `null` (empty) retracts the row. */
  | {
      readonly kind: "importFrontier";
      readonly exportId: string;
      readonly importId: string;
      readonly time: bigint | null;
    }
  /** → arrangement_sizes (an index export's arrangement). */
  | {
      readonly kind: "arrangementSize";
      readonly exportId: string;
      readonly records: number;
      readonly batches: number;
      readonly sizeBytes: number;
    }
  /** → active_peeks (inserted). */
  | {
      readonly kind: "peekStarted";
      readonly uuid: string;
      readonly objectId: string;
      readonly time: bigint;
      readonly atNs: number;
    }
  /** → active_peeks (retracted) and one more count in peek_durations' bucket. */
  | { readonly kind: "peekEnded"; readonly uuid: string; readonly atNs: number }
  /** → hydration_times: `sinceCreatedNs` = time from `dataflowCreated` to hydration. */
  | { readonly kind: "hydrated"; readonly exportId: string; readonly sinceCreatedNs: number }
  /** → error_counts; 0 retracts the row. */
  | { readonly kind: "errorCount"; readonly exportId: string; readonly count: number };

/** Events raised by storage workers (unified logging only). */
export type StorageLogEvent =
  /** → ingestion_frontiers; `null` (empty) retracts the row. */
  | { readonly kind: "ingestionFrontier"; readonly sourceId: string; readonly upper: bigint | null }
  /** → ingestion_statistics (totals). */
  | {
      readonly kind: "ingestionStatistics";
      readonly sourceId: string;
      readonly updates: number;
      readonly bytes: number;
      readonly messages: number;
      readonly snapshotCommitted: boolean;
    }
  /** → source_status. */
  | {
      readonly kind: "sourceStatus";
      readonly sourceId: string;
      readonly status: string;
      readonly error: string | null;
    }
  /** The source was dropped: retracts its rows in every storage relation. */
  | { readonly kind: "sourceDropped"; readonly sourceId: string };

export type LogEventBody = ComputeLogEvent | StorageLogEvent;

/** An event as it travels: who logged it and when (wall clock, ms). */
export interface LogEvent {
  readonly worker: number;
  readonly atMs: number;
  readonly event: LogEventBody;
}

/** What a workload's worker writes introspection events to. */
export interface EventLogger {
  /** False when logging is disabled (interval 0): raisers skip the work of building events. */
  readonly enabled: boolean;
  /** Logs one event of this worker, now. */
  log(event: LogEventBody): void;
}

/**
 * A compute worker's logger: `EventLogger` plus the per-tick compute events as typed calls
 * (issue 16: ~7 of them per dataflow and second at idle). Each call is exactly
 * `log({ kind: <the method's name>, ...its arguments })`; a host may apply it without building
 * the event object (both hosts do). Events that cross threads, and the rare ones, stay objects.
 */
export interface ComputeEventLogger extends EventLogger {
  /** `log({ kind: "operatorElapsed", dataflowId, operatorId, elapsedNs })`. */
  operatorElapsed(dataflowId: number, operatorId: number, elapsedNs: number): void;
  /** `log({ kind: "exportFrontier", exportId, time })`. */
  exportFrontier(exportId: string, time: bigint | null): void;
  /** `log({ kind: "importFrontier", exportId, importId, time })`. */
  importFrontier(exportId: string, importId: string, time: bigint | null): void;
  /** `log({ kind: "arrangementSize", exportId, records, batches, sizeBytes })`. */
  arrangementSize(exportId: string, records: number, batches: number, sizeBytes: number): void;
}

/**
 * A `ComputeEventLogger` whose typed calls build the event and `log` it (for loggers that keep
 * every event as an object: forwarders, tests).
 */
export function eventLogger(
  log: (event: LogEventBody) => void,
  enabled = true,
): ComputeEventLogger {
  return Object.freeze({
    enabled,
    log,
    operatorElapsed: (dataflowId: number, operatorId: number, elapsedNs: number) =>
      log({ kind: "operatorElapsed", dataflowId, operatorId, elapsedNs }),
    exportFrontier: (exportId: string, time: bigint | null) =>
      log({ kind: "exportFrontier", exportId, time }),
    importFrontier: (exportId: string, importId: string, time: bigint | null) =>
      log({ kind: "importFrontier", exportId, importId, time }),
    arrangementSize: (exportId: string, records: number, batches: number, sizeBytes: number) =>
      log({ kind: "arrangementSize", exportId, records, batches, sizeBytes }),
  });
}

/** The logger of a worker whose logging is disabled or not configured yet. */
export const NO_LOGGER: ComputeEventLogger = eventLogger(() => {}, false);
