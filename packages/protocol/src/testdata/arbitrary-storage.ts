/**
 * fast-check arbitraries: every storage command and response kind. Part of `./arbitraries` (see
 * `arbitraries.ts`).
 */
import fc from "fast-check";
import { OBJECT_STATUSES } from "../storage/codec.js";
import {
  STORAGE_COMMAND_KINDS,
  type StorageCommand,
  type StorageCommandKind,
} from "../storage/command.js";
import type { StorageResponse, StorageResponseKind } from "../storage/response.js";
import {
  commandError,
  frontier,
  globalId,
  hello,
  replicaId,
  shardId,
  stringMap,
  text,
  timestamp,
  U64_MAX,
  u64,
} from "./arbitrary-values.js";

// ---------------------------------------------------------------------------------------------
// Storage

export const ingestion = fc
  .record({
    base: fc.nat(1_000_000),
    exports: fc.array(fc.tuple(shardId, fc.nat(5), text), { minLength: 1, maxLength: 3 }),
    generator: fc.oneof(
      fc
        .option(fc.bigInt({ min: 1n, max: U64_MAX }), { nil: undefined })
        .map((max) =>
          max === undefined
            ? { kind: "counter" as const }
            : { kind: "counter" as const, maxCardinality: max },
        ),
      fc
        .option(fc.bigInt({ min: 10n, max: U64_MAX }), { nil: undefined })
        .map((max) =>
          max === undefined
            ? { kind: "auction" as const }
            : { kind: "auction" as const, maxAuctions: max },
        ),
    ),
    seed: u64,
    tickIntervalMs: fc.integer({ min: 1, max: 0xffff_ffff }),
    deterministic: fc.option(
      fc.record({ startTimeMs: timestamp, maxTicks: u64 }, { requiredKeys: ["startTimeMs"] }),
      { nil: undefined },
    ),
  })
  .map(({ base, exports, deterministic, ...c }) => ({
    sourceExports: exports.map(([s, outputIndex, name], i) => ({
      id: `u${base + i}`,
      shardId: s,
      outputIndex,
      name,
    })),
    connection: {
      kind: "loadGenerator" as const,
      ...c,
      ...(deterministic === undefined ? {} : { deterministic }),
    },
  }));

/** One arbitrary per storage command kind. */
export const storageCommands: { readonly [K in StorageCommandKind]: fc.Arbitrary<StorageCommand> } =
  {
    hello: hello.map((h) => ({ kind: "hello", hello: h })),
    initializationComplete: fc.constant({ kind: "initializationComplete" }),
    allowWrites: fc.constant({ kind: "allowWrites" }),
    updateConfiguration: stringMap.map((params) => ({ kind: "updateConfiguration", params })),
    runIngestion: fc
      .tuple(globalId, ingestion)
      .map(([id, description]) => ({ kind: "runIngestion", id, description })),
    runSink: fc
      .record({
        id: globalId,
        fromId: globalId,
        fromShardId: shardId,
        target: shardId,
        asOf: frontier,
      })
      .map(({ id, target, ...d }) => ({
        kind: "runSink",
        id,
        description: { ...d, connection: { kind: "persist" as const, shardId: target } },
      })),
    allowCompaction: fc
      .tuple(globalId, frontier)
      .map(([id, f]) => ({ kind: "allowCompaction", id, frontier: f })),
  };

export const storageCommand: fc.Arbitrary<StorageCommand> = fc.oneof(
  ...Object.values(storageCommands),
);

export const sourceStats = fc.record(
  {
    id: globalId,
    messagesReceived: u64,
    bytesReceived: u64,
    updatesStaged: u64,
    updatesCommitted: u64,
    recordsIndexed: u64,
    snapshotCommitted: fc.boolean(),
    snapshotRecordsKnown: u64,
    snapshotRecordsStaged: u64,
    offsetKnown: u64,
    offsetCommitted: u64,
    rehydrationLatencyMs: u64,
  },
  {
    requiredKeys: [
      "id",
      "messagesReceived",
      "bytesReceived",
      "updatesStaged",
      "updatesCommitted",
      "recordsIndexed",
      "snapshotCommitted",
    ],
  },
);

export const sinkStats = fc.record({
  id: globalId,
  messagesStaged: u64,
  messagesCommitted: u64,
  bytesStaged: u64,
  bytesCommitted: u64,
});

/** One arbitrary per storage response kind. */
export const storageResponses: {
  readonly [K in StorageResponseKind]: fc.Arbitrary<StorageResponse>;
} = {
  frontierUpper: fc
    .tuple(globalId, frontier)
    .map(([id, upper]) => ({ kind: "frontierUpper", id, upper })),
  droppedId: globalId.map((id) => ({ kind: "droppedId", id })),
  statisticsUpdates: fc
    .tuple(fc.array(sourceStats, { maxLength: 3 }), fc.array(sinkStats, { maxLength: 3 }))
    .map(([sources, sinks]) => ({ kind: "statisticsUpdates", sources, sinks })),
  statusUpdate: fc
    .record(
      {
        id: globalId,
        status: fc.constantFrom(...OBJECT_STATUSES),
        timestampMs: timestamp,
        error: fc.string({ minLength: 1 }),
        hints: fc.array(text, { maxLength: 3 }),
        namespacedErrors: stringMap,
        replicaId,
      },
      { requiredKeys: ["id", "status", "timestampMs", "hints", "namespacedErrors"] },
    )
    .map((update) => ({ kind: "statusUpdate", update })),
  commandError: commandError(STORAGE_COMMAND_KINDS).map((error) => ({
    kind: "commandError",
    error,
  })),
};

export const storageResponse: fc.Arbitrary<StorageResponse> = fc.oneof(
  ...Object.values(storageResponses),
);
