// PHASE(logging): legacy — delete when cluster-unification-logging is retired
/**
 * `ComputeRelations`: the event → row rules of compute's relations (TEAM contract, the same as
 * the unified logging dataflows'), applied by compute's legacy logging to its `LogTable`s. A
 * relation not installed (not in `indexLogs`) is skipped; what the rules remember (a dataflow's
 * exports, peek starts, duration counts) is kept regardless.
 *
 * | event | rows |
 * |---|---|
 * | dataflowCreated | dataflows, dataflow_exports and hydration_times (null) per export, operators per operator |
 * | dataflowDropped | every row of the dataflow id, and every export-keyed row of its exports |
 * | exportDropped | the export's dataflow_exports row and export-keyed rows |
 * | operatorElapsed, exportFrontier, importFrontier, arrangementSize, hydrated, errorCount | upsert (a null frontier or a 0 count retracts) |
 * | peekStarted / peekEnded | active_peeks insert / retract; peek_durations count += 1 in the duration's bucket |
 *
 * Peeks are the hot path: within one log time, a peek's active row is written only if it is
 * still pending at `flush()` (or when the time moves on), and each duration bucket's count once.
 */
import type { ComputeLogEvent } from "@mzts/mz-cluster/logging";
import { durationBucket } from "@mzts/protocol";
import type { Row } from "@mzts/repr";
import type { LogTable } from "./log-table.js";

/** Relations keyed (first column) by export id. */
const EXPORT_KEYED = [
  "dataflow_exports",
  "compute_frontiers",
  "compute_import_frontiers",
  "arrangement_sizes",
  "hydration_times",
  "error_counts",
] as const;

/** Relations keyed (first column) by dataflow id. */
const DATAFLOW_KEYED = ["dataflows", "operators", "scheduling_elapsed"] as const;

export class ComputeRelations {
  readonly #worker: bigint;
  readonly #tables: ReadonlyMap<string, LogTable>;
  /** Dataflow id → its live export ids. */
  readonly #dataflows = new Map<number, Set<string>>();
  /** Export id → its dataflow id. */
  readonly #exportOf = new Map<string, number>();
  /** Peek uuid → `atNs` of its start. */
  readonly #peekStarts = new Map<string, number>();
  /** Duration bucket → answered peeks (this worker). */
  readonly #durations = new Map<bigint, bigint>();
  /** The log time of the pending peek rows. */
  #time: bigint | undefined;
  /** Peeks started at `#time` whose active row is not written yet. */
  readonly #startedRows = new Map<string, Row>();
  /** Buckets whose count changed at `#time`. */
  readonly #countedBuckets = new Set<bigint>();

  /** `worker`: the `worker_id` of every row; `tables`: installed relations by name. */
  constructor(worker: number, tables: ReadonlyMap<string, LogTable>) {
    this.#worker = BigInt(worker);
    this.#tables = tables;
  }

  /** Writes the pending peek rows (call after the last event of a step). */
  flush(): void {
    const time = this.#time;
    if (time === undefined) return;
    this.#time = undefined;
    const active = this.#tables.get("active_peeks");
    if (active) for (const row of this.#startedRows.values()) active.upsert(row, time);
    this.#startedRows.clear();
    const durations = this.#tables.get("peek_durations");
    if (durations) {
      for (const b of this.#countedBuckets) {
        durations.upsert([this.#worker, b, this.#durations.get(b)!], time);
      }
    }
    this.#countedBuckets.clear();
  }

  /** Applies one event at log time `time`. */
  apply(e: ComputeLogEvent, time: bigint): void {
    if (time !== this.#time) {
      this.flush();
      this.#time = time;
    }
    const w = this.#worker;
    const t = this.#tables;
    switch (e.kind) {
      case "dataflowCreated": {
        const df = BigInt(e.dataflowId);
        t.get("dataflows")?.upsert([df, w, e.name], time);
        const exports = this.#dataflows.get(e.dataflowId) ?? new Set<string>();
        this.#dataflows.set(e.dataflowId, exports);
        for (const x of e.exports) {
          exports.add(x.id);
          this.#exportOf.set(x.id, e.dataflowId);
          t.get("dataflow_exports")?.upsert([x.id, w, df, x.kind], time);
          t.get("hydration_times")?.upsert([x.id, w, null], time);
        }
        const ops = t.get("operators");
        if (ops) for (const op of e.operators) ops.upsert([df, BigInt(op.id), w, op.name], time);
        return;
      }
      case "dataflowDropped": {
        const df = BigInt(e.dataflowId);
        for (const name of DATAFLOW_KEYED) t.get(name)?.deleteGroup(df, time);
        for (const id of this.#dataflows.get(e.dataflowId) ?? []) this.#dropExport(id, time);
        this.#dataflows.delete(e.dataflowId);
        return;
      }
      case "exportDropped":
        this.#dataflows.get(this.#exportOf.get(e.exportId) ?? -1)?.delete(e.exportId);
        this.#dropExport(e.exportId, time);
        return;
      case "operatorElapsed":
        t.get("scheduling_elapsed")?.upsert(
          [BigInt(e.dataflowId), BigInt(e.operatorId), w, BigInt(Math.round(e.elapsedNs))],
          time,
        );
        return;
      case "exportFrontier": {
        const table = t.get("compute_frontiers");
        if (e.time === null) table?.delete([e.exportId, w], time);
        else table?.upsert([e.exportId, w, e.time], time);
        return;
      }
      case "importFrontier": {
        const table = t.get("compute_import_frontiers");
        if (e.time === null) table?.delete([e.exportId, e.importId, w], time);
        else table?.upsert([e.exportId, e.importId, w, e.time], time);
        return;
      }
      case "arrangementSize":
        t.get("arrangement_sizes")?.upsert(
          [e.exportId, w, BigInt(e.records), BigInt(e.batches), BigInt(Math.round(e.sizeBytes))],
          time,
        );
        return;
      case "peekStarted":
        this.#peekStarts.set(e.uuid, e.atNs);
        this.#startedRows.set(e.uuid, [e.uuid, w, e.objectId, e.time]);
        return;
      case "peekEnded": {
        if (!this.#startedRows.delete(e.uuid)) t.get("active_peeks")?.delete([e.uuid, w], time);
        const start = this.#peekStarts.get(e.uuid);
        if (start === undefined) return;
        this.#peekStarts.delete(e.uuid);
        const bucket = bucketOf(e.atNs - start);
        this.#durations.set(bucket, (this.#durations.get(bucket) ?? 0n) + 1n);
        this.#countedBuckets.add(bucket);
        return;
      }
      case "hydrated":
        t.get("hydration_times")?.upsert(
          [e.exportId, w, BigInt(Math.round(e.sinceCreatedNs))],
          time,
        );
        return;
      case "errorCount": {
        const table = t.get("error_counts");
        if (e.count === 0) table?.delete([e.exportId, w], time);
        else table?.upsert([e.exportId, w, BigInt(e.count)], time);
        return;
      }
    }
  }

  #dropExport(id: string, time: bigint): void {
    this.#exportOf.delete(id);
    for (const name of EXPORT_KEYED) this.#tables.get(name)?.deleteGroup(id, time);
  }
}

/** `2^i` as bigints, by `i` (filled on demand). */
const POWERS: bigint[] = [];

/** `durationBucket(ns)` without bigint arithmetic for durations below 2^30 ns (~1 s). */
export function bucketOf(ns: number): bigint {
  const d = Math.max(1, Math.ceil(ns));
  if (!(d <= 2 ** 30)) return durationBucket(ns);
  const exp = d === 1 ? 0 : 32 - Math.clz32(d - 1);
  let b = POWERS[exp];
  if (b === undefined) POWERS[exp] = b = 1n << BigInt(exp);
  return b;
}
