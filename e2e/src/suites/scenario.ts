/**
 * The deterministic phase-1 scenario: an auction load generator ingested by storage, an indexed
 * dataflow with a reduce and a join over it in compute, peeks at several timestamps, a subscribe,
 * compaction and drop — driven over the real protocol against one clusterd.
 *
 * Everything is a function of fixed inputs (seed, start time, logical ticks), so two runs — the
 * phase flag off and on — must observe exactly the same peek answers and subscribe stream.
 */

import type { Plan } from "@mzts/expr";
import type { ComputeCommand, DataflowDescription, StorageCommand } from "@mzts/protocol";

export const START_MS = 1_700_000_000_000n;
export const TICK_MS = 1000n;
export const TICKS = 40n;
/** The shards close (empty upper) after the last tick. */
export const END_MS = START_MS + TICKS * TICK_MS;

export const ids = {
  ingestion: "u10",
  auctions: "u11",
  bids: "u12",
  maxBids: "u20",
  winning: "u21",
  index: "u22",
  subObject: "u31",
  subscribe: "u32",
} as const;

export function runIngestion(shardPrefix: string): StorageCommand {
  return {
    kind: "runIngestion",
    id: ids.ingestion,
    description: {
      sourceExports: [
        { id: ids.auctions, shardId: `${shardPrefix}-auctions`, outputIndex: 3, name: "auctions" },
        { id: ids.bids, shardId: `${shardPrefix}-bids`, outputIndex: 4, name: "bids" },
      ],
      connection: {
        kind: "loadGenerator",
        generator: { kind: "auction" },
        seed: 42n,
        tickIntervalMs: Number(TICK_MS),
        deterministic: { startTimeMs: START_MS, maxTicks: TICKS },
      },
    },
  };
}

const bids: Plan = { kind: "get", id: ids.bids, arity: 5 };
const auctions: Plan = { kind: "get", id: ids.auctions, arity: 4 };
/** (auction_id, max(amount), count(*)) per auction with bids. */
const maxBids: Plan = {
  kind: "reduce",
  input: bids,
  groupKey: [2],
  aggregates: [{ func: "max", column: 3 }, { func: "count" }],
};
/** (auction id, item, max amount, bid count): auctions joined with their bid summary. */
export function winningPlan(summaryId: string): Plan {
  return {
    kind: "project",
    input: {
      kind: "join",
      inputs: [auctions, { kind: "get", id: summaryId, arity: 3 }],
      equivalences: [
        [
          [0, 0],
          [1, 0],
        ],
      ],
    },
    columns: [0, 2, 5, 6],
  };
}

function sourceImports(shardPrefix: string) {
  return [
    { id: ids.auctions, shardId: `${shardPrefix}-auctions`, arity: 4, upper: START_MS },
    { id: ids.bids, shardId: `${shardPrefix}-bids`, arity: 5, upper: START_MS },
  ];
}

/** The indexed dataflow: reduce → join → index on the auction id. */
export function indexedDataflow(shardPrefix: string): DataflowDescription {
  return {
    debugName: "winning_bids",
    sourceImports: sourceImports(shardPrefix),
    indexImports: [],
    objectsToBuild: [
      { id: ids.maxBids, plan: maxBids },
      { id: ids.winning, plan: winningPlan(ids.maxBids) },
    ],
    indexExports: [{ id: ids.index, objectId: ids.winning, key: [0] }],
    sinkExports: [],
    asOf: START_MS,
    until: null,
  };
}

/** A subscribe over the same computation. */
export function subscribeDataflow(shardPrefix: string): DataflowDescription {
  return {
    debugName: "winning_bids_subscribe",
    sourceImports: sourceImports(shardPrefix),
    indexImports: [],
    objectsToBuild: [
      { id: "u30", plan: maxBids },
      { id: ids.subObject, plan: winningPlan("u30") },
    ],
    indexExports: [],
    sinkExports: [{ id: ids.subscribe, fromId: ids.subObject, connection: { kind: "subscribe" } }],
    asOf: START_MS,
    until: null,
  };
}

let peekCounter = 0;
/** A peek of the whole index as of `t`, ordered by auction id. */
export function peekAll(t: bigint): ComputeCommand & { kind: "peek" } {
  peekCounter++;
  return {
    kind: "peek",
    peek: {
      uuid: `00000000-0000-4000-8000-${peekCounter.toString(16).padStart(12, "0")}`,
      target: { kind: "index", id: ids.index },
      arity: 4,
      timestamp: t,
      mapFilterProject: { exprs: [], predicates: [], projection: [0, 1, 2, 3] },
      finishing: {
        orderBy: [{ column: 0, desc: false, nullsLast: true }],
        offset: 0,
        project: [0, 1, 2, 3],
      },
    },
  };
}
