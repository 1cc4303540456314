/**
 * The unified driver's Prometheus series (`driver-metrics.ts`): the legacy controllers' names and
 * labels (`instance_id`, `replica_id`) — commands and responses per workload, replica connects,
 * state-size gauges, peeks by result, the history gauges split by workload — in a registry the
 * legacy controllers already registered them in (the same metric objects), plus the cluster
 * state's own gauges; `close()` removes the cluster's gauge series.
 */
import pino from "pino";
import { Registry } from "prom-client";
import { afterEach, describe, expect, it, vi } from "vitest";
import { controllerMetrics, storageControllerMetrics } from "./controller-metrics.js";
import { MetricsConflict } from "./errors.js";
import { fakeSinceHandles } from "./testdata/fake-since-handles.js";
import { CLUSTER, LOGGING } from "./testdata/legacy-cluster.js";
import { subscribeOf } from "./testdata/objects.js";
import { flush } from "./testdata/scenario.js";
import { unifiedCluster, withReadableIndex } from "./testdata/unified-cluster.js";
import { UnifiedClusterController } from "./unified-cluster-controller.js";

let open: UnifiedClusterController[] = [];
afterEach(async () => {
  for (const c of open) await c.close();
  open = [];
});

/** The value of `name` at exactly `labels` (undefined: no such series). */
async function value(
  registry: Registry,
  name: string,
  labels: Record<string, string>,
): Promise<number | undefined> {
  const m = registry.getSingleMetric(name);
  if (m === undefined) throw new Error(`${name} is not registered`);
  const { values } = await m.get();
  const want = Object.entries(labels);
  const hit = values.find(
    (v) =>
      want.every(([k, x]) => v.labels[k] === x) &&
      Object.keys(v.labels).filter((k) => k !== "le").length === want.length,
  );
  return hit?.value;
}

describe("UnifiedClusterController: metrics", () => {
  it("writes the legacy controllers' series (shared objects) and the cluster state gauges", async () => {
    const registry = new Registry();
    // The legacy controllers of the environment registered their series first.
    const legacyCompute = controllerMetrics(registry, (n, r) => new MetricsConflict(n, r));
    storageControllerMetrics(registry);
    const u = unifiedCluster(2n, 0, 60_000, { reportSent: true, metrics: { registry } });
    const { controller: c, computeFake: compute } = u;
    open.push(c);
    await withReadableIndex(u);
    const peeked = c.peek({ target: "u20", timestamp: 4n });
    const sent = compute.current("u1")?.sent.find((x) => x.kind === "peek");
    if (sent?.kind !== "peek") throw new Error("no peek");
    compute.respond("u1", [
      { kind: "peekResponse", uuid: sent.peek.uuid, response: { kind: "rows", rows: [] } },
    ]);
    await peeked;
    await expect(c.peek({ target: "u20", timestamp: 4n, timeoutMs: 5 })).rejects.toThrow();
    c.subscribe(subscribeOf("u30", 4n, ["u11"]));

    const inst = { instance_id: CLUSTER };
    const rep = { ...inst, replica_id: "u1" };
    const v = (name: string, labels: Record<string, string>) => value(registry, name, labels);
    expect(await v("mz_compute_commands_total", { ...rep, command_type: "createDataflow" })).toBe(
      2,
    );
    expect(await v("mz_storage_commands_total", { ...rep, command_type: "runIngestion" })).toBe(1);
    expect(await v("mz_compute_responses_total", { ...rep, response_type: "frontiers" })).toBe(1);
    expect(await v("mz_storage_responses_total", { ...rep, response_type: "frontierUpper" })).toBe(
      1,
    );
    expect(await v("mz_compute_controller_replica_connects_total", rep)).toBe(1);
    expect(await v("mz_storage_controller_replica_connects_total", rep)).toBe(1);
    expect(await v("mz_compute_controller_replica_count", inst)).toBe(1);
    expect(await v("mz_compute_controller_connected_replica_count", inst)).toBe(1);
    expect(await v("mz_storage_controller_connected_replica_count", inst)).toBe(1);
    expect(await v("mz_compute_controller_collection_count", inst)).toBe(1);
    expect(await v("mz_compute_controller_subscribe_count", inst)).toBe(1);
    expect(await v("mz_compute_controller_peek_count", inst)).toBe(0);
    expect(await v("mz_compute_peeks_total", { ...inst, result: "rows" })).toBe(1);
    expect(await v("mz_compute_peeks_total", { ...inst, result: "canceled" })).toBe(1);
    const historyKind = { ...inst, command_type: "createDataflow" };
    expect(await v("mz_compute_controller_history_command_count", historyKind)).toBe(2);
    expect(await v("mz_compute_controller_history_dataflow_count", inst)).toBe(2);
    expect(
      await v("mz_storage_controller_history_command_count", {
        ...inst,
        command_type: "runIngestion",
      }),
    ).toBe(1);
    expect(await v("mz_cluster_state_collections", inst)).toBe(3); // u10, u11, u20
    expect(await v("mz_cluster_state_history_commands", inst)).toBe(c.status().historyCommands);
    // The legacy controllers' objects are the ones written (one set per registry).
    expect((await legacyCompute.replicaCount.get()).values).toEqual([
      expect.objectContaining({ labels: inst, value: 1 }),
    ]);

    await c.close();
    expect(await v("mz_compute_controller_replica_count", inst)).toBeUndefined();
    expect(await v("mz_cluster_state_collections", inst)).toBeUndefined();
    expect(await v("mz_compute_controller_history_dataflow_count", inst)).toBeUndefined();
    // Counters are totals: they stay.
    expect(await v("mz_compute_peeks_total", { ...inst, result: "rows" })).toBe(1);
  });

  it("counts compute commands at a scrape and sets only changed gauges (issue 16: per-peek cost)", async () => {
    const registry = new Registry();
    const compute = controllerMetrics(registry, (n, r) => new MetricsConflict(n, r));
    const u = unifiedCluster(2n, 0, 60_000, { reportSent: true, metrics: { registry } });
    const { controller: c, computeFake } = u;
    open.push(c);
    await withReadableIndex(u);
    await flush();
    const inc = vi.spyOn(compute.commandsTotal, "inc");
    const setReplicas = vi.spyOn(compute.replicaCount, "set");
    const setPeeks = vi.spyOn(compute.peekCount, "set");
    const n = 20;
    for (let i = 0; i < n; i++) {
      const peeked = c.peek({ target: "u20", timestamp: 4n });
      await flush();
      const sent = computeFake
        .current("u1")
        ?.sent.filter((x) => x.kind === "peek")
        .at(-1);
      if (sent?.kind !== "peek") throw new Error("no peek");
      computeFake.respond("u1", [
        { kind: "peekResponse", uuid: sent.peek.uuid, response: { kind: "rows", rows: [] } },
      ]);
      await peeked;
    }
    await flush();
    // No labelled increment per command, no gauge set per call (the values did not change, or
    // are read at the scrape).
    expect(inc).not.toHaveBeenCalled();
    expect(setReplicas).not.toHaveBeenCalled();
    expect(setPeeks).not.toHaveBeenCalled();
    // A scrape reads the counts as if each command had been counted when sent.
    const rep = { instance_id: CLUSTER, replica_id: "u1" };
    const v = (type: string) =>
      value(registry, "mz_compute_commands_total", { ...rep, command_type: type });
    expect(await v("peek")).toBe(n);
    expect(await v("cancelPeek")).toBe(n);
    expect(inc.mock.calls.length).toBeLessThanOrEqual(computeFake.current("u1")!.sent.length);
    expect(
      await value(registry, "mz_compute_controller_peek_count", { instance_id: CLUSTER }),
    ).toBe(0);
    // Read twice: the tally was added once.
    expect(await v("peek")).toBe(n);
  });

  it("a name registered by other code is a typed conflict at construction", () => {
    const registry = new Registry();
    registry.registerMetric(
      new (class {
        name = "mz_compute_commands_total";
        help = "x";
        async get() {
          return {
            name: this.name,
            help: this.help,
            type: "counter",
            values: [],
            aggregator: "sum",
          };
        }
        reset() {}
      })() as never,
    );
    expect(
      () =>
        new UnifiedClusterController({
          clusterId: CLUSTER,
          generation: 1n,
          logging: LOGGING,
          connectors: {},
          sinceHandles: fakeSinceHandles(),
          logger: pino({ level: "silent" }),
          tickIntervalMs: 0,
          metrics: { registry },
        }),
    ).toThrow(MetricsConflict);
  });
});
