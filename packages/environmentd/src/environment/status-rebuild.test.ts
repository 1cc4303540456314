/**
 * Status while a cluster's controller is rebuilt (a live flip of `state`, issue 15): the new
 * controller is built but its collections are not installed yet (a subsource's shard not yet
 * registered, its ingestion not yet created). Status used to read such a collection's since
 * from the half-installed controller and fail the whole call with `frontiers: u14 is not a live
 * collection`; it now leaves the collection out until the rebuild is done and shows the rebuild
 * (`flip.state` `rebuilding`). Outside a rebuild the same failure still fails the call (a real
 * missing collection is not hidden).
 *
 * The legacy path over the in-memory fakes (`testdata/cluster-controllers/legacy-cluster.ts`),
 * no replicas; shards are not owned here (a subsource's since comes from its controller).
 */
import { CollectionMissing } from "@mzts/controller-unified/state";
import { PhaseSet } from "@mzts/flags";
import { afterEach, describe, expect, it } from "vitest";
import type { Cluster } from "../catalog/catalog.js";
import { legacyClusters } from "../testdata/cluster-controllers/legacy-clusters.js";
import { Frontiers } from "./frontiers.js";
import type { ObjectCache } from "./object-cache.js";
import type { Resolved, ResolvedObjects } from "./objects.js";
import type { Replicas } from "./replicas.js";
import type { Shards } from "./shards.js";
import { Status } from "./status.js";

const CLUSTER = { id: "u2", name: "c", options: {} } as unknown as Cluster;
const SUBSOURCE: Resolved = {
  id: "u14",
  name: "auction_bids",
  kind: "subsource",
  clusterId: "u2",
  arity: 5,
  shardId: "s14",
  key: [],
  inputs: [],
};

const cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

async function setup() {
  const { clusters, close } = legacyClusters((id) => PhaseSet.of(id, {}));
  cleanup.push(close);
  await clusters.build(CLUSTER);
  // No shard is owned here: the subsource's since is its controller's (`Frontiers.sinceOf`).
  const shards = { has: () => false } as unknown as Shards;
  const objects: ResolvedObjects = {
    byName: new Map([[SUBSOURCE.name, SUBSOURCE]]),
    byId: new Map([[SUBSOURCE.id, SUBSOURCE]]),
    items: [],
    clusters: [CLUSTER],
    replicas: [],
  };
  const status = new Status({
    catalog: {} as never,
    objects: { get: async () => objects } as unknown as ObjectCache,
    frontiers: new Frontiers({ clusters, shards }),
    replicas: {
      ofCluster: () => [],
      healthOf: () => ({ health: "ready", reason: "" }),
    } as unknown as Replicas,
    clusters,
    readPhases: async (id) => PhaseSet.of(id, {}),
  });
  return { clusters, status };
}

describe("status during a rebuild of the cluster's controller", () => {
  it("shows the rebuild and leaves out what the new controller does not know yet", async () => {
    const { clusters, status } = await setup();
    // Outside a rebuild a missing collection fails the call (nothing is hidden).
    await expect(status.status({})).rejects.toThrow(CollectionMissing);
    let release = () => {};
    const installing = new Promise<void>((r) => {
      release = r;
    });
    let reached = () => {};
    const halfway = new Promise<void>((r) => {
      reached = r;
    });
    const rebuilt = clusters.rebuild(
      CLUSTER,
      async () => {
        reached(); // the new controller is the cluster's; nothing installed yet
        await installing;
      },
      0,
    );
    await halfway;
    const s = await status.status({});
    const c = s.clusters[0];
    expect(c?.collections).toEqual([]);
    expect(c?.flip?.state).toBe("rebuilding");
    expect(c?.flip?.step).toMatch(/rebuilding the cluster's controller/);
    release();
    await rebuilt;
    // Done: no rebuild shown; the still-missing collection fails the call again.
    await expect(status.status({})).rejects.toThrow(CollectionMissing);
  });
});
