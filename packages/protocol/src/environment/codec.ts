/**
 * Environment API codec: domain requests/responses (`api.ts`) ⇄ `mz.environment.v1` messages.
 *
 * `environmentCodecs.<message>` has `{schema, toProto, fromProto}` for every request and for the
 * responses environmentd builds (CreateSource, ListClusters, ListObjects, Peek, Subscribe, Status,
 * GetFlags); the remaining responses carry one id or nothing and are built with `create()`.
 * `fromProto` validates and throws `MalformedRequest` (requests) or `MalformedApiResponse`
 * (responses) naming the rpc and the field path (protobuf JSON names): names (`isObjectName`),
 * sizes ≥ 1, tick intervals and timeouts > 0, plans (`validatePlan`; `get` ids are GlobalIds and
 * every `get` of one id has one arity), MFP expressions, key rows of one width, finishing columns
 * against the MFP output, ids, frontiers, rows, counts and diffs. Checks that need the catalog
 * (unknown names, arities, since) are environmentd's; `checkPeekColumns` does the arity part of a
 * peek once the object's arity is known.
 *
 * The field helpers are in `field-codec.ts`, the cluster status and flag states in
 * `status-codec.ts`; this file owns the per-message codecs and the peek parts.
 */
import { create, type DescMessage, type MessageShape } from "@bufbuild/protobuf";
import type { Row } from "@mzts/repr";
import { rowFromProto, rowToProto } from "../codec/datum-codec.js";
import {
  decodeEnum,
  decodeGlobalId,
  decodeReplicaId,
  fail,
  safeI64,
  safeU64,
} from "../codec/field.js";
import { frontierFromProto, frontierToProto } from "../codec/frontier-codec.js";
import {
  checkExpr,
  decodeValidPlan,
  exprFromProto,
  exprToProto,
  orderKeyFromProto,
  orderKeyToProto,
  planFromProto,
  planToProto,
} from "../codec/plan-codec.js";
import type { MapFilterProject, RowSetFinishing } from "../compute/command.js";
import { FieldError } from "../errors.js";
import {
  type RowSetFinishing as FinishingProto,
  type LiteralConstraints as LiteralConstraintsProto,
  MapFilterProjectSchema,
  type MapFilterProject as MfpProto,
  RowSetFinishingSchema,
} from "../gen/mz/compute/v1/peek_pb.js";
import {
  CreateClusterRequestSchema,
  CreateIndexRequestSchema,
  CreateMaterializedViewRequestSchema,
  CreateReplicaRequestSchema,
  CreateSourceRequestSchema,
  CreateSourceResponseSchema,
  DropClusterRequestSchema,
  DropObjectRequestSchema,
  DropReplicaRequestSchema,
  GetFlagsRequestSchema,
  GetFlagsResponseSchema,
  ListClustersRequestSchema,
  ListClustersResponseSchema,
  ListObjectsRequestSchema,
  ListObjectsResponseSchema,
  PeekRequestSchema,
  PeekResponseSchema,
  StatusRequestSchema,
  StatusResponseSchema,
  SubscribeRequestSchema,
  SubscribeResponseSchema,
} from "../gen/mz/environment/v1/environment_pb.js";
import { introspectionIntervalProblem } from "../introspection/interval.js";
import { loadGeneratorFromProto, loadGeneratorToProto } from "../storage/codec.js";
import {
  type CreateClusterRequest,
  type CreateIndexRequest,
  type CreateMaterializedViewRequest,
  type CreateReplicaRequest,
  type CreateSourceRequest,
  type CreateSourceResponse,
  type DropClusterRequest,
  type DropObjectRequest,
  type DropReplicaRequest,
  type EnvironmentRpc,
  type GetFlagsRequest,
  type GetFlagsResponse,
  isIntrospectionObjectName,
  type ListClustersRequest,
  type ListClustersResponse,
  type ListObjectsRequest,
  type ListObjectsResponse,
  objectKindPhrase,
  type PeekRequest,
  type PeekResponse,
  type StatusRequest,
  type StatusResponse,
  type SubscribeRequest,
  type SubscribeResponse,
} from "./api.js";
import { MalformedApiResponse, MalformedRequest } from "./errors.js";
import {
  checkColumns,
  collectGets,
  decodeClusterId,
  decodeName,
  optionalName,
  positive,
} from "./field-codec.js";
import {
  checkInterval,
  clusterStatusFromProto,
  clusterStatusToProto,
  flagFromProto,
  flagToProto,
  OBJECT_KIND,
  OBJECT_KIND_BACK,
} from "./status-codec.js";

export { OBJECT_KINDS, REPLICA_HEALTHS } from "./status-codec.js";

/** A domain ⇄ wire converter for one message. `fromProto` validates. */
export interface EnvironmentCodec<D, S extends DescMessage> {
  readonly schema: S;
  readonly toProto: (d: D) => MessageShape<S>;
  /** @throws MalformedRequest (requests) | MalformedApiResponse (responses) */
  readonly fromProto: (m: MessageShape<S>) => D;
}

function codec<D, S extends DescMessage>(
  dir: "request" | "response",
  rpc: EnvironmentRpc,
  schema: S,
  toProto: (d: D) => MessageShape<S>,
  decode: (m: MessageShape<S>) => D,
): EnvironmentCodec<D, S> {
  return {
    schema,
    toProto,
    fromProto: (m) => {
      try {
        return decode(m);
      } catch (e) {
        if (!(e instanceof FieldError)) throw e;
        throw dir === "request"
          ? new MalformedRequest(rpc, e.path, e.reason)
          : new MalformedApiResponse(rpc, e.path, e.reason);
      }
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Peeks

function mfpToProto(m: MapFilterProject): MfpProto {
  return create(MapFilterProjectSchema, {
    exprs: m.exprs.map(exprToProto),
    predicates: m.predicates.map(exprToProto),
    projection: [...m.projection],
  });
}

function finishingToProto(f: RowSetFinishing): FinishingProto {
  return create(RowSetFinishingSchema, {
    orderBy: f.orderBy.map(orderKeyToProto),
    offset: BigInt(f.offset),
    project: [...f.project],
    ...(f.limit === undefined ? {} : { limit: BigInt(f.limit) }),
  });
}

/** Structural decode: the object's arity is not known here (see `checkPeekColumns`). */
function mfpFromProto(m: MfpProto, path: string): MapFilterProject {
  const exprs = m.exprs.map((e, i) => exprFromProto(e, `${path}.exprs[${i}]`));
  const predicates = m.predicates.map((e, i) => exprFromProto(e, `${path}.predicates[${i}]`));
  return { exprs, predicates, projection: [...m.projection] };
}

function finishingFromProto(f: FinishingProto, width: number | undefined, path: string) {
  const orderBy = f.orderBy.map(orderKeyFromProto);
  if (width !== undefined) checkFinishing(orderBy, f.project, width, path);
  const base = {
    orderBy,
    offset: safeU64(f.offset, `${path}.offset`),
    project: [...f.project],
  };
  return f.limit === undefined ? base : { ...base, limit: safeU64(f.limit, `${path}.limit`) };
}

function checkFinishing(
  orderBy: RowSetFinishing["orderBy"],
  project: readonly number[],
  width: number,
  path: string,
): void {
  checkColumns(
    orderBy.map((o) => o.column),
    width,
    (i) => `${path}.orderBy[${i}].column`,
  );
  checkColumns(project, width, (i) => `${path}.project[${i}]`);
}

function literalsFromProto(p: LiteralConstraintsProto, path: string): Row[] {
  const at = `${path}.rows`;
  const rows = p.rows.map((r, i) => rowFromProto(r, `${at}[${i}]`));
  const width = rows[0]?.length;
  rows.forEach((r, i) => {
    if (r.length !== width) fail(`${at}[${i}]`, `has ${r.length} columns, row 0 has ${width}`);
  });
  return rows;
}

/**
 * Checks a decoded peek's columns against the peeked object's arity (known only to environmentd
 * after resolving `object`): key rows are not checked here (they depend on the index used), MFP
 * expressions, predicates and projection against the input width, finishing against the MFP
 * output (the object's arity without an MFP).
 * @throws MalformedRequest naming the field (rpc "peek").
 */
export function checkPeekColumns(req: PeekRequest, arity: number): void {
  try {
    let width = arity;
    const m = req.mapFilterProject;
    if (m !== undefined) {
      m.exprs.forEach((e, i) => {
        checkExpr(e, width++, `mapFilterProject.exprs[${i}]`);
      });
      for (const [i, e] of m.predicates.entries()) {
        checkExpr(e, width, `mapFilterProject.predicates[${i}]`);
      }
      checkColumns(m.projection, width, (i) => `mapFilterProject.projection[${i}]`);
      width = m.projection.length;
    }
    if (req.finishing !== undefined) {
      checkFinishing(req.finishing.orderBy, req.finishing.project, width, "finishing");
    }
  } catch (e) {
    if (e instanceof FieldError) throw new MalformedRequest("peek", e.path, e.reason);
    throw e;
  }
}

/**
 * The name of a catalog object: an introspection relation (`mz_introspection.<relation>`) is no
 * catalog object — it can only be peeked — so naming one here says so.
 */
function catalogObjectName(v: string, path: string, verb: string): string {
  if (isIntrospectionObjectName(v)) {
    fail(
      path,
      `${JSON.stringify(v)} is an introspection relation, which cannot be ${verb}; peek it ` +
        "(with its cluster, and a replica) or list them with ListObjects",
    );
  }
  return decodeName(v, path);
}

// ---------------------------------------------------------------------------------------------
// The codecs

/** Every request codec and the response codecs environmentd needs, by message name. */
export const environmentCodecs = {
  createClusterRequest: codec<CreateClusterRequest, typeof CreateClusterRequestSchema>(
    "request",
    "createCluster",
    CreateClusterRequestSchema,
    (d) => create(CreateClusterRequestSchema, d),
    (m) => {
      const name = decodeName(m.name, "name");
      const interval = m.introspectionIntervalMs;
      if (interval === undefined) return { name };
      const problem = introspectionIntervalProblem(interval);
      if (problem !== undefined) fail("introspectionIntervalMs", problem);
      return { name, introspectionIntervalMs: interval };
    },
  ),
  dropClusterRequest: codec<DropClusterRequest, typeof DropClusterRequestSchema>(
    "request",
    "dropCluster",
    DropClusterRequestSchema,
    (d) => create(DropClusterRequestSchema, d),
    (m) => ({ name: decodeName(m.name, "name"), cascade: m.cascade }),
  ),
  listClustersRequest: codec<ListClustersRequest, typeof ListClustersRequestSchema>(
    "request",
    "listClusters",
    ListClustersRequestSchema,
    () => create(ListClustersRequestSchema),
    () => ({}),
  ),
  createReplicaRequest: codec<CreateReplicaRequest, typeof CreateReplicaRequestSchema>(
    "request",
    "createReplica",
    CreateReplicaRequestSchema,
    (d) => create(CreateReplicaRequestSchema, d),
    (m) => ({
      cluster: decodeName(m.cluster, "cluster"),
      name: decodeName(m.name, "name"),
      size: positive(m.size, "size", "a replica size (workers)"),
    }),
  ),
  dropReplicaRequest: codec<DropReplicaRequest, typeof DropReplicaRequestSchema>(
    "request",
    "dropReplica",
    DropReplicaRequestSchema,
    (d) => create(DropReplicaRequestSchema, d),
    (m) => ({ cluster: decodeName(m.cluster, "cluster"), name: decodeName(m.name, "name") }),
  ),
  createSourceRequest: codec<CreateSourceRequest, typeof CreateSourceRequestSchema>(
    "request",
    "createSource",
    CreateSourceRequestSchema,
    (d) =>
      create(CreateSourceRequestSchema, {
        name: d.name,
        cluster: d.cluster,
        loadGenerator: loadGeneratorToProto(d.loadGenerator),
      }),
    (m) => ({
      name: decodeName(m.name, "name"),
      cluster: decodeName(m.cluster, "cluster"),
      loadGenerator: loadGeneratorFromProto(m.loadGenerator, "loadGenerator"),
    }),
  ),
  createIndexRequest: codec<CreateIndexRequest, typeof CreateIndexRequestSchema>(
    "request",
    "createIndex",
    CreateIndexRequestSchema,
    (d) => create(CreateIndexRequestSchema, { ...d, key: [...d.key] }),
    (m) => ({
      name: decodeName(m.name, "name"),
      cluster: decodeName(m.cluster, "cluster"),
      on: catalogObjectName(m.on, "on", "indexed"),
      key: [...m.key],
    }),
  ),
  createMaterializedViewRequest: codec<
    CreateMaterializedViewRequest,
    typeof CreateMaterializedViewRequestSchema
  >(
    "request",
    "createMaterializedView",
    CreateMaterializedViewRequestSchema,
    (d) =>
      create(CreateMaterializedViewRequestSchema, {
        name: d.name,
        cluster: d.cluster,
        plan: planToProto(d.plan),
      }),
    (m) => {
      const name = decodeName(m.name, "name");
      const cluster = decodeName(m.cluster, "cluster");
      // The catalog's arities are environmentd's to check; here every `get` of one id must
      // agree with the first one.
      const first = planFromProto(m.plan, "plan");
      const arities = new Map<string, number>();
      collectGets(first, arities);
      const { plan } = decodeValidPlan(m.plan, "plan", (id) => arities.get(id));
      return { name, cluster, plan };
    },
  ),
  dropObjectRequest: codec<DropObjectRequest, typeof DropObjectRequestSchema>(
    "request",
    "dropObject",
    DropObjectRequestSchema,
    (d) => create(DropObjectRequestSchema, d),
    (m) => ({ name: catalogObjectName(m.name, "name", "dropped"), cascade: m.cascade }),
  ),
  listObjectsRequest: codec<ListObjectsRequest, typeof ListObjectsRequestSchema>(
    "request",
    "listObjects",
    ListObjectsRequestSchema,
    (d) => create(ListObjectsRequestSchema, d),
    (m) => optionalName(m.cluster, "cluster"),
  ),
  peekRequest: codec<PeekRequest, typeof PeekRequestSchema>(
    "request",
    "peek",
    PeekRequestSchema,
    (d) =>
      create(PeekRequestSchema, {
        object: d.object,
        ...(d.timestamp === undefined ? {} : { timestamp: d.timestamp }),
        ...(d.literalConstraints === undefined
          ? {}
          : { literalConstraints: { rows: d.literalConstraints.map(rowToProto) } }),
        ...(d.mapFilterProject === undefined
          ? {}
          : { mapFilterProject: mfpToProto(d.mapFilterProject) }),
        ...(d.finishing === undefined ? {} : { finishing: finishingToProto(d.finishing) }),
        ...(d.timeoutMs === undefined ? {} : { timeoutMs: d.timeoutMs }),
        ...(d.replica === undefined ? {} : { replica: d.replica }),
        ...(d.cluster === undefined ? {} : { cluster: d.cluster }),
      }),
    (m) => {
      const object = isIntrospectionObjectName(m.object)
        ? m.object
        : decodeName(m.object, "object");
      const mfp =
        m.mapFilterProject === undefined
          ? undefined
          : mfpFromProto(m.mapFilterProject, "mapFilterProject");
      return {
        object,
        ...(m.timestamp === undefined ? {} : { timestamp: m.timestamp }),
        ...(m.literalConstraints === undefined
          ? {}
          : { literalConstraints: literalsFromProto(m.literalConstraints, "literalConstraints") }),
        ...(mfp === undefined ? {} : { mapFilterProject: mfp }),
        ...(m.finishing === undefined
          ? {}
          : { finishing: finishingFromProto(m.finishing, mfp?.projection.length, "finishing") }),
        ...(m.timeoutMs === undefined
          ? {}
          : { timeoutMs: positive(m.timeoutMs, "timeoutMs", "a timeout (ms)") }),
        ...(m.replica === undefined ? {} : { replica: decodeName(m.replica, "replica") }),
        ...(m.cluster === undefined ? {} : { cluster: decodeName(m.cluster, "cluster") }),
      };
    },
  ),
  subscribeRequest: codec<SubscribeRequest, typeof SubscribeRequestSchema>(
    "request",
    "subscribe",
    SubscribeRequestSchema,
    (d) => create(SubscribeRequestSchema, d),
    (m) => {
      const object = catalogObjectName(m.object, "object", "subscribed to");
      if (m.asOf !== undefined && m.upTo !== undefined && m.upTo <= m.asOf) {
        fail("upTo", `is ${m.upTo}, not beyond asOf ${m.asOf}; set upTo > asOf or leave it unset`);
      }
      return {
        object,
        ...(m.asOf === undefined ? {} : { asOf: m.asOf }),
        ...(m.upTo === undefined ? {} : { upTo: m.upTo }),
      };
    },
  ),
  statusRequest: codec<StatusRequest, typeof StatusRequestSchema>(
    "request",
    "status",
    StatusRequestSchema,
    (d) => create(StatusRequestSchema, d),
    (m) => optionalName(m.cluster, "cluster"),
  ),
  getFlagsRequest: codec<GetFlagsRequest, typeof GetFlagsRequestSchema>(
    "request",
    "getFlags",
    GetFlagsRequestSchema,
    (d) => create(GetFlagsRequestSchema, d),
    (m) => optionalName(m.cluster, "cluster"),
  ),

  // Responses ---------------------------------------------------------------------------------

  createSourceResponse: codec<CreateSourceResponse, typeof CreateSourceResponseSchema>(
    "response",
    "createSource",
    CreateSourceResponseSchema,
    (d) =>
      create(CreateSourceResponseSchema, {
        id: d.id,
        subsources: d.subsources.map((s) => ({ ...s })),
      }),
    (m) => {
      if (m.subsources.length === 0) fail("subsources", "is empty; a source has a subsource");
      return {
        id: decodeGlobalId(m.id, "id"),
        subsources: m.subsources.map((s, i) => ({
          id: decodeGlobalId(s.id, `subsources[${i}].id`),
          name: decodeName(s.name, `subsources[${i}].name`),
        })),
      };
    },
  ),
  listClustersResponse: codec<ListClustersResponse, typeof ListClustersResponseSchema>(
    "response",
    "listClusters",
    ListClustersResponseSchema,
    (d) =>
      create(ListClustersResponseSchema, {
        clusters: d.clusters.map((c) => ({ ...c, replicas: c.replicas.map((r) => ({ ...r })) })),
      }),
    (m) => ({
      clusters: m.clusters.map((c, i) => {
        const at = `clusters[${i}]`;
        return {
          id: decodeClusterId(c.id, `${at}.id`),
          name: decodeName(c.name, `${at}.name`),
          replicas: c.replicas.map((r, j) => ({
            id: decodeReplicaId(r.id, `${at}.replicas[${j}].id`),
            name: decodeName(r.name, `${at}.replicas[${j}].name`),
            size: positive(r.size, `${at}.replicas[${j}].size`, "a replica size (workers)"),
          })),
          introspectionIntervalMs: checkInterval(
            c.introspectionIntervalMs,
            `${at}.introspectionIntervalMs`,
          ),
        };
      }),
    }),
  ),
  listObjectsResponse: codec<ListObjectsResponse, typeof ListObjectsResponseSchema>(
    "response",
    "listObjects",
    ListObjectsResponseSchema,
    (d) =>
      create(ListObjectsResponseSchema, {
        objects: d.objects.map((o) => ({
          ...o,
          kind: OBJECT_KIND[o.kind],
          key: [...o.key],
          columns: (o.columns ?? []).map((col) => ({ ...col })),
        })),
      }),
    (m) => ({
      objects: m.objects.map((o, i) => {
        const at = `objects[${i}]`;
        const kind = decodeEnum(o.kind, OBJECT_KIND_BACK, `${at}.kind`, "object kind");
        const hasOn = kind === "index" || kind === "subsource";
        if (hasOn !== (o.on !== undefined)) {
          fail(
            `${at}.on`,
            `is ${hasOn ? "unset" : "set"} for ${objectKindPhrase(kind)} (only an index or a subsource is on an object)`,
          );
        }
        const introspection = kind === "introspection";
        if (kind !== "index" && !introspection && o.key.length > 0)
          fail(`${at}.key`, `is set for ${objectKindPhrase(kind)} (only an index has a key)`);
        if (!introspection && (o.columns.length > 0 || o.description !== undefined))
          fail(`${at}.columns`, "are set for an object that is not an introspection relation");
        if (introspection && o.columns.length !== o.arity)
          fail(`${at}.columns`, `lists ${o.columns.length} columns for arity ${o.arity}`);
        if (introspection && !isIntrospectionObjectName(o.name))
          fail(`${at}.name`, `${JSON.stringify(o.name)} is not mz_introspection.<relation>`);
        return {
          id: decodeGlobalId(o.id, `${at}.id`),
          name: introspection ? o.name : decodeName(o.name, `${at}.name`),
          kind,
          cluster: decodeName(o.cluster, `${at}.cluster`),
          arity: o.arity,
          ...(o.on === undefined ? {} : { on: decodeName(o.on, `${at}.on`) }),
          key: [...o.key],
          ...(introspection
            ? {
                columns: o.columns.map((col, j) => {
                  if (col.name === "" || col.type === "")
                    fail(`${at}.columns[${j}]`, "has an empty name or type");
                  return { name: col.name, type: col.type, nullable: col.nullable };
                }),
              }
            : {}),
          ...(o.description === undefined ? {} : { description: o.description }),
        };
      }),
    }),
  ),
  peekResponse: codec<PeekResponse, typeof PeekResponseSchema>(
    "response",
    "peek",
    PeekResponseSchema,
    (d) =>
      create(PeekResponseSchema, {
        rows: d.rows.map(([row, count]) => ({ row: rowToProto(row), count: BigInt(count) })),
        timestamp: d.timestamp,
        replica: d.replica,
        replicaId: d.replicaId,
      }),
    (m) => ({
      rows: m.rows.map((r, i) => {
        const count = safeU64(r.count, `rows[${i}].count`);
        if (count === 0) fail(`rows[${i}].count`, "is 0; a returned row occurs at least once");
        return [rowFromProto(r.row, `rows[${i}].row`), count] as const;
      }),
      timestamp: m.timestamp,
      replica: decodeName(m.replica, "replica"),
      replicaId: decodeReplicaId(m.replicaId, "replicaId"),
    }),
  ),
  subscribeResponse: codec<SubscribeResponse, typeof SubscribeResponseSchema>(
    "response",
    "subscribe",
    SubscribeResponseSchema,
    (d) =>
      create(SubscribeResponseSchema, {
        updates: d.updates.map(([row, time, diff]) => ({
          row: rowToProto(row),
          time,
          diff: BigInt(diff),
        })),
        upper: frontierToProto(d.upper),
      }),
    (m) => ({
      updates: m.updates.map((u, i) => {
        const diff = safeI64(u.diff, `updates[${i}].diff`);
        if (diff === 0) fail(`updates[${i}].diff`, "is 0; updates are consolidated");
        return [rowFromProto(u.row, `updates[${i}].row`), u.time, diff] as const;
      }),
      upper: frontierFromProto(m.upper, "upper"),
    }),
  ),
  statusResponse: codec<StatusResponse, typeof StatusResponseSchema>(
    "response",
    "status",
    StatusResponseSchema,
    (d) => create(StatusResponseSchema, { clusters: d.clusters.map(clusterStatusToProto) }),
    (m) => ({ clusters: m.clusters.map((c, i) => clusterStatusFromProto(c, `clusters[${i}]`)) }),
  ),
  getFlagsResponse: codec<GetFlagsResponse, typeof GetFlagsResponseSchema>(
    "response",
    "getFlags",
    GetFlagsResponseSchema,
    (d) =>
      create(GetFlagsResponseSchema, {
        clusters: d.clusters.map((c) => ({ cluster: c.cluster, flags: c.flags.map(flagToProto) })),
      }),
    (m) => ({
      clusters: m.clusters.map((c, i) => ({
        cluster: decodeName(c.cluster, `clusters[${i}].cluster`),
        flags: c.flags.map((f, j) => flagFromProto(f, `clusters[${i}].flags[${j}]`)),
      })),
    }),
  ),
} as const;
