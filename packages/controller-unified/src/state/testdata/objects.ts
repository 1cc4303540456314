/**
 * Tests only: small builders for cluster-state tests — an ingestion with subsources, an indexed
 * dataflow over imports, a peek.
 */
import type { DataflowDescription, IngestionDescription, Peek } from "@mzts/protocol";
import type { GlobalId, ReplicaId } from "@mzts/repr";

/** A counter load generator writing `exports` (one shard each, `shard-<id>`). */
export function ingestion(...exports: GlobalId[]): IngestionDescription {
  return {
    sourceExports: exports.map((id, i) => ({
      id,
      shardId: `shard-${id}`,
      outputIndex: i,
      name: "",
    })),
    connection: {
      kind: "loadGenerator",
      generator: { kind: "counter" },
      seed: 1n,
      tickIntervalMs: 1000,
    },
  };
}

/** An index `id` over `sources` (persist imports) and `indexes` (index imports) at `asOf`. */
export function indexedView(
  id: GlobalId,
  asOf: bigint,
  sources: readonly GlobalId[],
  indexes: readonly GlobalId[] = [],
  persistSink?: string,
): DataflowDescription {
  const gets = [...sources, ...indexes].map((s) => ({ kind: "get" as const, id: s, arity: 1 }));
  return {
    debugName: id,
    sourceImports: sources.map((s) => ({ id: s, shardId: `shard-${s}`, arity: 1, upper: null })),
    indexImports: indexes.map((s) => ({ id: s, key: [0], arity: 1 })),
    objectsToBuild: [
      {
        id,
        plan: gets.length === 1 ? (gets[0] as (typeof gets)[0]) : { kind: "union", inputs: gets },
      },
    ],
    indexExports: persistSink === undefined ? [{ id, objectId: id, key: [0] }] : [],
    sinkExports:
      persistSink === undefined
        ? []
        : [{ id, fromId: id, connection: { kind: "persist", shardId: persistSink } }],
    asOf,
    until: null,
  };
}

/** A peek of index `target` at `timestamp`. */
export function peekOf(
  uuid: string,
  target: GlobalId,
  timestamp: bigint,
  targetReplica?: ReplicaId,
): Peek {
  return {
    uuid,
    target: { kind: "index", id: target },
    arity: 1,
    timestamp,
    mapFilterProject: { exprs: [], predicates: [], projection: [0] },
    finishing: { orderBy: [], offset: 0, project: [0] },
    ...(targetReplica === undefined ? {} : { targetReplica }),
  };
}

/** A subscribe `id` over `sources` (persist imports) and `indexes` (index imports) at `asOf`. */
export function subscribeOf(
  id: GlobalId,
  asOf: bigint,
  sources: readonly GlobalId[],
  indexes: readonly GlobalId[] = [],
): DataflowDescription {
  return {
    ...indexedView(id, asOf, sources, indexes),
    indexExports: [],
    sinkExports: [{ id, fromId: id, connection: { kind: "subscribe" } }],
  };
}
