/**
 * `dropInstance`: the instance's ingestions and collections go, its history counts leave the
 * gauge, and the id becomes unknown (`InstanceMissing`) — no replica needed. With `keepReplicas`
 * (a live controller rebuild) the replicas are told nothing.
 */
import { pino } from "pino";
import { Registry } from "prom-client";
import { expect, it } from "vitest";
import {
  connectLegacyStorageReplica,
  createStorageController,
  InstanceMissing,
  type StorageReplicaConnector,
} from "../src/index.js";

it("drops the instance with its ingestions and history", async () => {
  const registry = new Registry();
  const c = createStorageController({
    generation: 1n,
    logger: pino({ level: "silent" }),
    registry,
  });
  c.createInstance("u1", { connector: connectLegacyStorageReplica });
  c.createInstance("u2", { connector: connectLegacyStorageReplica });
  const ingestion = (id: string) => ({
    sourceExports: [{ id: `${id}0`, shardId: `s-${id}`, outputIndex: 0, name: "counter" }],
    connection: {
      kind: "loadGenerator" as const,
      generator: { kind: "counter" as const },
      seed: 1n,
      tickIntervalMs: 100,
    },
  });
  c.createIngestion("u1", "u10", ingestion("u10"));
  c.createIngestion("u2", "u20", ingestion("u20"));
  const runIngestions = async () =>
    (await registry.getSingleMetric("mz_storage_controller_history_command_count")?.get())?.values
      .filter((v) => v.labels.command_type === "runIngestion")
      .reduce((sum, v) => sum + v.value, 0);
  expect(await runIngestions()).toBe(2);
  await c.dropInstance("u1");
  expect(c.hasCollection("u10")).toBe(false);
  expect(c.hasCollection("u100")).toBe(false);
  expect(c.hasCollection("u20")).toBe(true);
  expect(() => c.history("u1")).toThrow(InstanceMissing);
  await expect(c.dropInstance("u1")).rejects.toBeInstanceOf(InstanceMissing);
  expect(await runIngestions()).toBe(1);
  // The dropped instance's series are gone, not left at their last value.
  const series = await registry
    .getSingleMetric("mz_storage_controller_history_command_count")
    ?.get();
  expect(series?.values.filter((v) => v.labels.instance_id === "u1")).toEqual([]);
  // The id can be used again.
  c.createInstance("u1", { connector: connectLegacyStorageReplica });
  expect(c.history("u1").map((x) => x.kind)).toContain("hello");
  await c.close();
});

it("with keepReplicas, tells its replicas nothing: their connections stop first", async () => {
  /** A replica connection that records every command it is given (no process). */
  const sent: string[] = [];
  const recording: StorageReplicaConnector = (o) => {
    queueMicrotask(() => o.onConnected(o.epoch));
    return {
      epoch: o.epoch,
      state: "connected" as const,
      send: (commands) => {
        for (const c of commands) sent.push(c.kind);
      },
      close: async () => {},
    } as ReturnType<StorageReplicaConnector>;
  };
  for (const keepReplicas of [false, true]) {
    sent.length = 0;
    const c = createStorageController({ generation: 1n, logger: pino({ level: "silent" }) });
    c.createInstance("u1", { connector: recording });
    c.addReplica("u1", "u5", { storageUrl: "http://127.0.0.1:1" });
    await new Promise((r) => setTimeout(r, 0));
    c.createIngestion("u1", "u10", {
      sourceExports: [{ id: "u100", shardId: "s-u10", outputIndex: 0, name: "counter" }],
      connection: {
        kind: "loadGenerator" as const,
        generator: { kind: "counter" as const },
        seed: 1n,
        tickIntervalMs: 100,
      },
    });
    expect(sent).toContain("runIngestion");
    sent.length = 0;
    await c.dropInstance("u1", { keepReplicas });
    // A plain drop drops the ingestion on the replica; a rebuild's keeps it running there.
    expect(sent.includes("allowCompaction"), `keepReplicas ${keepReplicas}`).toBe(!keepReplicas);
    expect(c.hasCollection("u100")).toBe(false);
    await c.close();
  }
});

it("takes a connector that reports the connection at once, from inside the connect call", async () => {
  // A one-port replica whose shared stream is already open joins synchronously (ClusterStreams).
  const events: string[] = [];
  const atOnce: StorageReplicaConnector = (o) => {
    o.onConnected(o.epoch);
    return {
      epoch: o.epoch,
      state: "connected" as const,
      send: () => {},
      close: async () => {},
    } as ReturnType<StorageReplicaConnector>;
  };
  const c = createStorageController({ generation: 1n, logger: pino({ level: "silent" }) });
  c.onEvent((e) => events.push(e.kind));
  c.createInstance("u1", { connector: atOnce });
  c.addReplica("u1", "u5", { storageUrl: "http://127.0.0.1:1" });
  await new Promise((r) => setTimeout(r, 0));
  expect(events).toContain("replicaConnected");
  await c.close();
});
