/**
 * `DataflowUpdates`: compute's dataflow events → rows of the dataflow-shaped relations
 * (`dataflows`, `dataflow_exports`, `operators`, `scheduling_elapsed`, `compute_frontiers`,
 * `compute_import_frontiers`, `arrangement_sizes`, `hydration_times`, `error_counts`), exactly as
 * the semantics table in the team notes (and `events.ts`) defines them.
 *
 * It remembers, per worker, each live dataflow's exports and imports (from `dataflowCreated`
 * until `dataflowDropped`), which is what a drop needs to retract every row of the dataflow and
 * of its exports.
 *
 * ## Held writes
 * A dataflow's writes are held from its creation until `flush` (`HeldDataflows`): one created and
 * dropped within a log time writes nothing. The host flushes before the log time moves on and
 * before the log indexes advance.
 *
 * ## Late and orphan events
 * An event about a dataflow or export this logger does not know (never created, or already
 * dropped — e.g. a frontier sampled just before the drop was applied) is ignored and counted
 * (`orphans`): logging it would leave a row nothing ever retracts.
 */
import { relationsOfScope } from "@mzts/protocol/domain";
import type { Row } from "@mzts/repr";
import type { ComputeLogEvent } from "./events.js";
import { HeldDataflows } from "./held-dataflows.js";
import type { LogTable } from "./log-table.js";
import { DataflowRowKeys, type KeyCell } from "./row-keys.js";

/** The tables this family writes (undefined = relation not installed). */
export interface TableLookup {
  table(name: string): LogTable | undefined;
}

/** Relations whose rows go with their export / their dataflow (one list, in `@mzts/protocol`). */
const EXPORT_KEYED = relationsOfScope("export");
const DATAFLOW_KEYED = relationsOfScope("dataflow");

interface LiveDataflow {
  /** Export ids not dropped. */
  readonly exports: Set<string>;
  /** Import ids: an import frontier of another id is an orphan. */
  readonly imports: readonly string[];
  /** Its id datums and per-tick row keys (made once, not per change). */
  readonly keys: DataflowRowKeys;
}

type DataflowEvent = Exclude<ComputeLogEvent, { kind: "peekStarted" } | { kind: "peekEnded" }>;

/** Whether an event belongs to this family. */
export function isDataflowEvent(e: { readonly kind: string }): e is DataflowEvent {
  return DATAFLOW_KINDS.has(e.kind);
}

const DATAFLOW_KINDS: ReadonlySet<string> = new Set([
  "dataflowCreated",
  "dataflowDropped",
  "exportDropped",
  "operatorElapsed",
  "exportFrontier",
  "importFrontier",
  "arrangementSize",
  "hydrated",
  "errorCount",
]);

/** One host's dataflow family; see the file comment. */
export class DataflowUpdates {
  readonly #tables: TableLookup;
  /** Per worker: dataflow id → live dataflow, from created until dropped. */
  readonly #dataflows = new Map<number, Map<number, LiveDataflow>>();
  /** Per worker: export id → its dataflow's id, while the export lives. */
  readonly #exports = new Map<number, Map<string, number>>();
  /** Live dataflows over every worker. */
  #count = 0;
  /** `worker_id` datum per worker (one bigint each, not one per event). */
  readonly #workerIds: bigint[] = [];
  /** Writes of dataflows created since the last flush. */
  readonly #held = new HeldDataflows<LiveDataflow>();
  /** Events about unknown dataflows or exports, ignored. */
  orphans = 0;

  constructor(tables: TableLookup) {
    this.#tables = tables;
  }

  /** Live dataflows remembered (bounded by what the workers run). */
  get dataflows(): number {
    return this.#count;
  }

  /** `worker`'s live dataflows by id (created on first use). */
  #dataflowsOf(worker: number): Map<number, LiveDataflow> {
    let m = this.#dataflows.get(worker);
    if (m === undefined) this.#dataflows.set(worker, (m = new Map()));
    return m;
  }

  /** `worker`'s live exports → their dataflow ids (created on first use). */
  #exportsOf(worker: number): Map<string, number> {
    let m = this.#exports.get(worker);
    if (m === undefined) this.#exports.set(worker, (m = new Map()));
    return m;
  }

  /** The `worker_id` datum of `worker`. */
  #workerId(worker: number): bigint {
    return worker >= 0 && worker < 1024
      ? (this.#workerIds[worker] ??= BigInt(worker))
      : BigInt(worker);
  }

  /** `apply` of an `operatorElapsed` event, without the event object. */
  operatorElapsed(worker: number, dataflowId: number, operatorId: number, elapsedNs: number): void {
    const live = this.#dataflowsOf(worker).get(dataflowId);
    if (live === undefined) {
      this.orphans++;
      return;
    }
    const ns = int(elapsedNs);
    const w = this.#workerId(worker);
    if (!DataflowRowKeys.caches(operatorId)) {
      this.#write(live, "scheduling_elapsed", [live.keys.id, BigInt(operatorId), w, ns], false);
      return;
    }
    const row = [live.keys.id, live.keys.operator(operatorId), w, ns];
    const table = this.#tables.table("scheduling_elapsed");
    if (table === undefined) return;
    this.#write(
      live,
      "scheduling_elapsed",
      row,
      false,
      live.keys.elapsedKey(operatorId, row, table),
      table,
    );
  }

  /** `apply` of an `exportFrontier` event, without the event object. */
  exportFrontier(worker: number, exportId: string, time: bigint | null): void {
    const live = this.#ownerOf(worker, exportId);
    if (live === undefined) return;
    const w = this.#workerId(worker);
    if (time === null) this.#write(live, "compute_frontiers", [exportId, w], true);
    else {
      const row = [exportId, w, time];
      const table = this.#tables.table("compute_frontiers");
      if (table === undefined) return;
      const key = live.keys.frontierKey(exportId, row, table);
      this.#write(live, "compute_frontiers", row, false, key, table);
    }
  }

  /** `apply` of an `importFrontier` event, without the event object. */
  importFrontier(worker: number, exportId: string, importId: string, time: bigint | null): void {
    const live = this.#ownerOf(worker, exportId);
    if (live === undefined) return;
    if (!live.imports.includes(importId)) {
      this.orphans++;
      return;
    }
    const w = this.#workerId(worker);
    if (time === null) {
      this.#write(live, "compute_import_frontiers", [exportId, importId, w], true);
      return;
    }
    const row = [exportId, importId, w, time];
    const table = this.#tables.table("compute_import_frontiers");
    if (table === undefined) return;
    const key = live.keys.importKey(exportId, importId, row, table);
    this.#write(live, "compute_import_frontiers", row, false, key, table);
  }

  /** `apply` of an `arrangementSize` event, without the event object. */
  arrangementSize(
    worker: number,
    exportId: string,
    records: number,
    batches: number,
    sizeBytes: number,
  ): void {
    const live = this.#ownerOf(worker, exportId);
    if (live === undefined) return;
    const row = [exportId, this.#workerId(worker), int(records), int(batches), int(sizeBytes)];
    const table = this.#tables.table("arrangement_sizes");
    if (table === undefined) return;
    const cell = live.keys.sizeKey(exportId, row, table);
    this.#write(live, "arrangement_sizes", row, false, cell, table);
  }

  /** The live dataflow owning a live export of `worker` (undefined: an orphan, counted). */
  #ownerOf(worker: number, exportId: string): LiveDataflow | undefined {
    const owner = this.#exportsOf(worker).get(exportId);
    const live = owner === undefined ? undefined : this.#dataflowsOf(worker).get(owner);
    if (live === undefined) this.orphans++;
    return live;
  }

  /** Applies one event of `worker` at the tables' current time (held writes wait for `flush`). */
  apply(worker: number, e: DataflowEvent): void {
    switch (e.kind) {
      case "operatorElapsed":
        this.operatorElapsed(worker, e.dataflowId, e.operatorId, e.elapsedNs);
        return;
      case "exportFrontier":
        this.exportFrontier(worker, e.exportId, e.time);
        return;
      case "importFrontier":
        this.importFrontier(worker, e.exportId, e.importId, e.time);
        return;
      case "arrangementSize":
        this.arrangementSize(worker, e.exportId, e.records, e.batches, e.sizeBytes);
        return;
    }
    const w = this.#workerId(worker);
    const dataflows = this.#dataflowsOf(worker);
    const exports = this.#exportsOf(worker);
    switch (e.kind) {
      case "dataflowCreated": {
        checkCreated(e);
        if (dataflows.has(e.dataflowId)) this.#dropDataflow(worker, e.dataflowId);
        const live: LiveDataflow = {
          exports: new Set(e.exports.map((x) => x.id)),
          imports: e.imports.slice(),
          keys: new DataflowRowKeys(e.dataflowId),
        };
        dataflows.set(e.dataflowId, live);
        this.#count++;
        // An export id still owned by another dataflow (not a valid plan) has rows in a table.
        if (e.exports.every((x) => !exports.has(x.id))) this.#held.hold(live);
        for (const x of e.exports) exports.set(x.id, e.dataflowId);
        // Rows are built only when written (most held dataflows never are).
        this.#held.write(live, () => this.#writeCreated(w, e));
        return;
      }
      case "dataflowDropped":
        if (!dataflows.has(e.dataflowId)) this.orphans++;
        else this.#dropDataflow(worker, e.dataflowId);
        return;
      case "exportDropped": {
        const owner = exports.get(e.exportId);
        if (owner === undefined) {
          this.orphans++;
          return;
        }
        exports.delete(e.exportId);
        const live = dataflows.get(owner);
        live?.exports.delete(e.exportId);
        live?.keys.dropExport(e.exportId);
        const retract = () => this.#retractExport(e.exportId, w);
        if (live === undefined) retract();
        else this.#held.write(live, retract);
        return;
      }
      default: {
        const owner = exports.get(e.exportId);
        const live = owner === undefined ? undefined : dataflows.get(owner);
        if (live === undefined) {
          this.orphans++;
          return;
        }
        this.#exportWrite(live, w, e);
      }
    }
  }

  /**
   * Applies the held writes (before the log time moves on and before the indexes advance);
   * returns how many threw (rows are built and checked when the event is applied, so none should).
   */
  flush(): number {
    return this.#held.flush();
  }

  /** A dataflow's creation rows. */
  #writeCreated(w: bigint, e: Extract<DataflowEvent, { kind: "dataflowCreated" }>): void {
    const df = BigInt(e.dataflowId);
    this.#upsert("dataflows", [df, w, e.name]);
    for (const x of e.exports) {
      this.#upsert("dataflow_exports", [x.id, w, df, x.kind]);
      this.#upsert("hydration_times", [x.id, w, null]);
    }
    for (const op of e.operators) this.#upsert("operators", [df, BigInt(op.id), w, op.name]);
  }

  /** The write of an event keyed by a live export (its row built, and checked, now). */
  #exportWrite(
    live: LiveDataflow,
    w: bigint,
    e: Extract<DataflowEvent, { kind: "hydrated" | "errorCount" }>,
  ): void {
    switch (e.kind) {
      case "hydrated":
        this.#write(live, "hydration_times", [e.exportId, w, int(e.sinceCreatedNs)], false);
        return;
      case "errorCount":
        if (e.count === 0) this.#write(live, "error_counts", [e.exportId, w], true);
        else this.#write(live, "error_counts", [e.exportId, w, int(e.count)], false);
        return;
    }
  }

  /**
   * Upserts `row` (with `remove`: retracts the key `row`) into relation `name`, now or, while
   * `live` is held, at the flush (a closure is built only then).
   */
  #write(
    live: LiveDataflow,
    name: string,
    row: Row,
    remove: boolean,
    cell?: KeyCell,
    table?: LogTable,
  ): void {
    if (this.#held.size > 0 && this.#held.holds(live)) {
      this.#held.write(live, () => this.#writeNow(name, row, remove, cell));
    } else this.#writeNow(name, row, remove, cell, table);
  }

  /**
   * `cell`: the cell of the table's `keyOf(row)`, when the caller has it; `table`: relation
   * `name`'s table, when the caller looked it up.
   */
  #writeNow(name: string, row: Row, remove: boolean, cell?: KeyCell, table?: LogTable): void {
    const t = table ?? this.#tables.table(name);
    if (t === undefined) return;
    if (remove) t.remove(row);
    else if (cell !== undefined) t.upsertCell(row, cell);
    else t.upsert(row);
  }

  #dropDataflow(worker: number, dataflowId: number): void {
    const dataflows = this.#dataflowsOf(worker);
    const live = dataflows.get(dataflowId)!;
    dataflows.delete(dataflowId);
    this.#count--;
    const exports = this.#exportsOf(worker);
    for (const x of live.exports) exports.delete(x);
    // Held: none of its rows reached a table, and its writes net to nothing at this log time.
    if (this.#held.discard(live)) return;
    const w = BigInt(worker);
    const df = BigInt(dataflowId);
    for (const name of DATAFLOW_KEYED) this.#tables.table(name)?.removeGroup(df, w);
    for (const x of live.exports) this.#retractExport(x, w);
  }

  #retractExport(exportId: string, w: bigint): void {
    for (const name of EXPORT_KEYED) this.#tables.table(name)?.removeGroup(exportId, w);
  }

  #upsert(name: string, row: Row): void {
    this.#tables.table(name)?.upsert(row);
  }
}

/**
 * Checks what turning a `dataflowCreated` into rows would convert (its rows are built later).
 * @throws RangeError for a dataflow or operator id that is not an integer (counted as rejected).
 */
function checkCreated(e: Extract<DataflowEvent, { kind: "dataflowCreated" }>): void {
  if (!Number.isSafeInteger(e.dataflowId)) {
    throw new RangeError(`dataflowCreated: dataflow id ${e.dataflowId} is not an integer`);
  }
  for (const op of e.operators) {
    if (!Number.isSafeInteger(op.id)) {
      throw new RangeError(`dataflowCreated: operator id ${op.id} is not an integer`);
    }
  }
}

/**
 * A count or duration as an int64 datum (rounded).
 * @throws RangeError for a value that is not finite (the host counts the event as rejected).
 */
export function int(n: number): bigint {
  return BigInt(Math.round(n));
}
