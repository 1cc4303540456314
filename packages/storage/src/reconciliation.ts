/**
 * Reconciliation (materialize.md §1.7, storage): when a new controller connection replays its
 * history to a running replica, keep the ingestions the history describes unchanged.
 *
 * ## Rules
 * After `onConnection()` the state buffers the connection's commands until
 * `initializationComplete`; then `planReconciliation()` decides, per recorded ingestion:
 * - **kept** iff the buffer re-sends a `runIngestion` with the same id and an equal description
 *   (`sameDescription`): it keeps running (not restarted), and worker 0 re-sends its latest
 *   status, restamped;
 * - **dropped** otherwise: its dataflow is torn down silently (the new controller never knew it,
 *   so no `droppedId` and no `dropped` status).
 * Every reported frontier and compaction frontier resets (the new controller's merge starts at
 * the minimum); then the buffer is applied as usual (a re-sent kept ingestion is a replay no-op).
 * Both lists keep the recorded order, so every worker tears down in the same order.
 */
import type { IngestionDescription, StorageCommand } from "@mzts/protocol";
import type { GlobalId } from "@mzts/repr";
import { sameDescription } from "./ingestion.js";

/** Which recorded ingestions a reconnection keeps and which it drops. */
export interface ReconciliationPlan {
  readonly kept: readonly GlobalId[];
  readonly dropped: readonly GlobalId[];
}

/** Plans reconciliation of the `recorded` ingestions against the `buffered` commands. */
export function planReconciliation(
  recorded: ReadonlyMap<GlobalId, { readonly description: IngestionDescription }>,
  buffered: readonly StorageCommand[],
): ReconciliationPlan {
  const desired = new Map<GlobalId, IngestionDescription>();
  for (const c of buffered) if (c.kind === "runIngestion") desired.set(c.id, c.description);
  const kept: GlobalId[] = [];
  const dropped: GlobalId[] = [];
  for (const [id, rec] of recorded) {
    const want = desired.get(id);
    if (want !== undefined && sameDescription(want, rec.description)) kept.push(id);
    else dropped.push(id);
  }
  return { kept, dropped };
}
