/**
 * The compute codec's dataflow and peek sub-codecs: `DataflowDescription` (imports, objects with
 * their plans, index exports, sinks) and `Peek` (map-filter-project, finishing, target replica)
 * ⇄ `mz.compute.v1` wire messages. `…FromProto` validates every plan with the arities of the
 * dataflow's imports and earlier objects and every column reference, throwing `FieldError`s with
 * the field path; `codec.ts` wraps them into `MalformedCommand` with the command's kind.
 */
import { create } from "@bufbuild/protobuf";
import { Frontier, GlobalId, type Row } from "@mzts/repr";
import { rowFromProto, rowToProto } from "../codec/datum-codec.js";
import {
  checkUnique,
  decodeGlobalId,
  decodeReplicaId,
  decodeShardId,
  decodeUuid,
  fail,
  isUuid,
  required,
  safeU64,
} from "../codec/field.js";
import {
  frontierFromProto,
  frontierToProto,
  optionalFrontierFromProto,
} from "../codec/frontier-codec.js";
import {
  checkExpr,
  decodeValidPlan,
  exprFromProto,
  exprToProto,
  orderKeyFromProto,
  orderKeyToProto,
  planToProto,
} from "../codec/plan-codec.js";
import {
  DataflowDescriptionSchema,
  type DataflowDescription as DataflowProto,
  PersistSinkConnectionSchema,
  SubscribeSinkConnectionSchema,
} from "../gen/mz/compute/v1/dataflow_pb.js";
import {
  type RowSetFinishing as FinishingProto,
  type MapFilterProject as MfpProto,
  type Peek as PeekProto,
  PeekSchema,
} from "../gen/mz/compute/v1/peek_pb.js";
import type {
  DataflowDescription,
  MapFilterProject,
  Peek,
  RowSetFinishing,
  SinkConnection,
} from "./command.js";

/** The wire form of a dataflow description. */
export function dataflowToProto(d: DataflowDescription): DataflowProto {
  return create(DataflowDescriptionSchema, {
    debugName: d.debugName,
    sourceImports: d.sourceImports.map((s) => ({
      id: s.id,
      shardId: s.shardId,
      arity: s.arity,
      upper: frontierToProto(s.upper),
    })),
    indexImports: d.indexImports.map((x) => ({ id: x.id, key: [...x.key], arity: x.arity })),
    objectsToBuild: d.objectsToBuild.map((b) => ({ id: b.id, plan: planToProto(b.plan) })),
    indexExports: d.indexExports.map((x) => ({ id: x.id, objectId: x.objectId, key: [...x.key] })),
    sinkExports: d.sinkExports.map((s) => ({
      id: s.id,
      fromId: s.fromId,
      connection:
        s.connection.kind === "persist"
          ? {
              case: "persist" as const,
              value: create(PersistSinkConnectionSchema, { shardId: s.connection.shardId }),
            }
          : { case: "subscribe" as const, value: create(SubscribeSinkConnectionSchema) },
    })),
    asOf: frontierToProto(d.asOf),
    ...(d.until === null ? {} : { until: frontierToProto(d.until) }),
  });
}

/** The wire form of a peek. */
export function peekToProto(p: Peek): PeekProto {
  return create(PeekSchema, {
    uuid: p.uuid,
    target:
      p.target.kind === "index"
        ? { case: "index" as const, value: { id: p.target.id } }
        : { case: "persist" as const, value: { id: p.target.id, shardId: p.target.shardId } },
    arity: p.arity,
    timestamp: p.timestamp,
    ...(p.literalConstraints === undefined
      ? {}
      : { literalConstraints: { rows: p.literalConstraints.map(rowToProto) } }),
    mapFilterProject: {
      exprs: p.mapFilterProject.exprs.map(exprToProto),
      predicates: p.mapFilterProject.predicates.map(exprToProto),
      projection: [...p.mapFilterProject.projection],
    },
    finishing: {
      orderBy: p.finishing.orderBy.map(orderKeyToProto),
      offset: BigInt(p.finishing.offset),
      project: [...p.finishing.project],
      ...(p.finishing.limit === undefined ? {} : { limit: BigInt(p.finishing.limit) }),
    },
    ...(p.targetReplica === undefined ? {} : { targetReplica: p.targetReplica }),
  });
}

const MAX_SAFE_U64 = BigInt(Number.MAX_SAFE_INTEGER);

/** Whether every column of `cols` is below `arity` (the common case, checked without a path). */
function allBelow(cols: readonly number[], arity: number): boolean {
  for (let i = 0; i < cols.length; i++) if ((cols[i] as number) >= arity) return false;
  return true;
}

function checkColumns(cols: readonly number[], arity: number, path: (i: number) => string): void {
  cols.forEach((c, i) => {
    if (c >= arity) fail(path(i), `column ${c} out of range for arity ${arity}`);
  });
}

/** A validated dataflow description (plans checked against the arities in scope). @throws FieldError */
export function dataflowFromProto(p: DataflowProto | undefined, path: string): DataflowDescription {
  const d = required(p, path);
  /** Arity of every name a plan may `get`: imports, then objects as they are built. */
  const arities = new Map<GlobalId, number>();
  const declare = (id: GlobalId, arity: number, at: string) => {
    if (arities.has(id))
      fail(at, `id ${id} is already an import or an earlier object of this dataflow`);
    arities.set(id, arity);
  };
  const sourceImports = d.sourceImports.map((s, i) => {
    const at = `${path}.sourceImports[${i}]`;
    const id = decodeGlobalId(s.id, `${at}.id`);
    declare(id, s.arity, `${at}.id`);
    return {
      id,
      shardId: decodeShardId(s.shardId, `${at}.shardId`),
      arity: s.arity,
      upper: frontierFromProto(s.upper, `${at}.upper`),
    };
  });
  const indexImports = d.indexImports.map((x, i) => {
    const at = `${path}.indexImports[${i}]`;
    const id = decodeGlobalId(x.id, `${at}.id`);
    declare(id, x.arity, `${at}.id`);
    checkColumns(x.key, x.arity, (j) => `${at}.key[${j}]`);
    return { id, key: [...x.key], arity: x.arity };
  });
  const built = new Map<GlobalId, number>();
  const objectsToBuild = d.objectsToBuild.map((b, i) => {
    const at = `${path}.objectsToBuild[${i}]`;
    const id = decodeGlobalId(b.id, `${at}.id`);
    const { plan, arity } = decodeValidPlan(b.plan, `${at}.plan`, (g) => arities.get(g));
    declare(id, arity, `${at}.id`);
    built.set(id, arity);
    return { id, plan };
  });
  const indexExports = d.indexExports.map((x, i) => {
    const at = `${path}.indexExports[${i}]`;
    const objectId = decodeGlobalId(x.objectId, `${at}.objectId`);
    const arity = built.get(objectId);
    if (arity === undefined)
      fail(`${at}.objectId`, `${objectId} is not an object built by this dataflow`);
    checkColumns(x.key, arity, (j) => `${at}.key[${j}]`);
    return { id: decodeGlobalId(x.id, `${at}.id`), objectId, key: [...x.key] };
  });
  const sinkExports = d.sinkExports.map((s, i) => {
    const at = `${path}.sinkExports[${i}]`;
    const fromId = decodeGlobalId(s.fromId, `${at}.fromId`);
    if (!arities.has(fromId)) {
      fail(`${at}.fromId`, `${fromId} is neither an import nor an object of this dataflow`);
    }
    let connection: SinkConnection;
    switch (s.connection.case) {
      case "persist":
        connection = {
          kind: "persist",
          shardId: decodeShardId(s.connection.value.shardId, `${at}.persist.shardId`),
        };
        break;
      case "subscribe":
        connection = { kind: "subscribe" };
        break;
      case undefined:
        return fail(`${at}.connection`, "no sink connection is set (persist or subscribe)");
    }
    return { id: decodeGlobalId(s.id, `${at}.id`), fromId, connection };
  });
  const exportIds = [...indexExports.map((x) => x.id), ...sinkExports.map((s) => s.id)];
  checkUnique(
    exportIds,
    (i) =>
      i < indexExports.length
        ? `${path}.indexExports[${i}].id`
        : `${path}.sinkExports[${i - indexExports.length}].id`,
    "export id",
  );
  return {
    debugName: d.debugName,
    sourceImports,
    indexImports,
    objectsToBuild,
    indexExports,
    sinkExports,
    asOf: frontierFromProto(d.asOf, `${path}.asOf`),
    until: optionalFrontierFromProto(d.until, `${path}.until`) ?? Frontier.EMPTY,
  };
}

function mfpFromProto(p: MfpProto | undefined, arity: number, path: string): MapFilterProject {
  const m = required(p, path);
  let width = arity;
  const exprs = m.exprs.map((e, i) => {
    const at = `${path}.exprs[${i}]`;
    const expr = exprFromProto(e, at);
    checkExpr(expr, width++, at);
    return expr;
  });
  const predicates = m.predicates.map((e, i) => {
    const at = `${path}.predicates[${i}]`;
    const expr = exprFromProto(e, at);
    checkExpr(expr, width, at);
    return expr;
  });
  // Paths and copies built only as needed: every peek on the replica's main thread (issue 16).
  if (!allBelow(m.projection, width)) {
    checkColumns(m.projection, width, (i) => `${path}.projection[${i}]`);
  }
  return { exprs, predicates, projection: m.projection.slice() };
}

function finishingFromProto(
  p: FinishingProto | undefined,
  arity: number,
  path: string,
): RowSetFinishing {
  const f = required(p, path);
  const orderBy = f.orderBy.map(orderKeyFromProto);
  if (orderBy.length > 0) {
    checkColumns(
      orderBy.map((o) => o.column),
      arity,
      (i) => `${path}.orderBy[${i}].column`,
    );
  }
  if (!allBelow(f.project, arity)) checkColumns(f.project, arity, (i) => `${path}.project[${i}]`);
  const offset = f.offset <= MAX_SAFE_U64 ? Number(f.offset) : safeU64(f.offset, `${path}.offset`);
  const project = f.project.slice();
  if (f.limit === undefined) return { orderBy, offset, project };
  const limit = f.limit <= MAX_SAFE_U64 ? Number(f.limit) : safeU64(f.limit, `${path}.limit`);
  return { orderBy, offset, project, limit };
}

/** A validated peek (map-filter-project and finishing checked against its arity). @throws FieldError */
export function peekFromProto(p: PeekProto, path: string): Peek {
  // The common case checked without building the error paths (every peek on the replica's main
  // thread, issue 16); a bad value goes through the decoder for its error.
  const uuid = isUuid(p.uuid) ? p.uuid : decodeUuid(p.uuid, `${path}.uuid`);
  let target: Peek["target"];
  switch (p.target.case) {
    case "index": {
      const id = p.target.value.id;
      target = {
        kind: "index",
        id: GlobalId.is(id) ? id : decodeGlobalId(id, `${path}.index.id`),
      };
      break;
    }
    case "persist":
      target = {
        kind: "persist",
        id: decodeGlobalId(p.target.value.id, `${path}.persist.id`),
        shardId: decodeShardId(p.target.value.shardId, `${path}.persist.shardId`),
      };
      break;
    case undefined:
      return fail(`${path}.target`, "no peek target is set (index or persist)");
  }
  let literalConstraints: Row[] | undefined;
  if (p.literalConstraints !== undefined) {
    const rows = p.literalConstraints.rows;
    const out: Row[] = [];
    for (let i = 0; i < rows.length; i++) {
      out.push(rowFromProto(rows[i], `${path}.literalConstraints.rows[${i}]`));
    }
    const width = out[0]?.length;
    for (let i = 0; i < out.length; i++) {
      const n = (out[i] as Row).length;
      if (n !== width) {
        fail(`${path}.literalConstraints.rows[${i}]`, `has ${n} columns, row 0 has ${width}`);
      }
    }
    literalConstraints = out;
  }
  const mapFilterProject = mfpFromProto(p.mapFilterProject, p.arity, `${path}.mapFilterProject`);
  const finishing = finishingFromProto(
    p.finishing,
    mapFilterProject.projection.length,
    `${path}.finishing`,
  );
  // The same keys in the same order as ever, without a spread per optional field.
  if (p.targetReplica === undefined) {
    return literalConstraints === undefined
      ? { uuid, target, arity: p.arity, timestamp: p.timestamp, mapFilterProject, finishing }
      : {
          uuid,
          target,
          arity: p.arity,
          timestamp: p.timestamp,
          literalConstraints,
          mapFilterProject,
          finishing,
        };
  }
  return {
    uuid,
    target,
    arity: p.arity,
    timestamp: p.timestamp,
    ...(literalConstraints === undefined ? {} : { literalConstraints }),
    mapFilterProject,
    finishing,
    targetReplica: decodeReplicaId(p.targetReplica, `${path}.targetReplica`),
  };
}
