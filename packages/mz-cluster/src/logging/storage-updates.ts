/**
 * `applyStorageEvent`: storage's events → `ingestion_frontiers`, `ingestion_statistics`,
 * `source_status` (unified logging only; the worker is the **storage** worker that logged the
 * event, whichever compute worker hosts the row).
 *
 * - `ingestionFrontier`: upserts the export's upper; `null` (the shard is closed) retracts it;
 * - `ingestionStatistics`: upserts the totals;
 * - `sourceStatus`: upserts the status;
 * - `sourceDropped`: retracts every row of the source (of that worker) in all three.
 * Stateless: the tables hold the rows.
 */
import { relationsOfScope } from "@mzts/protocol/domain";
import { int, type TableLookup } from "./dataflow-updates.js";
import type { StorageLogEvent } from "./events.js";

const STORAGE_RELATIONS = relationsOfScope("source");

const STORAGE_KINDS: ReadonlySet<string> = new Set([
  "ingestionFrontier",
  "ingestionStatistics",
  "sourceStatus",
  "sourceDropped",
]);

/** Whether an event is a storage event. */
export function isStorageEvent(e: { readonly kind: string }): e is StorageLogEvent {
  return STORAGE_KINDS.has(e.kind);
}

/** Applies one storage event of `worker` at the tables' current time. */
export function applyStorageEvent(tables: TableLookup, worker: number, e: StorageLogEvent): void {
  const w = BigInt(worker);
  switch (e.kind) {
    case "ingestionFrontier":
      if (e.upper === null) tables.table("ingestion_frontiers")?.remove([e.sourceId, w]);
      else tables.table("ingestion_frontiers")?.upsert([e.sourceId, w, e.upper]);
      return;
    case "ingestionStatistics":
      tables
        .table("ingestion_statistics")
        ?.upsert([
          e.sourceId,
          w,
          int(e.updates),
          int(e.bytes),
          int(e.messages),
          e.snapshotCommitted,
        ]);
      return;
    case "sourceStatus":
      tables.table("source_status")?.upsert([e.sourceId, w, e.status, e.error]);
      return;
    case "sourceDropped":
      for (const name of STORAGE_RELATIONS) tables.table(name)?.removeGroup(e.sourceId, w);
      return;
  }
}
