/**
 * The environment-level workload the environment e2e tests and `pnpm chaos` share: cluster `c`
 * with replicas `r1…rN` (size 1; the machine has 2 cores) and
 * - `auction`: a deterministic AUCTION load generator (seed 42, logical ticks of 1 s from START,
 *   TICKS ticks, then its shards close), so every answer at `T = END - 1` is a pure function of
 *   the seed; index `bids_idx` on `auction_bids`; materialized view `winning_bids` (auction id,
 *   max bid, bid count — the demo's view) with index `winning_bids_idx`;
 * - `ticker`: a real-time COUNTER (a tick every 100 ms) with index `ticker_idx`, so frontiers keep
 *   moving and "frontiers never go backward" is not checked on closed collections only.
 * Four dataflows: bids_idx, winning_bids, winning_bids_idx, ticker_idx.
 *
 * `createAuctionWorkload` creates it through the API and waits until the fixed-time answers exist
 * (hydrated), returning them as the baseline every later answer at T must equal. Its two
 * generators (`deterministicAuction(seed)`, `TICKER`) are exported for `pnpm evaluate`.
 */
import type { Plan } from "@mzts/expr";
import type { IngestionConnection } from "@mzts/protocol";
import type { EnvironmentApi, Rows } from "./environment.js";

export const START = 1_700_000_000_000n;
export const TICK_MS = 1000n;
export const TICKS = 30n;
/** The deterministic shards close at END (empty upper after the last tick). */
export const END = START + TICKS * TICK_MS;
/** The fixed read time: every tick is in, and no since can pass it (see the implied hold). */
export const T = END - 1n;
export const CLUSTER = "c";
/** bids_idx, winning_bids, winning_bids_idx, ticker_idx. */
export const DATAFLOWS = 4;

/** The deterministic AUCTION generator: ticks of `TICK_MS` from `START`, closed at `END`. */
export function deterministicAuction(seed: bigint): IngestionConnection {
  return {
    kind: "loadGenerator",
    generator: { kind: "auction" },
    seed,
    tickIntervalMs: Number(TICK_MS),
    deterministic: { startTimeMs: START, maxTicks: TICKS },
  };
}

/** A real-time COUNTER ticking every 100 ms (frontiers that keep moving). */
export const TICKER: IngestionConnection = {
  kind: "loadGenerator",
  generator: { kind: "counter" },
  seed: 1n,
  tickIntervalMs: 100,
};

export interface AuctionWorkload {
  readonly clusterId: string;
  /** Replica name → id. */
  readonly replicaIds: ReadonlyMap<string, string>;
  readonly bidsId: string;
  readonly bidsPlan: Plan;
  readonly winningPlan: Plan;
  readonly winningId: string;
  /** Answers at T once hydrated: bids_idx, winning_bids_idx. */
  readonly bidsAtT: Rows;
  readonly winningAtT: Rows;
}

/** Creates the workload (see the file comment) and waits for its answers at T. */
export async function createAuctionWorkload(
  api: EnvironmentApi,
  replicas: number,
): Promise<AuctionWorkload> {
  const clusterId = await api.createCluster(CLUSTER);
  const replicaIds = new Map<string, string>();
  for (let i = 1; i <= replicas; i++) {
    replicaIds.set(`r${i}`, await api.createReplica(CLUSTER, `r${i}`, 1));
  }
  const auction = await api.createSource({
    name: "auction",
    cluster: CLUSTER,
    loadGenerator: deterministicAuction(42n),
  });
  const bidsId = auction.subsources.find((s) => s.name === "auction_bids")?.id;
  if (bidsId === undefined) throw new Error("auction has no auction_bids subsource");
  await api.createIndex({ name: "bids_idx", cluster: CLUSTER, on: "auction_bids", key: [2] });
  const bidsPlan: Plan = { kind: "get", id: bidsId, arity: 5 };
  const winningPlan: Plan = {
    kind: "reduce",
    input: bidsPlan,
    groupKey: [2],
    aggregates: [{ func: "max", column: 3 }, { func: "count" }],
  };
  const winningId = await api.createMaterializedView({
    name: "winning_bids",
    cluster: CLUSTER,
    plan: winningPlan,
  });
  await api.createIndex({
    name: "winning_bids_idx",
    cluster: CLUSTER,
    on: "winning_bids",
    key: [0],
  });
  await api.createSource({
    name: "ticker",
    cluster: CLUSTER,
    loadGenerator: TICKER,
  });
  await api.createIndex({ name: "ticker_idx", cluster: CLUSTER, on: "ticker_counter", key: [0] });
  // Hydrated: the fixed-time answers exist and the ticker answers at its freshest time.
  const bids = await api.peek({ object: "bids_idx", timestamp: T, timeoutMs: 30_000 });
  const winning = await api.peek({ object: "winning_bids_idx", timestamp: T, timeoutMs: 30_000 });
  await api.peek({ object: "ticker_counter", timeoutMs: 30_000 });
  if (bids.rows.length === 0 || winning.rows.length === 0) {
    throw new Error(`the auction answered no rows at ${T} (bids ${bids.rows.length})`);
  }
  return {
    clusterId,
    replicaIds,
    bidsId,
    bidsPlan,
    winningPlan,
    winningId,
    bidsAtT: bids.rows,
    winningAtT: winning.rows,
  };
}
