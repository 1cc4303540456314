/**
 * Unit tests of `StorageCollections` (frontier max across replicas, drops and owed droppedIds,
 * soft errors, statistics, status rules) and of the controller without replicas (paused
 * statuses, bounded history, errors, metrics), plus the reconnect backoff.
 */

import { backoffDelayMs } from "@mzts/controller-unified/replicas";
import type { SourceStatistics, StorageResponse } from "@mzts/protocol";
import { ingestionDescription } from "@mzts/protocol/testing/storage-commands";
import { pino } from "pino";
import { Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import {
  type CollectionEvent,
  NO_REPLICA_HINT,
  REPLICA_DROPPED_HINT,
  StorageCollections,
} from "./collections.js";
import { createStorageController } from "./controller.js";
import {
  CollectionExists,
  CollectionMissing,
  CompactionRegression,
  ControllerError,
  InstanceExists,
  InstanceMissing,
  UpperWaitTimedOut,
} from "./errors.js";
import { connectLegacyStorageReplica } from "./legacy/replica-task.js";

const silent = pino({ level: "silent" });
const upper = (id: string, u: bigint | null): StorageResponse => ({
  kind: "frontierUpper",
  id,
  upper: u,
});
const dropped = (id: string): StorageResponse => ({ kind: "droppedId", id });
const stats = (id: string, n: bigint): SourceStatistics => ({
  id,
  messagesReceived: n,
  bytesReceived: n,
  updatesStaged: n,
  updatesCommitted: n,
  recordsIndexed: n,
  snapshotCommitted: true,
});

function collections() {
  const events: CollectionEvent[] = [];
  const c = new StorageCollections({ logger: silent, emit: (e) => events.push(e), now: () => 5 });
  c.addIngestion("i1", "u1", ["u1", "u2"]);
  return { c, events };
}

describe("StorageCollections", () => {
  it("takes the max of the replicas' uppers and never moves back", async () => {
    const { c, events } = collections();
    c.absorb("i1", "r1", upper("u1", 5n));
    c.absorb("i1", "r2", upper("u1", 3n)); // behind: no change
    expect(c.frontier("u1")).toBe(5n);
    const wait = c.waitForUpper("u1", 8n);
    c.absorb("i1", "r2", upper("u1", 9n));
    await wait;
    c.replicaReset("i1", "r2", false); // rehydration: it starts over from its minimum
    c.absorb("i1", "r2", upper("u1", 1n));
    expect(c.frontier("u1")).toBe(9n);
    c.absorb("i1", "r1", upper("u1", null));
    expect(c.frontier("u1")).toBeNull();
    expect(
      events.flatMap((e) => (e.kind === "writeFrontier" && e.id === "u1" ? [e.frontier] : [])),
    ).toEqual([5n, 9n, null]);
    await expect(c.waitForUpper("u2", 1n, 20)).rejects.toBeInstanceOf(UpperWaitTimedOut);
  });

  it("forgets a dropped collection once every replica that reported it sent droppedId", () => {
    const { c, events } = collections();
    c.absorb("i1", "r1", upper("u1", 2n));
    c.absorb("i1", "r2", upper("u1", 2n));
    c.drop(["u1"]);
    expect(c.has("u1")).toBe(false);
    expect(() => c.setSince("u1", 3n)).toThrow(CollectionMissing);
    c.absorb("i1", "r3", upper("u1", 4n)); // late upper from r3: it will send droppedId too
    c.absorb("i1", "r1", dropped("u1"));
    c.absorb("i1", "r1", upper("u1", 7n)); // late upper after its droppedId: ignored
    c.absorb("i1", "r2", dropped("u1"));
    expect(c.frontier("u1")).toBe(2n); // still pending: r3 owes one
    c.replicaReset("i1", "r3", true); // r3 failed: owes nothing
    expect(() => c.frontier("u1")).toThrow(/was dropped/);
    expect(events.filter((e) => e.kind === "collectionForgotten")).toHaveLength(1);
    // Late responses for a forgotten id are not soft errors; unknown ids are.
    c.absorb("i1", "r1", upper("u1", 9n));
    expect(c.softErrors).toBe(0);
    c.absorb("i1", "r1", upper("u77", 9n));
    c.absorb("i2", "r1", upper("u2", 9n)); // another instance's replica
    expect(c.softErrors).toBe(2);
    expect(c.frontier("u2")).toBe(0n);
  });

  it("forgets at once when no replica reported the collection", () => {
    const { c } = collections();
    c.drop(["u2"]);
    expect(() => c.frontier("u2")).toThrow(CollectionMissing);
    expect(c.frontier("u1")).toBe(0n);
  });

  it("merges statistics per (collection, replica) and ignores unknown collections", () => {
    const { c } = collections();
    const response = (n: bigint): StorageResponse => ({
      kind: "statisticsUpdates",
      sources: [stats("u2", n), stats("u99", n)],
      sinks: [],
    });
    c.absorb("i1", "r1", response(1n));
    c.absorb("i1", "r2", response(2n));
    c.absorb("i1", "r1", response(3n));
    expect([...c.statistics("u2")].map(([r, s]) => [r, s.messagesReceived])).toEqual([
      ["r1", 3n],
      ["r2", 2n],
    ]);
    expect(() => c.statistics("u99")).toThrow(CollectionMissing);
    c.replicaReset("i1", "r2", true);
    expect([...c.statistics("u2").keys()]).toEqual(["r1"]);
  });

  it("keeps a status history: replica-stamped, paused not repeated, nothing after dropped", () => {
    const { c } = collections();
    const status = (s: "starting" | "running" | "paused"): StorageResponse => ({
      kind: "statusUpdate",
      update: { id: "u1", status: s, timestampMs: 1n, hints: [], namespacedErrors: new Map() },
    });
    c.absorb("i1", "r1", status("starting"));
    c.absorb("i1", "r1", status("running"));
    c.injectStatus("i1", "u1", "paused", [REPLICA_DROPPED_HINT]);
    c.injectStatus("i1", "u1", "paused", [NO_REPLICA_HINT]);
    c.injectStatus("i1", "u1", "dropped");
    c.absorb("i1", "r2", status("running"));
    expect(c.statusHistory("u1").map((s) => [s.status, s.replicaId])).toEqual([
      ["starting", "r1"],
      ["running", "r1"],
      ["paused", undefined],
      ["dropped", undefined],
    ]);
    expect(c.status("u2")?.status).toBe("dropped"); // an export answers with its ingestion's
    expect(() => c.status("u5")).toThrow(CollectionMissing);
  });

  it("refuses compaction regressions and conflicting collection ids", () => {
    const { c } = collections();
    c.setSince("u1", 5n);
    expect(() => c.setSince("u1", 4n)).toThrow(CompactionRegression);
    expect(() => c.addIngestion("i1", "u9", ["u9", "u2"])).toThrow(CollectionExists);
  });
});

describe("createStorageController without replicas", () => {
  it("pauses ingestions with no replica, keeps the history bounded, counts history metrics", async () => {
    const registry = new Registry();
    const controller = createStorageController({ generation: 3n, registry });
    try {
      controller.createInstance("i1", { connector: connectLegacyStorageReplica });
      expect(() =>
        controller.createInstance("i1", { connector: connectLegacyStorageReplica }),
      ).toThrow(InstanceExists);
      expect(() => controller.addReplica("i9", "u1", { storageUrl: "http://x" })).toThrow(
        InstanceMissing,
      );
      controller.createIngestion("i1", "u1", ingestionDescription(["u1", "u2"]));
      expect(controller.status("u1")).toMatchObject({ status: "paused", hints: [NO_REPLICA_HINT] });
      expect(() =>
        controller.createIngestion("i1", "u3", ingestionDescription(["u3", "u2"])),
      ).toThrow(CollectionExists);
      controller.allowCompaction("u2", 4n);
      expect(() => controller.allowCompaction("u2", 3n)).toThrow(CompactionRegression);

      let maxSize = 0;
      for (let k = 0; k < 500; k++) {
        const id = `u${1000 + k}`;
        controller.createIngestion("i1", id, ingestionDescription([id]));
        controller.allowCompaction(id, 1n);
        controller.dropIngestion(id);
        maxSize = Math.max(maxSize, controller.history("i1").length);
        expect(controller.status(id)?.status).toBe("dropped");
      }
      expect(maxSize).toBeLessThanOrEqual(6);
      expect(controller.history("i1").map((c) => c.kind)).toEqual([
        "hello",
        "runIngestion",
        "allowCompaction",
        "initializationComplete",
        "allowWrites",
      ]);
      const gauge = await registry
        .getSingleMetric("mz_storage_controller_history_command_count")!
        .get();
      const byKind = Object.fromEntries(gauge.values.map((v) => [v.labels.command_type, v.value]));
      expect(byKind).toMatchObject({ hello: 1, runIngestion: 1, allowCompaction: 1 });
      expect(() => controller.frontier("u1000")).toThrow(ControllerError);
    } finally {
      await controller.close();
    }
  });

  it("a read-only instance sends no allowWrites until asked", async () => {
    const controller = createStorageController({ generation: 1n });
    try {
      controller.createInstance("i1", { connector: connectLegacyStorageReplica, readOnly: true });
      expect(controller.history("i1").map((c) => c.kind)).toEqual([
        "hello",
        "initializationComplete",
      ]);
      controller.allowWrites("i1");
      expect(controller.history("i1").at(-1)?.kind).toBe("allowWrites");
    } finally {
      await controller.close();
    }
  });
});

describe("backoffDelayMs", () => {
  it("doubles from 125 ms, caps at 1 s, jitters by ±20 %", () => {
    const mid = () => 0.5;
    expect([1, 2, 3, 4, 5, 30].map((a) => backoffDelayMs(a, undefined, mid))).toEqual([
      125, 250, 500, 1000, 1000, 1000,
    ]);
    expect(backoffDelayMs(1, undefined, () => 0)).toBe(100);
    expect(backoffDelayMs(9, undefined, () => 0.999999)).toBe(1200);
  });
});
