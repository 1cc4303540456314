/**
 * Unit tests of the storage response merge: tracking from Run* commands, upper meets, drops once
 * every part dropped, pass-through and command-error deduplication.
 */
import { FrontierRegression, InvariantViolation } from "@mzts/repr";
import { describe, expect, it } from "vitest";
import type { StorageCommand } from "./command.js";
import { PartitionedStorageState } from "./partitioned-state.js";
import type { StorageResponse } from "./response.js";

const run: StorageCommand = {
  kind: "runIngestion",
  id: "u1",
  description: {
    sourceExports: [{ id: "u2", shardId: "s2", outputIndex: 0, name: "counter" }],
    connection: {
      kind: "loadGenerator",
      generator: { kind: "counter" },
      seed: 1n,
      tickIntervalMs: 1000,
    },
  },
};
const upper = (id: string, u: bigint | null): StorageResponse => ({
  kind: "frontierUpper",
  id,
  upper: u,
});

describe("PartitionedStorageState", () => {
  it("tracks the ingestion, its exports and sinks from Run* commands", () => {
    const s = new PartitionedStorageState(2);
    s.observeCommand(run);
    s.observeCommand({
      kind: "runSink",
      id: "u3",
      description: {
        fromId: "u2",
        fromShardId: "s2",
        connection: { kind: "persist", shardId: "s3" },
        asOf: 0n,
      },
    });
    expect([...s.tracked].sort()).toEqual(["u1", "u2", "u3"]);
  });

  it("reports the meet of the parts' uppers when it advances", () => {
    const s = new PartitionedStorageState(2);
    s.observeCommand(run);
    expect(s.absorb(0, upper("u2", 7n))).toEqual([]);
    expect(s.absorb(1, upper("u2", 5n))).toEqual([upper("u2", 5n)]);
    expect(s.absorb(1, upper("u2", 9n))).toEqual([upper("u2", 7n)]);
    expect(() => s.absorb(1, upper("u2", 8n))).toThrow(FrontierRegression);
    s.observeCommand(run);
    expect(s.absorb(0, upper("u2", 10n))).toEqual([upper("u2", 9n)]);
  });

  it("refuses uppers for ids that were never run", () => {
    expect(() => new PartitionedStorageState(1).absorb(0, upper("u9", 1n))).toThrow(
      InvariantViolation,
    );
  });

  it("reports a drop once every part dropped it, then forgets the id", () => {
    const s = new PartitionedStorageState(2);
    s.observeCommand(run);
    const drop: StorageResponse = { kind: "droppedId", id: "u2" };
    expect(s.absorb(1, drop)).toEqual([]);
    expect(() => s.absorb(1, drop)).toThrow(InvariantViolation);
    expect(s.absorb(0, drop)).toEqual([drop]);
    expect(s.tracked.has("u2")).toBe(false);
  });

  it("passes statistics and statuses through and forwards one copy of a command error", () => {
    const s = new PartitionedStorageState(2);
    const stats: StorageResponse = { kind: "statisticsUpdates", sources: [], sinks: [] };
    expect(s.absorb(0, stats)).toEqual([stats]);
    const status: StorageResponse = {
      kind: "statusUpdate",
      update: {
        id: "u1",
        status: "running",
        timestampMs: 1n,
        hints: [],
        namespacedErrors: new Map(),
      },
    };
    expect(s.absorb(1, status)).toEqual([status]);
    const err: StorageResponse = {
      kind: "commandError",
      error: {
        objectId: "u1",
        command: "runIngestion",
        code: "incompatibleDefinition",
        message: "m",
      },
    };
    expect(s.absorb(1, err)).toEqual([err]);
    expect(s.absorb(0, err)).toEqual([]);
  });
});
