/**
 * `dropInstance`: the instance's ingestions and collections go, its history counts leave the
 * gauge, and the id becomes unknown (`InstanceMissing`) — no replica needed.
 */
import { pino } from "pino";
import { Registry } from "prom-client";
import { expect, it } from "vitest";
import {
  connectLegacyStorageReplica,
  createStorageController,
  InstanceMissing,
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
