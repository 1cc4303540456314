/**
 * `Clusters.reseat` (a live flip's `reseat` or `record` step) reconnects a legacy cluster's
 * replicas only when the connectors connect them otherwise (`connectorsDiffer`: the replicas
 * seam). A migration stage change that changes nothing a replica runs (`client` shadow → live:
 * only the authoritative path moves) keeps every connection: reconnecting them left the
 * authoritative path without a connected replica right after the flip, and peeks fell back to
 * the other path (the `client` flake of `e2e/tests/migration-stages.e2e.test.ts`).
 *
 * The legacy path over the in-memory fakes (`testdata/cluster-controllers/legacy-cluster.ts`);
 * the reconnects are counted at the compute and storage controllers' `reseatReplicas`.
 */
import { type Phase, type PhaseFlagValue, PhaseSet } from "@mzts/flags";
import { afterEach, describe, expect, it, vi } from "vitest";
import { legacyClusters } from "../testdata/cluster-controllers/legacy-clusters.js";

const CLUSTER = { id: "u2", options: {} };
type Flags = { [P in Phase]?: PhaseFlagValue };

const cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

async function setup(flags: Flags) {
  const { clusters, parts, close } = legacyClusters((id) => PhaseSet.of(id, flags));
  cleanup.push(close);
  await clusters.build(CLUSTER);
  const compute = vi.spyOn(parts.compute, "reseatReplicas");
  const storage = vi.spyOn(parts.storage, "reseatReplicas");
  const reconnects = () => compute.mock.calls.length + storage.mock.calls.length;
  return { clusters, reconnects };
}

describe("Clusters.reseat reconnects the replicas only when their connectors change", () => {
  it("client shadow → live (and back): no replica reconnects; the selection records the stage", async () => {
    const shadow: Flags = { servers: true, replicas: true, client: "shadow" };
    const { clusters, reconnects } = await setup(shadow);
    const live = PhaseSet.of(CLUSTER.id, { ...shadow, client: "live" });
    const chosen = await clusters.reseat(CLUSTER.id, live);
    expect(reconnects()).toBe(0);
    expect(chosen.phases.stage("client")).toBe("live");
    expect(clusters.selection(CLUSTER.id)?.phases.stage("client")).toBe("live");
    await clusters.reseat(CLUSTER.id, PhaseSet.of(CLUSTER.id, shadow));
    expect(reconnects()).toBe(0);
  });

  it("a record of the same PhaseSet reconnects nothing", async () => {
    const flags: Flags = { servers: true };
    const { clusters, reconnects } = await setup(flags);
    await clusters.reseat(CLUSTER.id, PhaseSet.of(CLUSTER.id, flags));
    expect(reconnects()).toBe(0);
  });

  it("a replicas change reconnects every replica through the new connectors", async () => {
    const { clusters, reconnects } = await setup({});
    await clusters.reseat(CLUSTER.id, PhaseSet.of(CLUSTER.id, { replicas: true }));
    expect(reconnects()).toBe(2); // compute and storage
    await clusters.reseat(CLUSTER.id, PhaseSet.of(CLUSTER.id, { replicas: "shadow" }));
    expect(reconnects()).toBe(4);
  });
});
