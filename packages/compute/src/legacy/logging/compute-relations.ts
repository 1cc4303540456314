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
 * Likewise a new dataflow's writes are held until then (`HeldDataflows`): one created and dropped
 * within a log time touches no table.
 */

import {
  bucketOf,
  type ComputeLogEvent,
  DataflowRowKeys,
  HeldDataflows,
  type KeyCell,
} from "@mzts/mz-cluster/logging";
import { relationsOfScope } from "@mzts/protocol/domain";
import type { Row } from "@mzts/repr";
import type { LogTable } from "./log-table.js";

/** Relations whose rows go with their export / their dataflow (one list, in `@mzts/protocol`). */
const EXPORT_KEYED = relationsOfScope("export");
const DATAFLOW_KEYED = relationsOfScope("dataflow");

export class ComputeRelations {
  readonly #worker: bigint;
  readonly #tables: ReadonlyMap<string, LogTable>;
  /** Dataflow id → its live export ids. */
  readonly #dataflows = new Map<number, Set<string>>();
  /** Dataflow id → its datums and the keys of its per-tick rows (made once, not per change). */
  readonly #ids = new Map<number, DataflowRowKeys>();
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
  /** Writes of dataflows created at `#time` (keyed by their export sets). */
  readonly #held = new HeldDataflows<Set<string>>();
  /**
   * The last dataflow and export looked up, with what the maps give for them: a tick raises an
   * operator's events, then its export's, one dataflow after another, so most lookups hit here
   * (issue 16). Forgotten (`#forget`) whenever a dataflow or export comes or goes.
   */
  #lastDataflow = -1;
  #lastExports: Set<string> | undefined;
  #lastKeys: DataflowRowKeys | undefined;
  #lastExport: string | undefined;
  #lastOwner: Set<string> | undefined;
  #lastExportKeys: DataflowRowKeys | undefined;

  /** The tables of the per-tick events (undefined: not installed), looked up once. */
  readonly #elapsed: LogTable | undefined;
  readonly #frontiers: LogTable | undefined;
  readonly #importFrontiers: LogTable | undefined;
  readonly #sizes: LogTable | undefined;
  readonly #hydration: LogTable | undefined;
  readonly #errors: LogTable | undefined;

  /** `worker`: the `worker_id` of every row; `tables`: installed relations by name. */
  constructor(worker: number, tables: ReadonlyMap<string, LogTable>) {
    this.#worker = BigInt(worker);
    this.#tables = tables;
    this.#elapsed = tables.get("scheduling_elapsed");
    this.#frontiers = tables.get("compute_frontiers");
    this.#importFrontiers = tables.get("compute_import_frontiers");
    this.#sizes = tables.get("arrangement_sizes");
    this.#hydration = tables.get("hydration_times");
    this.#errors = tables.get("error_counts");
  }

  /** Writes the held rows (before the tables advance; `apply` does it when the time moves on). */
  flush(): void {
    const time = this.#time;
    if (time === undefined) return;
    this.#time = undefined;
    this.#held.flush();
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

  /** The rows of a `dataflowCreated`: dataflows, dataflow_exports, hydration_times, operators. */
  #writeCreated(e: Extract<ComputeLogEvent, { kind: "dataflowCreated" }>, time: bigint): void {
    const w = this.#worker;
    const t = this.#tables;
    const df = BigInt(e.dataflowId);
    t.get("dataflows")?.upsert([df, w, e.name], time);
    const exports = t.get("dataflow_exports");
    const hydration = t.get("hydration_times");
    for (const x of e.exports) {
      exports?.upsert([x.id, w, df, x.kind], time);
      hydration?.upsert([x.id, w, null], time);
    }
    const operators = t.get("operators");
    if (operators)
      for (const op of e.operators) operators.upsert([df, BigInt(op.id), w, op.name], time);
  }

  /** Moves the pending rows' log time to `time` (writing the held ones when it changes). */
  #at(time: bigint): void {
    if (time !== this.#time) {
      this.flush();
      this.#time = time;
    }
  }

  /** `apply` of an `operatorElapsed` event at `time`, without the event object. */
  operatorElapsed(dataflowId: number, operatorId: number, elapsedNs: number, time: bigint): void {
    this.#at(time);
    const table = this.#elapsed;
    if (table === undefined) return;
    if (dataflowId !== this.#lastDataflow) {
      this.#lastDataflow = dataflowId;
      this.#lastExports = this.#dataflows.get(dataflowId);
      this.#lastKeys = this.#ids.get(dataflowId);
    }
    const ids = this.#lastKeys;
    const ns = BigInt(Math.round(elapsedNs));
    if (ids === undefined || !DataflowRowKeys.caches(operatorId)) {
      const row = [BigInt(dataflowId), BigInt(operatorId), this.#worker, ns];
      this.#write(this.#lastExports, table, row, time);
      return;
    }
    const row = [ids.id, ids.operator(operatorId), this.#worker, ns];
    const key = ids.elapsedKey(operatorId, row, table.arrangement);
    this.#write(this.#lastExports, table, row, time, false, key);
  }

  /** The row keys of the live dataflow owning `exportId` (undefined: none). */
  #keysOfExport(exportId: string): DataflowRowKeys | undefined {
    if (exportId !== this.#lastExport) this.#lookUpExport(exportId);
    return this.#lastExportKeys;
  }

  /** Fills the last-export cache for `exportId`. */
  #lookUpExport(exportId: string): void {
    const df = this.#exportOf.get(exportId);
    this.#lastExport = exportId;
    this.#lastOwner = df === undefined ? undefined : this.#dataflows.get(df);
    this.#lastExportKeys = df === undefined ? undefined : this.#ids.get(df);
  }

  /** Forgets the last-lookup caches (a dataflow or an export came or went). */
  #forget(): void {
    this.#lastDataflow = -1;
    this.#lastExports = undefined;
    this.#lastKeys = undefined;
    this.#lastExport = undefined;
    this.#lastOwner = undefined;
    this.#lastExportKeys = undefined;
  }

  /** `apply` of an `exportFrontier` event at `time`, without the event object. */
  exportFrontier(exportId: string, frontier: bigint | null, time: bigint): void {
    this.#at(time);
    const table = this.#frontiers;
    if (table === undefined) return;
    const owner = this.#ownerOf(exportId);
    const w = this.#worker;
    if (frontier === null) this.#write(owner, table, [exportId, w], time, true);
    else {
      const row = [exportId, w, frontier];
      const key = this.#keysOfExport(exportId)?.frontierKey(exportId, row, table.arrangement);
      this.#write(owner, table, row, time, false, key);
    }
  }

  /** `apply` of an `importFrontier` event at `time`, without the event object. */
  importFrontier(exportId: string, importId: string, frontier: bigint | null, time: bigint): void {
    this.#at(time);
    const table = this.#importFrontiers;
    if (table === undefined) return;
    const owner = this.#ownerOf(exportId);
    const w = this.#worker;
    if (frontier === null) this.#write(owner, table, [exportId, importId, w], time, true);
    else {
      const row = [exportId, importId, w, frontier];
      const keys = this.#keysOfExport(exportId);
      const key = keys?.importKey(exportId, importId, row, table.arrangement);
      this.#write(owner, table, row, time, false, key);
    }
  }

  /** `apply` of an `arrangementSize` event at `time`, without the event object. */
  arrangementSize(
    exportId: string,
    records: number,
    batches: number,
    sizeBytes: number,
    time: bigint,
  ): void {
    this.#at(time);
    const table = this.#sizes;
    if (table === undefined) return;
    const row = [
      exportId,
      this.#worker,
      BigInt(records),
      BigInt(batches),
      BigInt(Math.round(sizeBytes)),
    ];
    const key = this.#keysOfExport(exportId)?.sizeKey(exportId, row, table.arrangement);
    this.#write(this.#ownerOf(exportId), table, row, time, false, key);
  }

  /** Applies one event at log time `time`. */
  apply(e: ComputeLogEvent, time: bigint): void {
    this.#at(time);
    const w = this.#worker;
    const t = this.#tables;
    switch (e.kind) {
      case "dataflowCreated": {
        this.#forget();
        let exports = this.#dataflows.get(e.dataflowId);
        if (exports === undefined) {
          this.#dataflows.set(e.dataflowId, (exports = new Set()));
          this.#ids.set(e.dataflowId, new DataflowRowKeys(e.dataflowId));
          // Held only while none of its rows can be in a table (no export id owned elsewhere).
          if (e.exports.every((x) => !this.#exportOf.has(x.id))) this.#held.hold(exports);
        }
        for (const x of e.exports) {
          exports.add(x.id);
          this.#exportOf.set(x.id, e.dataflowId);
        }
        // Rows are built when written: a dataflow dropped within its log time never builds them.
        this.#held.write(exports, () => this.#writeCreated(e, time));
        return;
      }
      case "dataflowDropped": {
        this.#forget();
        const exports = this.#dataflows.get(e.dataflowId);
        this.#dataflows.delete(e.dataflowId);
        this.#ids.delete(e.dataflowId);
        if (exports !== undefined && this.#held.discard(exports)) {
          for (const id of exports) this.#exportOf.delete(id);
          return;
        }
        const df = BigInt(e.dataflowId);
        for (const name of DATAFLOW_KEYED) t.get(name)?.deleteGroup(df, time);
        for (const id of exports ?? []) this.#dropExport(id, time);
        return;
      }
      case "exportDropped": {
        this.#forget();
        const df = this.#exportOf.get(e.exportId);
        if (df !== undefined) this.#ids.get(df)?.dropExport(e.exportId);
        const exports = this.#dataflows.get(df ?? -1);
        exports?.delete(e.exportId);
        this.#exportOf.delete(e.exportId);
        const drop = () => this.#dropExport(e.exportId, time);
        if (exports === undefined) drop();
        else this.#held.write(exports, drop);
        return;
      }
      case "operatorElapsed":
        this.operatorElapsed(e.dataflowId, e.operatorId, e.elapsedNs, time);
        return;
      case "exportFrontier":
        this.exportFrontier(e.exportId, e.time, time);
        return;
      case "importFrontier":
        this.importFrontier(e.exportId, e.importId, e.time, time);
        return;
      case "arrangementSize":
        this.arrangementSize(e.exportId, e.records, e.batches, e.sizeBytes, time);
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
        this.#write(
          this.#ownerOf(e.exportId),
          this.#hydration,
          [e.exportId, w, BigInt(Math.round(e.sinceCreatedNs))],
          time,
        );
        return;
      case "errorCount": {
        const owner = this.#ownerOf(e.exportId);
        const table = this.#errors;
        if (e.count === 0) this.#write(owner, table, [e.exportId, w], time, true);
        else this.#write(owner, table, [e.exportId, w, BigInt(e.count)], time);
        return;
      }
    }
  }

  /** The export set of the dataflow owning an export (the key of its held writes). */
  #ownerOf(exportId: string): Set<string> | undefined {
    if (exportId !== this.#lastExport) this.#lookUpExport(exportId);
    return this.#lastOwner;
  }

  /**
   * Upserts `row` (or, with `remove`, deletes the key `row`) at `time` into `table` (nothing when
   * not installed); held with its owner.
   */
  #write(
    owner: Set<string> | undefined,
    table: LogTable | undefined,
    row: Row,
    time: bigint,
    remove = false,
    key?: KeyCell,
  ) {
    if (table === undefined) return;
    if (owner !== undefined && this.#held.size > 0 && this.#held.holds(owner)) {
      this.#held.write(owner, () => writeNow(table, row, time, remove, key));
    } else writeNow(table, row, time, remove, key);
  }

  #dropExport(id: string, time: bigint): void {
    this.#forget();
    const df = this.#exportOf.get(id);
    if (df !== undefined) this.#ids.get(df)?.dropExport(id);
    this.#exportOf.delete(id);
    for (const name of EXPORT_KEYED) this.#tables.get(name)?.deleteGroup(id, time);
  }
}

/** `key`: the cell of the table's key of `row`, when the caller has it (`DataflowRowKeys`). */
function writeNow(table: LogTable, row: Row, time: bigint, remove: boolean, key?: KeyCell): void {
  if (remove) table.delete(row, time);
  else if (key !== undefined) table.upsertCell(row, key, time);
  else table.upsert(row, time);
}
