/**
 * The README's usage snippet, run as a test (style §12): keep it in sync with README.md.
 */
import { ComputeCommandHistory, createHello, type InstanceConfig } from "@mzts/protocol";
import { dataflowDesc, peekOf } from "@mzts/protocol/testing/compute-commands";
import type { Frontier, GlobalId } from "@mzts/repr";
import { pino } from "pino";
import { Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import {
  attachHistoryMetrics,
  connectLegacyComputeReplica,
  connectUnifiedComputeReplica,
  createComputeController,
  HISTORY_COMMAND_COUNT,
  LogPeekUntargeted,
} from "./index.js";

describe("README", () => {
  it("createComputeController (replica unreachable: its task keeps connecting)", async () => {
    const registry = new Registry();
    const logger = pino({ level: "silent" });
    const location = { computeUrl: "http://127.0.0.1:1" };
    const controller = createComputeController({ generation: 1n, logger, registry });
    const logging = { enabled: false, intervalMs: 1000, logLogging: false, indexLogs: new Map() };
    controller.createInstance("u1", logging, { connector: connectLegacyComputeReplica }); // per cluster
    controller.addReplica("u1", "u1", { computeUrl: location.computeUrl });
    expect(controller.replicas("u1")).toMatchObject([
      { replicaId: "u1", epoch: 1, state: "connecting", failures: 0 },
    ]);
    expect(controller.failures("u1")).toEqual(new Map()); // nothing quarantined
    expect(controller.replicaFrontiers("u1", "u1")).toEqual(new Map()); // no collection yet
    // A live flip of a controller-side phase: every replica's next incarnation on the new connector.
    await controller.reseatReplicas("u1", connectUnifiedComputeReplica);
    expect(controller.replicas("u1")).toMatchObject([{ replicaId: "u1", epoch: 2, failures: 0 }]);
    // controller-unified's README: the composition root's call, with optional tuning.
    const tuning = { backoff: { initialMs: 50, maxMs: 200, jitter: 0.1 } };
    controller.createInstance("u2", logging, { connector: connectLegacyComputeReplica, tuning });
    expect(controller.historySize("u2")).toBe(3);
    await controller.close();
  });

  it("log indexes: peeked with a target replica only", async () => {
    const logger = pino({ level: "silent" });
    const controller = createComputeController({
      generation: 1n,
      logger,
      registry: new Registry(),
    });
    controller.createInstance(
      "u1",
      {
        enabled: true,
        intervalMs: 1000,
        logLogging: false,
        indexLogs: new Map([["operators", "s1002"]]),
      },
      { connector: connectLegacyComputeReplica },
    );
    expect(controller.logIndexes("u1").get("s1002")).toMatchObject({ id: "s1002", arity: 4 });
    await expect(
      controller.peek("u1", { target: "s1002", timestamp: BigInt(Date.now()) }),
    ).rejects.toBeInstanceOf(LogPeekUntargeted);
    await controller.close();
  });

  it("ComputeCommandHistory", async () => {
    const registry = new Registry();
    const config: InstanceConfig = {
      logging: { enabled: false, intervalMs: 1000, logLogging: false, indexLogs: new Map() },
    };
    const dataflow = dataflowDesc(["u1"], 0n);
    const peek = peekOf("p");
    const storageUppers = new Map<GlobalId, Frontier>([["u0", 12n]]);

    const history = new ComputeCommandHistory();
    const detach = attachHistoryMetrics(history, registry, { instance_id: "u1" });
    history.push({ kind: "hello", hello: createHello(1n) });
    history.push({ kind: "createInstance", config });
    history.push({ kind: "createDataflow", dataflow }); // exports index u1, as of 0
    history.push({ kind: "schedule", id: "u1" });
    history.push({ kind: "peek", peek }); // uuid p
    history.retirePeek(peek.uuid); // answered: the controller also cancels it on every replica
    history.push({ kind: "cancelPeek", uuid: peek.uuid });
    history.push({ kind: "allowCompaction", id: "u1", frontier: 10n }); // folds into the as-of
    history.push({ kind: "initializationComplete" });

    // Before replaying to a new or rehydrated replica:
    history.updateSourceUppers((id) => storageUppers.get(id));
    const replay = history.commands(); // reduces first
    expect(replay.map((c) => c.kind)).toEqual([
      "hello",
      "createInstance",
      "createDataflow",
      "schedule",
      "initializationComplete",
    ]);
    const created = replay[2];
    expect(created?.kind === "createDataflow" && created.dataflow.asOf).toBe(10n);
    expect(created?.kind === "createDataflow" && created.dataflow.sourceImports[0]?.upper).toBe(
      12n,
    );
    expect(history.countsByType().get("peek")).toBe(0);
    const series = (await registry.getSingleMetric(HISTORY_COMMAND_COUNT)?.get())?.values ?? [];
    expect(series.find((v) => v.labels.command_type === "createDataflow")?.value).toBe(1);
    detach(); // instance dropped: removes its series
    expect((await registry.getSingleMetric(HISTORY_COMMAND_COUNT)?.get())?.values).toEqual([]);
  });
});
