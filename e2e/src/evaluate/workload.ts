/**
 * The deterministic workload of an evaluation, created through the API on one environmentd:
 *
 * - cluster `eval_src` (the baseline's phases) holds the shared sources both sides read, so both
 *   see the same data: `auction` (the demo's AUCTION load generator: real time, a tick per
 *   second, the newest `MAX_AUCTIONS` auctions) and `ticker` (a COUNTER ticking every 100 ms, so
 *   frontiers move finely enough to measure freshness);
 * - clusters `eval_off` (baseline) and `eval_on` (candidate), one replica `r1` each (size 1), and
 *   on each, with the side's suffix: the demo's index on the bids (`bids`), its materialized
 *   views `winning` (auction, highest bid, bids) and `top` (buyer, bids), each indexed
 *   (`winning_idx`, `top_idx`), an index on the ticker (`ticker`), and a twin deterministic
 *   auction source `fixed` (seed 42, ticks from `START`, closed at `END`) ingested by the side's
 *   own replica with an index on its bids (`fixed_bids_idx`): storage under the phase, whose
 *   answer at `T` is a pure function of the seed on both sides.
 *
 * The clusters are created first and in this order, so on a fresh catalog their ids are
 * `u1`, `u2`, `u3` (`EXPECTED_IDS`); the flags file is written before environmentd starts with
 * the candidate's id predicted (controller-side phases take effect when a cluster is created),
 * and `createWorkload` fails with a clear error if the catalog gave other ids.
 */

import type { Plan } from "@mzts/expr";
import type { Phase } from "@mzts/flags";
import { deterministicAuction, TICKER } from "../harness/auction-workload.js";
import type { EnvironmentApi } from "../harness/environment.js";
import { SIDES, type Side, type SideInfo, sideName } from "./context.js";

export const SOURCE_CLUSTER = "eval_src";
export const CLUSTER_NAME: { readonly [S in Side]: string } = {
  baseline: "eval_off",
  candidate: "eval_on",
};
/** Ids a fresh catalog gives the three clusters, created in this order. */
export const EXPECTED_IDS = { source: "u1", baseline: "u2", candidate: "u3" } as const;
/** The one replica of each cluster. */
export const REPLICA = "r1";
/** The demo's bound on auctions (memory and disk stay flat over a long run). */
export const MAX_AUCTIONS = 300n;

/** Index pairs peeked at a common recent time every round (neutral names). */
export const LIVE_INDEXES = ["bids", "winning_idx", "top_idx", "ticker"] as const;
/** Index pairs peeked at the fixed time `T` (their inputs are closed at `END`). */
export const FIXED_INDEXES = ["fixed_bids_idx"] as const;
/** Collections subscribed on both sides: the live view, and the twin source's bids (closed). */
export const SUBSCRIBED = ["winning", "fixed_bids"] as const;
/** The collection whose lag is the side's freshness (real time, 100 ms ticks). */
export const FRESHNESS = "ticker";

/**
 * Creates the three clusters (in the order that gives `EXPECTED_IDS`, checked) and a replica
 * `r1` (size 1) on each; returns the two sides' cluster ids.
 */
export async function createClusters(
  api: EnvironmentApi,
  log: (line: string) => void,
): Promise<{ readonly [S in Side]: string }> {
  const src = await api.createCluster(SOURCE_CLUSTER);
  const ids: Record<Side, string> = {
    baseline: await api.createCluster(CLUSTER_NAME.baseline),
    candidate: await api.createCluster(CLUSTER_NAME.candidate),
  };
  const got = { source: src, ...ids };
  if (JSON.stringify(got) !== JSON.stringify(EXPECTED_IDS)) {
    throw new Error(
      `the catalog gave cluster ids ${JSON.stringify(got)}, not ${JSON.stringify(EXPECTED_IDS)}; the flags file targets the candidate by id, so the evaluation needs a fresh data directory`,
    );
  }
  log(
    `clusters ${SOURCE_CLUSTER} (${src}), ${CLUSTER_NAME.baseline} (${ids.baseline}), ${CLUSTER_NAME.candidate} (${ids.candidate})`,
  );
  await api.createReplica(SOURCE_CLUSTER, REPLICA, 1);
  for (const side of SIDES) await api.createReplica(CLUSTER_NAME[side], REPLICA, 1);
  return ids;
}

/** The two sides' `SideInfo`. */
export function sideInfos(
  ids: { readonly [S in Side]: string },
  phases: { readonly [S in Side]: readonly Phase[] },
): { readonly [S in Side]: SideInfo } {
  const info = (side: Side): SideInfo => ({
    side,
    cluster: CLUSTER_NAME[side],
    clusterId: ids[side],
    phases: phases[side],
  });
  return { baseline: info("baseline"), candidate: info("candidate") };
}

/** Creates the clusters, replicas and objects (see the file comment). */
export async function createWorkload(
  api: EnvironmentApi,
  phases: { readonly [S in Side]: readonly Phase[] },
  log: (line: string) => void,
): Promise<{ readonly [S in Side]: SideInfo }> {
  const ids = await createClusters(api, log);
  const auction = await api.createSource({
    name: "auction",
    cluster: SOURCE_CLUSTER,
    loadGenerator: {
      kind: "loadGenerator",
      generator: { kind: "auction", maxAuctions: MAX_AUCTIONS },
      seed: 42n,
      tickIntervalMs: 1000,
    },
  });
  const bidsId = auction.subsources.find((s) => s.name === "auction_bids")?.id;
  if (bidsId === undefined) throw new Error("the auction source has no auction_bids subsource");
  await api.createSource({
    name: "ticker",
    cluster: SOURCE_CLUSTER,
    loadGenerator: TICKER,
  });
  const bids: Plan = { kind: "get", id: bidsId, arity: 5 };
  for (const side of SIDES) {
    const cluster = CLUSTER_NAME[side];
    const n = (neutral: string) => sideName(side, neutral);
    log(`creating the workload on ${cluster} …`);
    await api.createIndex({ name: n("bids"), cluster, on: "auction_bids", key: [2] });
    await api.createMaterializedView({
      name: n("winning"),
      cluster,
      plan: {
        kind: "reduce",
        input: bids,
        groupKey: [2],
        aggregates: [{ func: "max", column: 3 }, { func: "count" }],
      },
    });
    await api.createIndex({ name: n("winning_idx"), cluster, on: n("winning"), key: [0] });
    await api.createMaterializedView({
      name: n("top"),
      cluster,
      plan: { kind: "reduce", input: bids, groupKey: [1], aggregates: [{ func: "count" }] },
    });
    await api.createIndex({ name: n("top_idx"), cluster, on: n("top"), key: [0] });
    await api.createIndex({ name: n("ticker"), cluster, on: "ticker_counter", key: [0] });
    await api.createSource({
      name: n("fixed"),
      cluster,
      loadGenerator: deterministicAuction(42n),
    });
    await api.createIndex({ name: n("fixed_bids_idx"), cluster, on: n("fixed_bids"), key: [2] });
  }
  return sideInfos(ids, phases);
}
