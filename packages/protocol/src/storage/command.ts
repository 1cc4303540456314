/**
 * Storage commands (controller → replica) as domain values.
 *
 * ## Stages (materialize.md §3.1)
 * 1. `hello` first (fencing and versions, as for compute).
 * 2. The reduced command history, terminated by exactly one `initializationComplete`; the
 *    replica reconciles here: it keeps running objects whose definition is unchanged, alters
 *    compatible ones and drops objects not mentioned.
 * 3. Live commands: `runIngestion`, `runSink`, `allowCompaction`, `updateConfiguration`,
 *    `allowWrites`.
 *
 * ## The controller must
 * - send `hello` first and `initializationComplete` exactly once per connection;
 * - only send `allowWrites` (instance-wide, one way) when it is not read-only;
 * - send a compatible definition when it re-sends `runIngestion`/`runSink` for a running id
 *   (an alteration);
 * - drop with `allowCompaction(id, empty)`: an ingestion's own id drops it with all its exports,
 *   an export id drops that export only; never move a compaction frontier backward.
 *
 * ## The replica must / may
 * - report `frontierUpper` for every export and sink it runs, never regressing;
 * - report `droppedId` once per dropped object whose frontier it reported, at drop time, and
 *   nothing more for it;
 * - re-send its latest statuses after every (re)connection;
 * - answer semantic errors on one object with an in-band `commandError`, and end the stream on
 *   protocol violations;
 * - *may* run a load generator on every replica (writes are deduplicated by compare-and-append).
 */
import type { Frontier, GlobalId, Timestamp } from "@mzts/repr";
import type { Hello } from "../cluster/hello.js";

/** One collection an ingestion writes. */
export interface SourceExport {
  readonly id: GlobalId;
  readonly shardId: string;
  /** Which output of the source feeds it. */
  readonly outputIndex: number;
  /** Human-readable output name (may be empty). */
  readonly name: string;
}

/** Which load generator runs. */
export type LoadGenerator =
  /** 1, 2, 3, … one per tick; `maxCardinality` (> 0) retracts the oldest beyond it. */
  | { readonly kind: "counter"; readonly maxCardinality?: bigint }
  /** `maxAuctions` (≥ 10) keeps the newest auctions only, retracting older ones with their bids. */
  | { readonly kind: "auction"; readonly maxAuctions?: bigint };

/** Deterministic mode: logical ticks from a fixed start time. */
export interface DeterministicMode {
  /** Time of tick 0 (ms); tick n is at start + n × tickIntervalMs. */
  readonly startTimeMs: Timestamp;
  /** Absent = forever; else the outputs' upper becomes empty after this many ticks. */
  readonly maxTicks?: bigint;
}

/** A source connection. */
export type IngestionConnection = {
  readonly kind: "loadGenerator";
  readonly generator: LoadGenerator;
  readonly seed: bigint;
  /** Milliseconds between ticks (> 0). */
  readonly tickIntervalMs: number;
  /** Absent = real-time mode. */
  readonly deterministic?: DeterministicMode;
};

/** An ingestion: a source and the collections it writes. */
export interface IngestionDescription {
  /** At least one; ids unique. */
  readonly sourceExports: readonly SourceExport[];
  readonly connection: IngestionConnection;
}

/** Where a storage sink writes. */
export type StorageSinkConnection = { readonly kind: "persist"; readonly shardId: string };

/** A sink of a collection. */
export interface SinkDescription {
  readonly fromId: GlobalId;
  readonly fromShardId: string;
  readonly connection: StorageSinkConnection;
  /** Contents as of this frontier are written first, then changes. */
  readonly asOf: Frontier;
}

/** A storage command. */
export type StorageCommand =
  | { readonly kind: "hello"; readonly hello: Hello }
  | { readonly kind: "initializationComplete" }
  | { readonly kind: "allowWrites" }
  /** Parameter name → value; names not listed keep their values. */
  | { readonly kind: "updateConfiguration"; readonly params: ReadonlyMap<string, string> }
  | {
      readonly kind: "runIngestion";
      readonly id: GlobalId;
      readonly description: IngestionDescription;
    }
  | { readonly kind: "runSink"; readonly id: GlobalId; readonly description: SinkDescription }
  /** Empty frontier = drop. */
  | { readonly kind: "allowCompaction"; readonly id: GlobalId; readonly frontier: Frontier };

export type StorageCommandKind = StorageCommand["kind"];

/** Every storage command kind, in protocol (field number) order. */
export const STORAGE_COMMAND_KINDS: readonly StorageCommandKind[] = [
  "hello",
  "initializationComplete",
  "allowWrites",
  "updateConfiguration",
  "runIngestion",
  "runSink",
  "allowCompaction",
];
