/**
 * The storage history gauge: `createStorageControllerMetrics(registry).historyCountsFor(id)` mirrors a
 * `StorageCommandHistory`'s per-kind counts.
 */
import { StorageCommandHistory } from "@mzts/protocol";
import {
  config,
  hello,
  initializationComplete,
  runIngestion,
} from "@mzts/protocol/testing/storage-commands";
import { Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import { createStorageControllerMetrics } from "./metrics.js";

describe("the storage controller metrics are shared with the unified cluster controller", () => {
  it("one set per registry, whoever asks first", async () => {
    const { storageControllerMetrics } = await import("@mzts/controller-unified/state");
    const registry = new Registry();
    const unified = storageControllerMetrics(registry);
    expect(createStorageControllerMetrics(registry)).toBe(unified);
  });
});

describe("StorageCommandHistory counts and metrics", () => {
  it("counts per kind, set during reduction and incremented between", async () => {
    const registry = new Registry();
    const metrics = createStorageControllerMetrics(registry);
    const history = new StorageCommandHistory({ metrics: metrics.historyCountsFor("u1") });
    const gauge = async () => {
      const m = await metrics.historyCommandCount.get();
      return Object.fromEntries(
        m.values
          .filter((v) => v.labels.instance_id === "u1")
          .map((v) => [v.labels.command_type, v.value]),
      );
    };
    expect((await gauge()).hello).toBe(0);

    history.push(hello());
    history.push(config({ a: "1" }));
    history.push(initializationComplete);
    history.push(runIngestion("u1"));
    history.push(config({ b: "2" }));
    expect(history.counts().get("updateConfiguration")).toBe(2);
    expect((await gauge()).updateConfiguration).toBe(2);

    history.reduce();
    expect(Object.fromEntries(history.counts())).toEqual({
      hello: 1,
      initializationComplete: 1,
      allowWrites: 0,
      updateConfiguration: 1,
      runIngestion: 1,
      runSink: 0,
      allowCompaction: 0,
    });
    expect(await gauge()).toEqual(Object.fromEntries(history.counts()));
    expect(registry.getSingleMetric("mz_storage_controller_history_command_count")).toBeDefined();
  });

  it("keeps one series per instance and removes a forgotten instance's", async () => {
    const registry = new Registry();
    const metrics = createStorageControllerMetrics(registry);
    const a = new StorageCommandHistory({ metrics: metrics.historyCountsFor("u1") });
    const b = new StorageCommandHistory({ metrics: metrics.historyCountsFor("u2") });
    expect(metrics.historyCountsFor("u1")).toBe(metrics.historyCountsFor("u1"));
    a.push(runIngestion("u10"));
    b.push(runIngestion("u20"));
    b.push(runIngestion("u21"));
    metrics.connectedReplicaCount.inc({ instance_id: "u2" });
    const ingestions = async () =>
      Object.fromEntries(
        (await metrics.historyCommandCount.get()).values
          .filter((v) => v.labels.command_type === "runIngestion")
          .map((v) => [v.labels.instance_id, v.value]),
      );
    expect(await ingestions()).toEqual({ u1: 1, u2: 2 });
    metrics.forgetInstance("u2");
    expect(await ingestions()).toEqual({ u1: 1 });
    expect((await metrics.connectedReplicaCount.get()).values).toEqual([]);
  });
});
