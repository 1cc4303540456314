/**
 * The storage history gauge: `createStorageControllerMetrics(registry).historyCounts` mirrors a
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

describe("StorageCommandHistory counts and metrics", () => {
  it("counts per kind, set during reduction and incremented between", async () => {
    const registry = new Registry();
    const metrics = createStorageControllerMetrics(registry);
    const history = new StorageCommandHistory({ metrics: metrics.historyCounts });
    const gauge = async () => {
      const m = await metrics.historyCommandCount.get();
      return Object.fromEntries(m.values.map((v) => [v.labels.command_type, v.value]));
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
});
