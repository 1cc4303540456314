/**
 * `DropPath`: what `StorageState`'s bookkeeping forgets when an id goes — dropped by the
 * controller (`allowCompaction(id, [])`) or by reconciliation — and the write fence of
 * `droppedId`. It owns the dropped ids (never run again) and the held `droppedId` answers; the
 * recorded ingestions and the per-id maps stay the state's, shared through `DropScope`.
 *
 * ## Drop path (an ingestion, or one export)
 * 1. `applyCommand(allowCompaction(id, []))` → `StorageState#allowCompaction`: the bookkeeping
 *    forgets the id (`forgetExport` / `forgetIngestion`: worker 0's `dropped` status; `droppedId`
 *    per tracked id through `#reportDropped`, held while this worker's writers of the id still
 *    run) and returns the action `drop` (or `dropExport`).
 * 2. The worker loop runs the action at its position `gen`: `dropDataflow(gen, id)` (or
 *    `dropExport`) stops generating and calls `#stopWriter(gen, shardId)` per export.
 * 3. `#stopWriter` records the drop position (parts of renders at or before it are discarded,
 *    also from the stash) and stops this worker's writer: `ShardWriter.stop()` — no append starts
 *    after it; one already in flight still lands.
 * 4. Once every writer of the id is `quiet` (stopped, nothing in flight: `onQuiet`),
 *    `releaseDrops` answers the held `droppedId`s in order — the write fence.
 * Dropping stops writes and expires this replica's since handles; the shards and their data stay
 * in persist (the controller owns shards and drops them with `dropShard`).
 *
 * ## Reconciliation
 * `reconcile(buffered)` applies `planReconciliation()` (`reconciliation.ts`): every reported and
 * compaction frontier resets, and the ingestions the new controller does not describe are
 * forgotten silently (no `droppedId`, no `dropped` status) and returned as `drop` actions.
 */
import type { IngestionDescription, StorageCommand } from "@mzts/protocol";
import type { Frontier, GlobalId } from "@mzts/repr";
import type { DataflowAction } from "./dataflow-actions.js";
import { SLOT } from "./metrics.js";
import { planReconciliation } from "./reconciliation.js";
import type { ShardWriter } from "./shard-writer.js";
import type { IngestionStatuses } from "./status.js";
import type { StorageStateDeps } from "./storage-state-deps.js";

/** An ingestion as recorded by bookkeeping. */
export interface RecordedIngestion {
  readonly description: IngestionDescription;
  /** Export ids not dropped. */
  readonly exports: Set<GlobalId>;
}

/** The state's bookkeeping that dropping changes (owned by `StorageState`). */
export interface DropScope {
  readonly deps: StorageStateDeps;
  /** Recorded ingestions, from `runIngestion` until dropped or reconciled away. */
  readonly ingestions: Map<GlobalId, RecordedIngestion>;
  /** Export id → its ingestion id, while the export lives. */
  readonly exportOwner: Map<GlobalId, GlobalId>;
  /** Export id → its shard id, while the export lives. */
  readonly exportShard: Map<GlobalId, string>;
  /** Id → last compaction frontier; reset at reconciliation. */
  readonly compaction: Map<GlobalId, Frontier>;
  /** Tracked id → the upper last reported on this connection. */
  readonly reported: Map<GlobalId, Frontier>;
  /** Shard id → its writer, when this worker writes it. */
  readonly writers: ReadonlyMap<string, ShardWriter>;
  /** Worker 0's ingestion statuses. */
  readonly statuses: IngestionStatuses;
}

/** One worker's drop bookkeeping; see the file comment. */
export class DropPath {
  readonly #s: DropScope;
  /** Ids dropped by `allowCompaction(id, [])`; never run again. */
  readonly #dropped = new Set<GlobalId>();
  /** `droppedId`s held until this worker's writers of the id are stopped and quiet, in order. */
  #held: Array<{ readonly id: GlobalId; readonly writers: readonly ShardWriter[] }> = [];

  constructor(scope: DropScope) {
    this.#s = scope;
  }

  /** Whether the controller dropped `id` (ids are never reused). */
  wasDropped(id: GlobalId): boolean {
    return this.#dropped.has(id);
  }

  /** A new controller reconciles from scratch: answers held for the old one are dropped. */
  forgetHeld(): void {
    this.#held = [];
  }

  /** Forgets export `id`; `report`: a controller drop (`droppedId`), else reconciliation's. */
  forgetExport(id: GlobalId, report: boolean): void {
    const s = this.#s;
    s.exportOwner.delete(id);
    s.exportShard.delete(id);
    s.compaction.delete(id);
    this.#untrack(id, report, (w) => w.exportId === id);
  }

  /** Forgets ingestion `id` (its exports are forgotten first, by the caller). */
  forgetIngestion(id: GlobalId, report: boolean): void {
    const s = this.#s;
    s.ingestions.delete(id);
    s.compaction.delete(id);
    this.#untrack(id, report, (w) => w.ingestionId === id);
    if (s.deps.index === 0) {
      s.statuses.forget(id, report);
      s.deps.counters.set(SLOT.ingestions, s.ingestions.size);
    }
    s.deps.logger.info({ ingestion: id, worker: s.deps.index }, "storage: ingestion dropped");
  }

  /**
   * `id` is no longer tracked; a controller drop (`report`) marks it dropped and answers
   * `droppedId` if it was tracked on this connection (`#reportDropped`; its writers are `of`).
   */
  #untrack(id: GlobalId, report: boolean, of: (w: ShardWriter) => boolean): void {
    const tracked = this.#s.reported.delete(id);
    if (!report) return;
    this.#dropped.add(id);
    if (tracked) this.#reportDropped(id, of);
  }

  /**
   * Answers `droppedId` for `id` now, or — while one of this worker's writers of the id (`of`)
   * still runs (the drop action has not run yet) or has a persist call in flight — once they are
   * all quiet (`releaseDrops`). Held answers keep their order.
   */
  #reportDropped(id: GlobalId, of: (w: ShardWriter) => boolean): void {
    const writers = [...this.#s.writers.values()].filter(of);
    this.#held.push({ id, writers });
    this.releaseDrops();
  }

  /** Answers the held `droppedId`s, in order, up to the first whose writers are not quiet. */
  releaseDrops(): void {
    while (this.#held.length > 0) {
      const { id, writers } = this.#held[0]!;
      if (writers.some((w) => !w.quiet)) return;
      this.#held.shift();
      this.#s.deps.respond({ kind: "droppedId", id });
    }
  }

  /**
   * `initializationComplete` after a reconnection: resets the reported and compaction frontiers,
   * forgets the ingestions `buffered` does not keep; returns the kept ids and their `drop`s.
   */
  reconcile(buffered: readonly StorageCommand[]): {
    kept: readonly GlobalId[];
    actions: DataflowAction[];
  } {
    const s = this.#s;
    const { kept, dropped } = planReconciliation(s.ingestions, buffered);
    const actions: DataflowAction[] = [];
    s.reported.clear();
    s.compaction.clear();
    for (const id of dropped) {
      for (const x of s.ingestions.get(id)!.exports) this.forgetExport(x, false);
      this.forgetIngestion(id, false);
      actions.push({ kind: "drop", id });
    }
    if (s.deps.index === 0) {
      s.deps.counters.add(SLOT.reconciliationKept, kept.length);
      s.deps.counters.add(SLOT.reconciliationDropped, actions.length);
    }
    s.deps.logger.info(
      { worker: s.deps.index, kept: kept.length, dropped: actions.length },
      "storage: reconciled",
    );
    return { kept, actions };
  }
}
