/**
 * The storage workload's messages between the workers of one replica, on the mesh channel
 * `STORAGE_CHANNEL` (worker → worker, FIFO per pair; a worker's messages to itself are handed to
 * its own `StorageState.receive` at once):
 * - `part` (every worker → a shard's writer): this worker's updates of one export for ticks
 *   `[from, to)` of the dataflow rendered at position `gen` (`ingestion-dataflow.ts` →
 *   `shard-writer.ts`); sent also when empty, since the writer needs every worker's part of a range;
 * - `upper` (a writer → every worker): the shard's upper advanced (frontier reporting, pacing);
 * - `health` (a writer → worker 0): the writer wrote or adopted an upper (`error: null`) or an
 *   append failed (`status.ts`);
 * - `stats` (every worker → worker 0): its counters per live export (`statistics.ts`).
 */
import type { Frontier, GlobalId, Update } from "@mzts/repr";

/** The mesh channel of the storage workload. */
export const STORAGE_CHANNEL = "storage:data";

/** A worker's counters for one export, sent to worker 0. */
export interface ExportStats {
  readonly exportId: GlobalId;
  readonly generated: bigint;
  readonly bytes: bigint;
  readonly committed: bigint;
  readonly offsetKnown: bigint;
}

/** Messages between workers on the storage channel. */
export type StorageMeshMessage =
  | {
      readonly kind: "part";
      readonly gen: number;
      readonly shardId: string;
      readonly from: bigint;
      readonly to: bigint;
      readonly updates: Update[];
    }
  | { readonly kind: "upper"; readonly shardId: string; readonly upper: Frontier }
  | {
      readonly kind: "health";
      readonly ingestionId: GlobalId;
      readonly shardId: string;
      readonly error: string | null;
    }
  | { readonly kind: "stats"; readonly entries: readonly ExportStats[] };
