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
 * ## Late and orphan events
 * An event about a dataflow or export this logger does not know (never created, or already
 * dropped — e.g. a frontier sampled just before the drop was applied) is ignored and counted
 * (`orphans`): logging it would leave a row nothing ever retracts.
 */
import type { Row } from "@mzts/repr";
import type { ComputeLogEvent } from "./events.js";
import type { LogTable } from "./log-table.js";

/** The tables this family writes (undefined = relation not installed). */
export interface TableLookup {
  table(name: string): LogTable | undefined;
}

/** Relations keyed by export id whose rows go when the export goes. */
const EXPORT_KEYED = [
  "compute_frontiers",
  "compute_import_frontiers",
  "arrangement_sizes",
  "hydration_times",
  "error_counts",
] as const;

/** Relations keyed by dataflow id whose rows go when the dataflow goes. */
const DATAFLOW_KEYED = ["dataflows", "operators", "scheduling_elapsed"] as const;

interface LiveDataflow {
  /** Export ids not dropped. */
  readonly exports: Set<string>;
  /** Import ids: an import frontier of another id is an orphan. */
  readonly imports: readonly string[];
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
  /** `worker:dataflowId` → live dataflow, from created until dropped. */
  readonly #dataflows = new Map<string, LiveDataflow>();
  /** `worker:exportId` → its dataflow's id, while the export lives. */
  readonly #exports = new Map<string, number>();
  /** Events about unknown dataflows or exports, ignored. */
  orphans = 0;

  constructor(tables: TableLookup) {
    this.#tables = tables;
  }

  /** Live dataflows remembered (bounded by what the workers run). */
  get dataflows(): number {
    return this.#dataflows.size;
  }

  /** Applies one event of `worker` at the tables' current time. */
  apply(worker: number, e: DataflowEvent): void {
    const w = BigInt(worker);
    switch (e.kind) {
      case "dataflowCreated": {
        const dkey = `${worker}:${e.dataflowId}`;
        if (this.#dataflows.has(dkey)) this.#dropDataflow(worker, e.dataflowId);
        const df = BigInt(e.dataflowId);
        this.#dataflows.set(dkey, {
          exports: new Set(e.exports.map((x) => x.id)),
          imports: e.imports.slice(),
        });
        this.#upsert("dataflows", [df, w, e.name]);
        for (const x of e.exports) {
          this.#exports.set(`${worker}:${x.id}`, e.dataflowId);
          this.#upsert("dataflow_exports", [x.id, w, df, x.kind]);
          this.#upsert("hydration_times", [x.id, w, null]);
        }
        for (const op of e.operators) this.#upsert("operators", [df, BigInt(op.id), w, op.name]);
        return;
      }
      case "dataflowDropped":
        if (!this.#dataflows.has(`${worker}:${e.dataflowId}`)) this.orphans++;
        else this.#dropDataflow(worker, e.dataflowId);
        return;
      case "exportDropped": {
        const owner = this.#exports.get(`${worker}:${e.exportId}`);
        if (owner === undefined) {
          this.orphans++;
          return;
        }
        this.#exports.delete(`${worker}:${e.exportId}`);
        this.#dataflows.get(`${worker}:${owner}`)?.exports.delete(e.exportId);
        this.#retractExport(e.exportId, w);
        return;
      }
      case "operatorElapsed":
        if (!this.#dataflows.has(`${worker}:${e.dataflowId}`)) {
          this.orphans++;
          return;
        }
        this.#upsert("scheduling_elapsed", [
          BigInt(e.dataflowId),
          BigInt(e.operatorId),
          w,
          int(e.elapsedNs),
        ]);
        return;
      default: {
        const owner = this.#exports.get(`${worker}:${e.exportId}`);
        const imports =
          owner === undefined ? undefined : this.#dataflows.get(`${worker}:${owner}`)?.imports;
        if (
          imports === undefined ||
          (e.kind === "importFrontier" && !imports.includes(e.importId))
        ) {
          this.orphans++;
          return;
        }
        this.#applyExportEvent(w, e);
      }
    }
  }

  /** Events keyed by a live export. */
  #applyExportEvent(
    w: bigint,
    e: Extract<
      DataflowEvent,
      { kind: "exportFrontier" | "importFrontier" | "arrangementSize" | "hydrated" | "errorCount" }
    >,
  ): void {
    switch (e.kind) {
      case "exportFrontier":
        if (e.time === null) this.#tables.table("compute_frontiers")?.remove([e.exportId, w]);
        else this.#upsert("compute_frontiers", [e.exportId, w, e.time]);
        return;
      case "importFrontier":
        if (e.time === null) {
          this.#tables.table("compute_import_frontiers")?.remove([e.exportId, e.importId, w]);
        } else this.#upsert("compute_import_frontiers", [e.exportId, e.importId, w, e.time]);
        return;
      case "arrangementSize":
        this.#upsert("arrangement_sizes", [
          e.exportId,
          w,
          int(e.records),
          int(e.batches),
          int(e.sizeBytes),
        ]);
        return;
      case "hydrated":
        this.#upsert("hydration_times", [e.exportId, w, int(e.sinceCreatedNs)]);
        return;
      case "errorCount":
        if (e.count === 0) this.#tables.table("error_counts")?.remove([e.exportId, w]);
        else this.#upsert("error_counts", [e.exportId, w, int(e.count)]);
        return;
    }
  }

  #dropDataflow(worker: number, dataflowId: number): void {
    const dkey = `${worker}:${dataflowId}`;
    const live = this.#dataflows.get(dkey)!;
    this.#dataflows.delete(dkey);
    const w = BigInt(worker);
    const df = BigInt(dataflowId);
    for (const name of DATAFLOW_KEYED) this.#tables.table(name)?.removeGroup(df, w);
    for (const x of live.exports) {
      this.#exports.delete(`${worker}:${x}`);
      this.#retractExport(x, w);
    }
  }

  #retractExport(exportId: string, w: bigint): void {
    this.#tables.table("dataflow_exports")?.removeGroup(exportId, w);
    for (const name of EXPORT_KEYED) this.#tables.table(name)?.removeGroup(exportId, w);
  }

  #upsert(name: string, row: Row): void {
    this.#tables.table(name)?.upsert(row);
  }
}

/**
 * A count or duration as an int64 datum (rounded).
 * @throws RangeError for a value that is not finite (the host counts the event as rejected).
 */
export function int(n: number): bigint {
  return BigInt(Math.round(n));
}
