/**
 * The README's usage snippets, run as tests (style §12): keep them in sync with README.md.
 */
import { createHello, type StorageCommand, StorageCommandHistory } from "@mzts/protocol";
import {
  ingestionDescription,
  runIngestion,
  runSink,
} from "@mzts/protocol/testing/storage-commands";
import { pino } from "pino";
import { Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import {
  connectLegacyStorageReplica,
  createStorageController,
  createStorageControllerMetrics,
  IngestionPlacement,
  placedObjectOf,
} from "./index.js";

const runIngestionCommand = runIngestion("u1", ["u2"]) as Extract<
  StorageCommand,
  { kind: "runIngestion" }
>;
const { description } = runIngestionCommand;
const sink = (runSink("u3", "u1") as Extract<StorageCommand, { kind: "runSink" }>).description;

function readmeHistory(): StorageCommandHistory {
  const registry = new Registry();
  const history = new StorageCommandHistory({
    metrics: createStorageControllerMetrics(registry).historyCountsFor("u1"),
  });
  history.push({ kind: "hello", hello: createHello(1n) });
  history.push({ kind: "runIngestion", id: "u1", description }); // writes u1 and u2
  history.push({ kind: "runSink", id: "u3", description: sink });
  history.push({ kind: "allowCompaction", id: "u2", frontier: null }); // drop subsource u2
  history.push({ kind: "allowCompaction", id: "u3", frontier: 5n }); // informational for sinks
  history.push({ kind: "initializationComplete" });
  history.reduce();
  return history;
}

describe("README", () => {
  it("createStorageController (replica unreachable: the task keeps retrying)", async () => {
    const registry = new Registry();
    const logger = pino({ level: "silent" });
    const location = { storageUrl: "http://127.0.0.1:1" };
    const description = ingestionDescription(["u10"]);
    const controller = createStorageController({ generation: 1n, logger, registry });
    controller.createInstance("u1", { connector: connectLegacyStorageReplica });
    // controller-unified's README: the composition root's call, with optional tuning/readOnly.
    const tuning = { backoff: { initialMs: 50, maxMs: 200, jitter: 0.1 } };
    controller.createInstance("u2", {
      connector: connectLegacyStorageReplica,
      tuning,
      readOnly: true,
    });
    expect(controller.history("u2").map((c) => c.kind)).toEqual([
      "hello",
      "initializationComplete",
    ]);
    controller.addReplica("u1", "u1", { storageUrl: location.storageUrl });
    controller.createIngestion("u1", "u10", description);
    expect(controller.status("u10")).toBeUndefined(); // placed on u1; no status yet
    expect(controller.replicas("u1")).toMatchObject([{ replicaId: "u1", state: "connecting" }]);
    await expect(
      controller.waitForUpper("u10", 1_700_000_005_000n, { timeoutMs: 50 }),
    ).rejects.toThrow(/did not reach/);
    controller.allowCompaction("u10", 1_700_000_004_000n);
    controller.dropIngestion("u10");
    expect(controller.status("u10")?.status).toBe("dropped");
    await controller.dropReplica("u1", "u1");
    expect(controller.replicas("u1")).toEqual([]);
    await controller.close();
  });

  it("StorageCommandHistory", () => {
    const history = readmeHistory();
    expect(history.commands().map((c) => c.kind)).toEqual([
      "hello",
      "runIngestion",
      "runSink",
      "allowCompaction",
      "initializationComplete",
    ]);
  });

  it("IngestionPlacement", () => {
    const history = readmeHistory();
    const placement = new IngestionPlacement(["u2", "u1"]);
    expect(placement.addObject("u1", placedObjectOf(runIngestionCommand))).toEqual(["u1", "u2"]);
    expect(placement.addObject("u3", { preference: "singleReplica" })).toEqual(["u1"]);
    expect(placement.addReplica("u0")).toEqual(["u1"]);
    expect(placement.replicasFor("u3")).toEqual(["u1"]);
    expect(placement.removeReplica("u1")).toEqual([{ objectId: "u3", from: "u1", to: "u0" }]);
    expect(
      placement.commandsFor("u2", history.commands()).some((c) => "id" in c && c.id === "u3"),
    ).toBe(false);
    placement.removeReplica("u0");
    placement.removeReplica("u2");
    expect(placement.pausedObjects()).toEqual(["u1", "u3"]);
  });
});
