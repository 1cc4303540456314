/**
 * `selectControllers(phases)`: per cluster, every controller-side seam with its path. Nothing
 * unified is built yet, so every seam runs legacy with the legacy compute and storage connectors; a phase in
 * force is reported as accepted with no effect yet (design §7), a phase that is off as plain legacy.
 */
import { connectLegacyComputeReplica } from "@mzts/compute-client";
import { PhaseSet } from "@mzts/flags";
import { connectLegacyStorageReplica } from "@mzts/storage-client";
import { describe, expect, it } from "vitest";
import { selectControllers } from "./controllers.js";

describe("selectControllers", () => {
  it("chooses legacy everywhere when no controller-side phase is on", () => {
    const chosen = selectControllers(PhaseSet.of("u1", { servers: true }));
    expect(chosen.compute.connector).toBe(connectLegacyComputeReplica);
    expect(chosen.storage.connector).toBe(connectLegacyStorageReplica);
    expect(chosen.paths.map((p) => [p.seam, p.flag, p.path])).toEqual([
      ["compute-replicas", "cluster-unification-replicas", "legacy"],
      ["storage-replicas", "cluster-unification-replicas", "legacy"],
      ["client", "cluster-unification-client", "legacy"],
      ["state", "cluster-unification-state", "legacy"],
    ]);
    for (const p of chosen.paths) expect(p.note).not.toMatch(/no effect/);
  });

  it("reports a controller-side phase in force as accepted, no effect yet", () => {
    const chosen = selectControllers(
      PhaseSet.of("u1", { servers: true, replicas: true, client: true, state: true }),
    );
    expect(chosen.compute.connector).toBe(connectLegacyComputeReplica);
    expect(chosen.storage.connector).toBe(connectLegacyStorageReplica);
    for (const p of chosen.paths) {
      expect(p.path).toBe("legacy");
      expect(p.note).toMatch(new RegExp(`^${p.flag} in force: accepted, no effect yet`));
    }
  });

  it("does not report a blocked phase as in force", () => {
    // client needs servers and replicas: on but blocked, it is not in force.
    const chosen = selectControllers(PhaseSet.of("u1", { client: true }));
    const client = chosen.paths.find((p) => p.seam === "client");
    expect(client?.note).toBe("two ports, two streams per replica");
  });
});
