/**
 * Object resolution: the catalog's items seen as the objects the API names — sources, their
 * subsources (one per generator output), indexes and materialized views — each with its cluster,
 * arity, shard, key and the inputs whose uppers bound a read of it. The cache of that view is
 * `object-cache.ts`.
 *
 * ## Invariants
 * - Resolution resolves items in the catalog's dependency order, so an index's or view's inputs
 *   are resolved before it (arity comes from them); `resolveItem` resolves one item given those,
 *   so a new item is resolved alone (`object-cache.ts` applies a DDL's own change).
 *
 * ## Flow
 * `catalog.snapshot()` → `resolveObjects(snap)` → `byName` / `byId` (with the snapshot's clusters
 * and replicas); `listObjects` renders it for the API, with each cluster's introspection
 * relations (`introspection/relations.ts`).
 */
import { type ColumnType, type Plan, planColumnTypes } from "@mzts/expr";
import {
  type IngestionConnection,
  type ListObjectsRequest,
  type ListObjectsResponse,
  LOAD_GENERATOR_OUTPUTS,
  type LoadGeneratorKind,
  type ObjectInfo,
} from "@mzts/protocol";
import type { GlobalId } from "@mzts/repr";
import type {
  Catalog,
  CatalogItem,
  CatalogSnapshot,
  Cluster,
  ClusterReplica,
} from "../catalog/catalog.js";
import { decodeSourceConnection, decodeViewPlan } from "../catalog/specs.js";
import { introspectionObjects } from "../introspection/relations.js";
import { checkStoredPlan } from "../validation/plan.js";
import { generatorColumnTypes } from "../validation/schema.js";
import type { ObjectCache } from "./object-cache.js";

/** One generator output: its subsource suffix and arity. */
interface GeneratorOutput {
  readonly name: string;
  readonly arity: number;
}

/** The outputs of each load generator, in output order (protocol's `LOAD_GENERATOR_OUTPUTS`). */
export const GENERATOR_OUTPUTS: {
  readonly [k in LoadGeneratorKind]: readonly GeneratorOutput[];
} = {
  counter: LOAD_GENERATOR_OUTPUTS.counter.map((o) => ({ name: o.name, arity: o.columns.length })),
  auction: LOAD_GENERATOR_OUTPUTS.auction.map((o) => ({ name: o.name, arity: o.columns.length })),
};

/** A resolved object (subsources included). */
export interface Resolved {
  readonly id: GlobalId;
  readonly name: string;
  readonly kind: ObjectInfo["kind"];
  readonly clusterId: GlobalId;
  readonly arity: number;
  /** Persist shard (subsources and materialized views). */
  readonly shardId?: string;
  /** Index: the indexed object; subsource: its source. */
  readonly on?: GlobalId;
  readonly key: readonly number[];
  /** Inputs whose uppers bound the freshest read (indexes and views). */
  readonly inputs: readonly GlobalId[];
  /** Subsources: the ingestion's connection (for a closed deterministic input's final upper). */
  readonly connection?: IngestionConnection;
  /** Column types where known (`validation/schema.ts`); an index has those of its object. */
  readonly types?: readonly ColumnType[];
  /** Set when a stored definition cannot be installed (`validation/plan.ts`): why. */
  readonly failed?: string;
}

/** Every object by name and by id, with the snapshot they were resolved from. */
export interface ResolvedObjects {
  readonly byName: ReadonlyMap<string, Resolved>;
  readonly byId: ReadonlyMap<GlobalId, Resolved>;
  readonly items: readonly CatalogItem[];
  readonly clusters: readonly Cluster[];
  readonly replicas: readonly ClusterReplica[];
}

/** Resolves a catalog snapshot's items (in its dependency order). */
export function resolveObjects(snap: CatalogSnapshot): ResolvedObjects {
  const byName = new Map<string, Resolved>();
  const byId = new Map<GlobalId, Resolved>();
  for (const item of snap.items) {
    for (const r of resolveItem(item, byId)) {
      byName.set(r.name, r);
      byId.set(r.id, r);
    }
  }
  return { byName, byId, items: snap.items, clusters: snap.clusters, replicas: snap.replicas };
}

/**
 * One item as the objects it names (a source: itself, then its subsources), given the objects
 * resolved before it (`byId`: everything it depends on).
 */
export function resolveItem(item: CatalogItem, byId: ReadonlyMap<GlobalId, Resolved>): Resolved[] {
  if (item.kind === "source") {
    const connection = decodeSourceConnection(item.spec);
    const outputs = GENERATOR_OUTPUTS[connection.generator.kind];
    return [
      {
        id: item.id,
        name: item.name,
        kind: "source",
        clusterId: item.clusterId,
        arity: 0,
        key: [],
        inputs: [],
      },
      ...item.exports.map(
        (e): Resolved => ({
          id: e.id,
          name: e.name,
          kind: "subsource",
          clusterId: item.clusterId,
          arity: outputs[e.outputIndex]?.arity ?? 0,
          shardId: e.shardId,
          on: item.id,
          key: [],
          inputs: [],
          connection,
          types: generatorColumnTypes(connection.generator.kind, e.outputIndex),
        }),
      ),
    ];
  }
  if (item.kind === "index") {
    const on = byId.get(item.dependsOn[0] ?? "");
    return [
      {
        id: item.id,
        name: item.name,
        kind: "index",
        clusterId: item.clusterId,
        arity: on?.arity ?? 0,
        ...(on === undefined ? {} : { on: on.id }),
        key: item.key,
        inputs: item.dependsOn,
        ...(on?.types === undefined ? {} : { types: on.types }),
        ...(on?.failed === undefined ? {} : { failed: `${on.name} failed: ${on.failed}` }),
      },
    ];
  }
  const input = item.dependsOn.map((id) => byId.get(id)).find((r) => r?.failed);
  const stored = checkStoredPlan(
    () => decodeViewPlan(item.definition),
    (id) => byId.get(id)?.arity,
    input === undefined ? undefined : `${input.name} failed: ${input.failed}`,
  );
  return [
    {
      id: item.id,
      name: item.name,
      kind: "materializedView",
      clusterId: item.clusterId,
      arity: "plan" in stored ? stored.arity : 0,
      shardId: item.shardId,
      key: [],
      inputs: item.dependsOn,
      ...("plan" in stored
        ? { types: planColumnTypes(stored.plan, (id) => byId.get(id)?.types) }
        : { failed: stored.failed }),
    },
  ];
}

/**
 * The objects for `ListObjects`: by name (then cluster), optionally of one cluster (NotFound if
 * unknown); every cluster lists its `mz_introspection.<relation>` relations too.
 */
export async function listObjects(
  catalog: Catalog,
  objects: ObjectCache,
  req: ListObjectsRequest,
): Promise<ListObjectsResponse> {
  const { byName, byId } = await objects.get();
  const clusters = await catalog.listClusters();
  const clusterName = new Map(clusters.map((c) => [c.id, c.name]));
  if (req.cluster !== undefined) await catalog.getCluster(req.cluster);
  const out: ObjectInfo[] = [];
  for (const r of byName.values()) {
    const cluster = clusterName.get(r.clusterId) ?? "";
    if (req.cluster !== undefined && cluster !== req.cluster) continue;
    const on = r.on === undefined ? undefined : byId.get(r.on)?.name;
    out.push({
      id: r.id,
      name: r.name,
      kind: r.kind,
      cluster,
      arity: r.arity,
      ...(on === undefined ? {} : { on }),
      key: r.key,
    });
  }
  for (const c of clusters) {
    if (req.cluster === undefined || c.name === req.cluster) out.push(...introspectionObjects(c));
  }
  out.sort((a, b) =>
    a.name !== b.name ? (a.name < b.name ? -1 : 1) : a.cluster < b.cluster ? -1 : 1,
  );
  return { objects: out };
}

/** The ids a plan `get`s (the inputs of a materialized view). */
export function planGets(plan: Plan, out: Set<GlobalId> = new Set()): Set<GlobalId> {
  if (plan.kind === "get") {
    out.add(plan.id);
    return out;
  }
  const p = plan as { input?: Plan; inputs?: readonly Plan[] };
  const children = p.inputs ?? (p.input === undefined ? [] : [p.input]);
  for (const child of children) planGets(child, out);
  return out;
}
