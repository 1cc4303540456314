/**
 * `Reads.subscribe` during a live rebuild of its cluster's controller (a flip of `state`): the
 * subscribe waits for the cluster (`Clusters.ready`) before it chooses its as-of. While the
 * rebuild runs, the cluster's controller is the new, half-built one, which does not have the
 * collection yet: choosing the as-of then failed with `frontiers: u14 is not a live collection`
 * (the live-flip e2e's resumed subscribe in CI, fixed in 5522b74).
 *
 * The cluster is a fake with the `Clusters` contract the subscribe relies on (`ready` resolves
 * once no rebuild runs; `controllerOf`/`findController` give the cluster's controller, here the
 * rebuilt one from the start); the frontiers are the real `Frontiers` over it.
 */
import {
  type ClusterController,
  type ClusterSubscribeBatch,
  CollectionMissing,
} from "@mzts/controller-unified/state";
import type { DataflowDescription } from "@mzts/protocol";
import type { Frontier, GlobalId } from "@mzts/repr";
import { describe, expect, it } from "vitest";
import { settles } from "../testdata/settles.js";
import type { Clusters } from "./clusters.js";
import type { Dataflows } from "./dataflows.js";
import { Frontiers } from "./frontiers.js";
import type { ObjectCache } from "./object-cache.js";
import type { Resolved } from "./objects.js";
import { Reads, type ReadsOptions } from "./reads.js";
import type { Shards } from "./shards.js";
import { TransientIds } from "./transient-ids.js";

const CLUSTER = "u1";
const VIEW: Resolved = {
  id: "u14",
  name: "mv",
  kind: "materializedView",
  clusterId: CLUSTER,
  arity: 1,
  key: [],
  inputs: [],
};

/**
 * The rebuilt controller: it has `u14` (since 5, write 9) only once the rebuild re-installed it
 * (`install()`); before, `frontiers(u14)` is `CollectionMissing`, as on the real half-built one.
 */
function rebuiltController() {
  let installed = false;
  const subscribed: DataflowDescription[] = [];
  const frontiers = (id: GlobalId): { since: Frontier; write: Frontier; reported: boolean } => {
    if (!installed || id !== VIEW.id) throw new CollectionMissing(CLUSTER, id, "frontiers");
    return { since: 5n, write: 9n, reported: true };
  };
  const controller = {
    clusterId: CLUSTER,
    path: "unified",
    frontiers,
    hasCollection: (id: GlobalId) => installed && id === VIEW.id,
    subscribe(desc: DataflowDescription): AsyncIterable<ClusterSubscribeBatch> {
      subscribed.push(desc);
      return (async function* () {
        yield { updates: [], upper: null } as unknown as ClusterSubscribeBatch;
      })();
    },
    drop: () => {},
  } as unknown as ClusterController;
  return {
    controller,
    subscribed,
    install: () => {
      installed = true;
    },
  };
}

/** A `Reads` over the fake cluster, whose rebuild ends when `finishRebuild()` is called. */
function setup() {
  const c = rebuiltController();
  let finishRebuild = () => {};
  let rebuilding: Promise<void> | undefined = new Promise<void>((resolve) => {
    finishRebuild = () => {
      c.install();
      rebuilding = undefined;
      resolve();
    };
  });
  const clusters = {
    ready: async (clusterId: GlobalId) => {
      if (clusterId === CLUSTER) await rebuilding;
    },
    controllerOf: () => c.controller,
    findController: () => c.controller,
    wasRebuilt: () => false,
  } as unknown as Clusters;
  const shards = { has: () => false } as unknown as Shards;
  const frontiers = new Frontiers({ clusters, shards });
  const objects = {
    get: async () => ({
      byName: new Map([[VIEW.name, VIEW]]),
      byId: new Map([[VIEW.id, VIEW]]),
      items: [],
      clusters: [],
      replicas: [],
    }),
  } as unknown as ObjectCache;
  const dataflows = {
    sourceImport: (r: Resolved) => ({
      id: r.id,
      shardId: r.shardId ?? "",
      arity: r.arity,
      upper: frontiers.upperOf(r) ?? null,
    }),
  } as unknown as Dataflows;
  const opts = {
    objects,
    clusters,
    shards,
    frontiers,
    dataflows,
    transientIds: new TransientIds(),
    peekTimeoutMs: 1000,
    replicaHealth: () => ({ health: "online", reason: "" }),
  } as unknown as ReadsOptions;
  return { reads: new Reads(opts), finishRebuild, subscribed: c.subscribed };
}

describe("Reads.subscribe during a live controller rebuild", () => {
  it("waits for the cluster's controller, then chooses its as-of from the rebuilt one", async () => {
    const { reads, finishRebuild, subscribed } = setup();
    const stream = reads.subscribe({ object: "mv" })[Symbol.asyncIterator]();
    const first = stream.next();
    // Several turns while the rebuild runs: the subscribe has chosen nothing and not failed.
    expect(await settles(first)).toBe(false);
    expect(subscribed).toEqual([]);

    finishRebuild();
    const batch = await first;
    expect(batch.done).toBe(false);
    expect(batch.value).toEqual({ updates: [], upper: null });
    // As-of = the rebuilt controller's upper − 1 (write 9, since 5): chosen after the rebuild.
    expect(subscribed.map((d) => d.asOf)).toEqual([8n]);
    expect(subscribed[0]?.sourceImports).toEqual([{ id: "u14", shardId: "", arity: 1, upper: 9n }]);
  });
});
