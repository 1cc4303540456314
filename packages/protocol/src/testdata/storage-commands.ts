/**
 * Test builders for storage commands. Built into dist for the `@mzts/protocol/testing/*`
 * subpaths, so the controller packages' tests share one copy.
 */

import type { Frontier, GlobalId } from "@mzts/repr";
import type { IngestionDescription, StorageCommand } from "../storage/command.js";

/** A load-generator ingestion description writing `exports` (ids). */
export function ingestionDescription(
  exports: readonly GlobalId[],
  seed = 1n,
): IngestionDescription {
  return {
    sourceExports: exports.map((id, outputIndex) => ({
      id,
      shardId: `shard-${id}`,
      outputIndex,
      name: id,
    })),
    connection: {
      kind: "loadGenerator",
      generator: { kind: "counter" },
      seed,
      tickIntervalMs: 1000,
    },
  };
}

/**
 * A deterministic counter ingestion of one export (seed 7, a tick every 100 ms from 1,000,000 ms,
 * 5 ticks, then its upper closes): what the tests against real processes ingest.
 */
export function deterministicCounter(
  id: GlobalId = "u11",
  shardId = `shard-${id}`,
): IngestionDescription {
  return {
    sourceExports: [{ id, shardId, outputIndex: 0, name: "counter" }],
    connection: {
      kind: "loadGenerator",
      generator: { kind: "counter" },
      seed: 7n,
      tickIntervalMs: 100,
      deterministic: { startTimeMs: 1_000_000n, maxTicks: 5n },
    },
  };
}

export const hello = (generation = 1n): StorageCommand => ({
  kind: "hello",
  hello: {
    nonce: "00000000-0000-4000-8000-000000000000",
    generation,
    protocolVersion: 1,
    buildVersion: "0.0.0",
  },
});

export const initializationComplete: StorageCommand = { kind: "initializationComplete" };
export const allowWrites: StorageCommand = { kind: "allowWrites" };

export const config = (params: Record<string, string>): StorageCommand => ({
  kind: "updateConfiguration",
  params: new Map(Object.entries(params)),
});

/** `runIngestion(id)` writing its own id plus `subsources`. */
export const runIngestion = (
  id: GlobalId,
  subsources: readonly GlobalId[] = [],
  seed = 1n,
): StorageCommand => ({
  kind: "runIngestion",
  id,
  description: ingestionDescription([id, ...subsources], seed),
});

export const runSink = (id: GlobalId, fromId: GlobalId = "u1000"): StorageCommand => ({
  kind: "runSink",
  id,
  description: {
    fromId,
    fromShardId: `shard-${fromId}`,
    connection: { kind: "persist", shardId: `shard-${id}` },
    asOf: 0n,
  },
});

export const compaction = (id: GlobalId, frontier: Frontier): StorageCommand => ({
  kind: "allowCompaction",
  id,
  frontier,
});
