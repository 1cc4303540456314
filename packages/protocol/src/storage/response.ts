/**
 * Storage responses (replica → controller) as domain values.
 *
 * Rules (materialize.md §3.2, §3.5): `frontierUpper` never regresses; `droppedId` is sent once
 * and nothing follows it for that id; statistics are snapshots (the controller keeps the latest
 * per object and replica); a new status supersedes the old one except that nothing supersedes
 * `dropped` and `paused` does not repeat; `commandError` reports a refused command on one object.
 */
import type { Frontier, GlobalId, ReplicaId, Timestamp } from "@mzts/repr";
import type { CommandError } from "../cluster/command-error.js";

/** Statistics of one source export on one replica (counters are u64). */
export interface SourceStatistics {
  readonly id: GlobalId;
  readonly messagesReceived: bigint;
  readonly bytesReceived: bigint;
  readonly updatesStaged: bigint;
  readonly updatesCommitted: bigint;
  readonly recordsIndexed: bigint;
  readonly snapshotCommitted: boolean;
  /** Absent = not known yet. */
  readonly snapshotRecordsKnown?: bigint;
  readonly snapshotRecordsStaged?: bigint;
  readonly offsetKnown?: bigint;
  readonly offsetCommitted?: bigint;
  /** Absent = not rehydrated yet. */
  readonly rehydrationLatencyMs?: bigint;
}

/** Statistics of one sink on one replica. */
export interface SinkStatistics {
  readonly id: GlobalId;
  readonly messagesStaged: bigint;
  readonly messagesCommitted: bigint;
  readonly bytesStaged: bigint;
  readonly bytesCommitted: bigint;
}

/** Health of an ingestion or sink. */
export type ObjectStatus = "starting" | "running" | "paused" | "stalled" | "ceased" | "dropped";

/** A status change. */
export interface StatusUpdate {
  readonly id: GlobalId;
  readonly status: ObjectStatus;
  /** When it was observed (ms since the epoch). */
  readonly timestampMs: Timestamp;
  /** Absent = no error; else non-empty. */
  readonly error?: string;
  readonly hints: readonly string[];
  /** Namespace (e.g. "kafka") → error text. */
  readonly namespacedErrors: ReadonlyMap<string, string>;
  /** Stamped by the controller; replicas leave it absent. */
  readonly replicaId?: ReplicaId;
}

/** A storage response. */
export type StorageResponse =
  | { readonly kind: "frontierUpper"; readonly id: GlobalId; readonly upper: Frontier }
  | { readonly kind: "droppedId"; readonly id: GlobalId }
  | {
      readonly kind: "statisticsUpdates";
      readonly sources: readonly SourceStatistics[];
      readonly sinks: readonly SinkStatistics[];
    }
  | { readonly kind: "statusUpdate"; readonly update: StatusUpdate }
  | { readonly kind: "commandError"; readonly error: CommandError };

export type StorageResponseKind = StorageResponse["kind"];
