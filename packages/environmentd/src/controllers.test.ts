/**
 * `selectControllers(phases)`: per cluster, every controller-side seam with its path. `replicas`
 * is built: in force, both replica seams run the unified task (its compute and storage
 * connectors, which carry the unified rehydration policy); off or blocked, the legacy tasks.
 * `client` is built: per replica, its layout picks the cluster stream or the per-workload task.
 * The unbuilt phase in force (state) is reported as accepted with no effect yet.
 */
import { connectLegacyComputeReplica, connectUnifiedComputeReplica } from "@mzts/compute-client";
import { ReplicaTask } from "@mzts/controller-unified";
import { SubConnection } from "@mzts/controller-unified/client";
import { PHASES, PhaseSet } from "@mzts/flags";
import type { ReplicaLayout } from "@mzts/orchestrator";
import { connectLegacyStorageReplica, connectUnifiedStorageReplica } from "@mzts/storage-client";
import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { selectControllers } from "./controllers.js";

describe("selectControllers", () => {
  it("chooses legacy everywhere when no controller-side phase is on", () => {
    const chosen = selectControllers(PhaseSet.of("u1", { servers: true }));
    expect(chosen.compute.perWorkload).toBe(connectLegacyComputeReplica);
    expect(chosen.storage.perWorkload).toBe(connectLegacyStorageReplica);
    expect(chosen.compute.connector.rehydration).toBeUndefined();
    expect(chosen.paths.map((p) => [p.seam, p.flag, p.path])).toEqual([
      ["compute-replicas", "cluster-unification-replicas", "legacy"],
      ["storage-replicas", "cluster-unification-replicas", "legacy"],
      ["client", "cluster-unification-client", "legacy"],
      ["state", "cluster-unification-state", "legacy"],
    ]);
    for (const p of chosen.paths) expect(p.note).not.toMatch(/no effect/);
  });

  it("runs both replica seams unified when replicas is in force (no prerequisite)", () => {
    const chosen = selectControllers(PhaseSet.of("u1", { replicas: true }));
    expect(chosen.compute.perWorkload).toBe(connectUnifiedComputeReplica);
    expect(chosen.storage.perWorkload).toBe(connectUnifiedStorageReplica);
    expect(chosen.compute.connector.rehydration).toBeDefined();
    expect(chosen.storage.connector.rehydration).toBeDefined();
    expect(chosen.paths.map((p) => [p.seam, p.path, p.note])).toEqual([
      ["compute-replicas", "unified", "controller-unified replica task (compute protocol)"],
      ["storage-replicas", "unified", "controller-unified replica task (storage protocol)"],
      ["client", "legacy", "two ports, two streams per replica"],
      ["state", "legacy", "a compute and a storage instance"],
    ]);
  });

  it("reports an unbuilt controller-side phase in force as accepted, no effect yet", () => {
    // A build where `state` is not built yet (every phase is built now).
    const built = PHASES.filter((p) => p !== "state");
    const flags = { servers: true, replicas: true, client: true, state: true };
    const chosen = selectControllers(PhaseSet.of("u1", flags, built));
    expect(chosen.compute.perWorkload).toBe(connectUnifiedComputeReplica);
    expect(chosen.paths.find((x) => x.seam === "client")?.path).toBe("unified");
    const state = chosen.paths.filter((x) => x.seam === "state");
    expect(state).toHaveLength(1);
    for (const p of state) {
      expect(p.path).toBe("legacy");
      expect(p.note).toMatch(new RegExp(`^${p.flag} in force: accepted, no effect yet`));
    }
    // Built (the default now): the state seam runs unified.
    const unified = selectControllers(PhaseSet.of("u1", flags));
    expect(unified.paths.find((x) => x.seam === "state")?.path).toBe("unified");
  });

  it("does not report a blocked phase as in force", () => {
    // client needs servers and replicas: on but blocked, it is not in force.
    const chosen = selectControllers(PhaseSet.of("u1", { client: true }));
    const client = chosen.paths.find((p) => p.seam === "client");
    expect(client?.note).toBe("two ports, two streams per replica");
    expect(chosen.compute.perWorkload).toBe(connectLegacyComputeReplica);
  });

  it("runs the client seam unified when client takes effect", () => {
    const chosen = selectControllers(
      PhaseSet.of("u1", { servers: true, replicas: true, client: true }),
    );
    expect(chosen.paths.find((p) => p.seam === "client")).toMatchObject({
      path: "unified",
      note: "one ClusterService stream per replica (controller-unified client)",
    });
    expect(chosen.compute.connector.rehydration).toBeDefined();
    expect(chosen.storage.connector.rehydration).toBeDefined();
  });

  it("speaks each replica's own layout: one-port replicas ride the cluster stream", async () => {
    const layouts: Record<string, ReplicaLayout> = { r1: "one-port", r2: "two-port" };
    const chosen = selectControllers(PhaseSet.of("u1", { replicas: true }), {
      layoutOf: (id) => layouts[id],
    });
    const open = (replicaId: string) =>
      chosen.compute.connector({
        instanceId: "u1",
        replicaId,
        epoch: 1,
        generation: 1n,
        location: () => "http://127.0.0.1:1",
        replay: () => [],
        logger: pino({ level: "silent" }),
        onConnected: () => {},
        onResponses: () => {},
        onFailed: () => {},
      });
    const r1 = open("r1");
    const r2 = open("r2");
    const r3 = open("r3"); // unknown: the cluster's layout (two-port)
    expect(r1).toBeInstanceOf(SubConnection);
    expect(r2).toBeInstanceOf(ReplicaTask);
    expect(r3).toBeInstanceOf(ReplicaTask);
    expect(chosen.streams.replicaIds()).toEqual(["r1"]);
    await Promise.all([r1.close(), r2.close(), r3.close()]);
    expect(chosen.streams.replicaIds()).toEqual([]);
  });

  it("a state stage reports both controllers running, with the authoritative path", () => {
    const pre = { servers: true, replicas: true, client: true } as const;
    for (const [stage, path] of [
      ["shadow", "legacy"],
      ["live", "unified"],
    ] as const) {
      const chosen = selectControllers(PhaseSet.of("u1", { ...pre, state: stage }));
      expect(chosen.paths.find((p) => p.seam === "state")).toMatchObject({
        path,
        note: `${stage}: both controllers run, ${path} authoritative`,
      });
    }
  });

  it("a replicas migration connects each replica through its slot's task (shadow: legacy answers)", async () => {
    const slots: Record<string, "legacy" | "unified"> = { r1: "legacy", r2: "unified" };
    const chosen = selectControllers(PhaseSet.of("u1", { replicas: "shadow" }), {
      slotOf: (id) => slots[id],
    });
    expect(chosen.paths[0]).toMatchObject({ seam: "compute-replicas", path: "legacy" });
    expect(chosen.paths[0]?.note).toMatch(/^shadow: per replica by slot/);
    // The instance follows the authoritative (legacy) path's rehydration policy.
    expect(chosen.compute.connector.rehydration).toBeUndefined();
    const options = (replicaId: string) => ({
      instanceId: "u1",
      replicaId,
      epoch: 1,
      generation: 1n,
      location: () => "http://127.0.0.1:1",
      replay: () => [],
      logger: pino({ level: "silent" }),
      onConnected: () => {},
      onResponses: () => {},
      onFailed: () => {},
    });
    const compute = ["r1", "r2", "r3"].map((r) => chosen.compute.connector(options(r)));
    const storage = ["r1", "r2"].map((r) => chosen.storage.connector(options(r) as never));
    // r1 legacy, r2 unified (the controller-unified ReplicaTask), r3 unknown: the authoritative.
    expect(compute.map((c) => c instanceof ReplicaTask)).toEqual([false, true, false]);
    expect(storage.map((c) => c instanceof ReplicaTask)).toEqual([false, true]);
    await Promise.all([...compute, ...storage].map((c) => c.close()));
  });
});
