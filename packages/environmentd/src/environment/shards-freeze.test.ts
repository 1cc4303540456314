/**
 * `Shards.freeze` while a cluster's controller is rebuilt (a live flip of `state`): the since
 * and upper readers see (status through `Frontiers`, timestamp selection) never move back. The
 * old controller keeps advancing after the freeze until it is replaced, and the new one may start
 * behind what was answered meanwhile — a legacy owner's durable since and last-read upper trail
 * a unified controller's, and a unified owner's upper read at open may trail the write frontier
 * the replicas reported to the old legacy controller. (The flake of
 * `test/state-flip.test.ts`, "since or write frontier never moves back", by 100–200 ms.)
 *
 * Fakes: controllers answering `frontiers(id)` from a mutable record, the legacy read holds'
 * since and upper likewise; the cluster's current controller is swapped as a rebuild does.
 */
import type { ClusterController } from "@mzts/controller-unified/state";
import type { Frontier } from "@mzts/repr";
import type { PersistReadHolds } from "@mzts/storage-client";
import { describe, expect, it } from "vitest";
import type { Clusters } from "./clusters.js";
import { Frontiers } from "./frontiers.js";
import type { Resolved } from "./objects.js";
import { Shards } from "./shards.js";

const CLUSTER = "u1";
const COUNTER: Resolved = {
  id: "u3",
  name: "c_counter",
  kind: "subsource",
  clusterId: CLUSTER,
  arity: 1,
  shardId: "s-counter",
  key: [],
  inputs: [],
};

/** A controller whose frontiers of COUNTER are `f` (mutable). */
function controller(path: "legacy" | "unified", f: { since: Frontier; write: Frontier }) {
  return {
    path,
    hasCollection: (id: string) => id === COUNTER.id,
    frontiers: () => ({ since: f.since, write: f.write, reported: true }),
    openShards: async () => new Map([[COUNTER.id, f.since]]),
  } as unknown as ClusterController;
}

function setup(first: ClusterController) {
  let current: ClusterController | undefined = first;
  const clusters = {
    findController: () => current,
    controllerOf: () => {
      if (current === undefined) throw new Error("no controller");
      return current;
    },
  } as unknown as Clusters;
  const legacyHolds = { since: 1000n as Frontier, upper: 1000n as Frontier };
  const readHolds = {
    has: () => true,
    since: () => legacyHolds.since,
    upper: () => legacyHolds.upper,
  } as unknown as PersistReadHolds;
  const persist = { openShard: async () => ({ upper: async () => 1000n }) };
  const shards = new Shards({ clusters, readHolds, persist });
  const frontiers = new Frontiers({ clusters, shards });
  const seen = { since: [] as Frontier[], upper: [] as (Frontier | undefined)[] };
  const sample = () => {
    seen.since.push(frontiers.sinceOf(COUNTER));
    seen.upper.push(frontiers.upperOf(COUNTER));
  };
  return {
    shards,
    sample,
    seen,
    legacyHolds,
    swap: (c: ClusterController | undefined) => {
      current = c;
    },
  };
}

/** Whether `xs` never moves back. */
const monotone = (xs: readonly (Frontier | undefined)[]) =>
  xs.every((x, i) => i === 0 || (x as bigint) >= (xs[i - 1] as bigint));

describe("Shards.freeze: since and upper never move back across a rebuild", () => {
  it("unified → legacy: the old controller advanced after the freeze; the legacy owner trails it", async () => {
    const old = { since: 1000n as Frontier, write: 1100n as Frontier };
    const s = setup(controller("unified", old));
    await s.shards.open(CLUSTER, [{ id: COUNTER.id, shardId: "s-counter" }]);
    s.sample();
    const thaw = s.shards.freeze(CLUSTER);
    old.since = 1200n; // the old controller keeps compacting and hearing uppers until replaced
    old.write = 1300n;
    s.sample();
    s.swap(undefined); // rebuilding: no controller
    s.sample();
    // The legacy owner: the environment's durable since handle and the upper as last read.
    const next = { since: 1100n as Frontier, write: 1150n as Frontier };
    s.swap(controller("legacy", next));
    s.legacyHolds.since = 1100n;
    s.legacyHolds.upper = 1150n;
    await s.shards.open(CLUSTER, [{ id: COUNTER.id, shardId: "s-counter" }]);
    s.sample();
    thaw();
    s.sample();
    expect(s.seen.since, "since").toSatisfy(monotone);
    expect(s.seen.upper, "upper").toSatisfy(monotone);
    // Once the live values pass the floors, they are answered as they are.
    s.legacyHolds.since = 1500n;
    s.legacyHolds.upper = 1600n;
    next.write = 1600n;
    s.sample();
    expect([s.seen.since.at(-1), s.seen.upper.at(-1)]).toEqual([1500n, 1600n]);
  });

  it("legacy → unified: the replicas' reports to the old controller after the freeze stay the floor", async () => {
    const old = { since: 1000n as Frontier, write: 1100n as Frontier };
    const s = setup(controller("legacy", old));
    await s.shards.open(CLUSTER, [{ id: COUNTER.id, shardId: "s-counter" }]);
    s.sample();
    const thaw = s.shards.freeze(CLUSTER);
    old.write = 1300n; // reported to the old controller; the read holds' upper not yet refreshed
    s.sample();
    const next = { since: 1000n as Frontier, write: 0n as Frontier }; // nothing reported yet
    s.swap(controller("unified", next));
    await s.shards.open(CLUSTER, [{ id: COUNTER.id, shardId: "s-counter" }]); // upper at open: 1000
    s.sample();
    thaw();
    s.sample();
    expect(s.seen.upper, "upper").toSatisfy(monotone);
    expect(s.seen.since, "since").toSatisfy(monotone);
  });
});
