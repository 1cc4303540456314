/**
 * Compute codec: domain `ComputeCommand`/`ComputeResponse` ⇄ `mz.compute.v1` wire messages.
 *
 * `…ToProto` builds the protobuf-es message; `…FromProto` validates everything and throws
 * `MalformedCommand`/`MalformedResponse` naming the kind and field path: unset oneofs and required
 * fields, ids, UUIDs, frontiers with more than one element, datums, row batches, and every plan
 * (`validatePlan` with the arities of the dataflow's imports and earlier objects). `encode…` /
 * `decode…` add the binary step (an undecodable payload is malformed too), and
 * `computeRequest…`/`computeResponses…` convert the batched stream messages.
 */
import { create, toBinary } from "@bufbuild/protobuf";
import { Frontier, type GlobalId, type Row } from "@mzts/repr";
import {
  type CommandError,
  commandErrorFromProto,
  commandErrorToProto,
} from "../cluster/command-error.js";
import { helloFromProto, helloToProto } from "../cluster/hello.js";
import { rowFromProto, rowToProto } from "../codec/datum-codec.js";
import { decodeBatch, parseBinary } from "../codec/envelope.js";
import {
  checkUnique,
  decodeGlobalId,
  decodeReplicaId,
  decodeShardId,
  decodeStringMap,
  decodeUuid,
  encodeStringMap,
  fail,
  nonEmpty,
  required,
  safeU64,
} from "../codec/field.js";
import {
  frontierFromProto,
  frontierToProto,
  optionalFrontierFromProto,
  optionalFrontierToProto,
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
  rowBatchFromProto,
  rowBatchToProto,
  updateBatchFromProto,
  updateBatchToProto,
} from "../codec/row-batch-codec.js";
import { FieldError, MalformedCommand, MalformedResponse } from "../errors.js";
import {
  type ComputeCommand as ComputeCommandProto,
  ComputeCommandSchema,
} from "../gen/mz/compute/v1/command_pb.js";
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
import {
  type ComputeResponse as ComputeResponseProto,
  ComputeResponseSchema,
  type SubscribeBatch as SubscribeBatchProto,
} from "../gen/mz/compute/v1/response_pb.js";
import {
  type ControlRequest,
  ControlRequestSchema,
  type ControlResponse,
  ControlResponseSchema,
} from "../gen/mz/compute/v1/service_pb.js";
import {
  COMPUTE_COMMAND_KINDS,
  type ComputeCommand,
  type DataflowDescription,
  type MapFilterProject,
  type Peek,
  type RowSetFinishing,
  type SinkConnection,
} from "./command.js";
import type {
  ComputeResponse,
  FrontiersUpdate,
  PeekResponse,
  SubscribeResponse,
} from "./response.js";

const COMMAND_KINDS: ReadonlySet<string> = new Set(COMPUTE_COMMAND_KINDS);

// ---------------------------------------------------------------------------------------------
// Commands: domain → wire

function dataflowToProto(d: DataflowDescription): DataflowProto {
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

function peekToProto(p: Peek): PeekProto {
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

/**
 * The wire form of a compute command.
 * @throws InvalidDatum when a row or literal holds a value that is not a datum.
 */
export function computeCommandToProto(cmd: ComputeCommand): ComputeCommandProto {
  switch (cmd.kind) {
    case "hello":
      return create(ComputeCommandSchema, {
        kind: { case: "hello", value: helloToProto(cmd.hello) },
      });
    case "createInstance": {
      const { logging, expirationOffsetMs } = cmd.config;
      return create(ComputeCommandSchema, {
        kind: {
          case: "createInstance",
          value: {
            logging: {
              enabled: logging.enabled,
              intervalMs: logging.intervalMs,
              logLogging: logging.logLogging,
              indexLogs: encodeStringMap(logging.indexLogs),
            },
            ...(expirationOffsetMs === undefined ? {} : { expirationOffsetMs }),
          },
        },
      });
    }
    case "initializationComplete":
      return create(ComputeCommandSchema, { kind: { case: "initializationComplete", value: {} } });
    case "updateConfiguration": {
      const { maxResultSize, workloadClass, dyncfgUpdates } = cmd.params;
      return create(ComputeCommandSchema, {
        kind: {
          case: "updateConfiguration",
          value: {
            dyncfgUpdates: encodeStringMap(dyncfgUpdates),
            ...(maxResultSize === undefined ? {} : { maxResultSize }),
            ...(workloadClass === undefined ? {} : { workloadClass }),
          },
        },
      });
    }
    case "createDataflow":
      return create(ComputeCommandSchema, {
        kind: { case: "createDataflow", value: { dataflow: dataflowToProto(cmd.dataflow) } },
      });
    case "schedule":
      return create(ComputeCommandSchema, { kind: { case: "schedule", value: { id: cmd.id } } });
    case "allowCompaction":
      return create(ComputeCommandSchema, {
        kind: {
          case: "allowCompaction",
          value: { id: cmd.id, frontier: frontierToProto(cmd.frontier) },
        },
      });
    case "peek":
      return create(ComputeCommandSchema, { kind: { case: "peek", value: peekToProto(cmd.peek) } });
    case "cancelPeek":
      return create(ComputeCommandSchema, {
        kind: { case: "cancelPeek", value: { uuid: cmd.uuid } },
      });
    case "allowWrites":
      return create(ComputeCommandSchema, { kind: { case: "allowWrites", value: { id: cmd.id } } });
  }
}

// ---------------------------------------------------------------------------------------------
// Commands: wire → domain

function checkColumns(cols: readonly number[], arity: number, path: (i: number) => string): void {
  cols.forEach((c, i) => {
    if (c >= arity) fail(path(i), `column ${c} out of range for arity ${arity}`);
  });
}

function dataflowFromProto(p: DataflowProto | undefined, path: string): DataflowDescription {
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
  checkColumns(m.projection, width, (i) => `${path}.projection[${i}]`);
  return { exprs, predicates, projection: [...m.projection] };
}

function finishingFromProto(
  p: FinishingProto | undefined,
  arity: number,
  path: string,
): RowSetFinishing {
  const f = required(p, path);
  const orderBy = f.orderBy.map(orderKeyFromProto);
  checkColumns(
    orderBy.map((o) => o.column),
    arity,
    (i) => `${path}.orderBy[${i}].column`,
  );
  checkColumns(f.project, arity, (i) => `${path}.project[${i}]`);
  const base = {
    orderBy,
    offset: safeU64(f.offset, `${path}.offset`),
    project: [...f.project],
  };
  return f.limit === undefined ? base : { ...base, limit: safeU64(f.limit, `${path}.limit`) };
}

function peekFromProto(p: PeekProto, path: string): Peek {
  const uuid = decodeUuid(p.uuid, `${path}.uuid`);
  let target: Peek["target"];
  switch (p.target.case) {
    case "index":
      target = { kind: "index", id: decodeGlobalId(p.target.value.id, `${path}.index.id`) };
      break;
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
    const at = `${path}.literalConstraints.rows`;
    literalConstraints = p.literalConstraints.rows.map((r, i) => rowFromProto(r, `${at}[${i}]`));
    const width = literalConstraints[0]?.length;
    literalConstraints.forEach((r, i) => {
      if (r.length !== width) fail(`${at}[${i}]`, `has ${r.length} columns, row 0 has ${width}`);
    });
  }
  const mapFilterProject = mfpFromProto(p.mapFilterProject, p.arity, `${path}.mapFilterProject`);
  const finishing = finishingFromProto(
    p.finishing,
    mapFilterProject.projection.length,
    `${path}.finishing`,
  );
  return {
    uuid,
    target,
    arity: p.arity,
    timestamp: p.timestamp,
    ...(literalConstraints === undefined ? {} : { literalConstraints }),
    mapFilterProject,
    finishing,
    ...(p.targetReplica === undefined
      ? {}
      : { targetReplica: decodeReplicaId(p.targetReplica, `${path}.targetReplica`) }),
  };
}

function commandFromProtoAt(msg: ComputeCommandProto, prefix: string): ComputeCommand {
  const k = msg.kind;
  const kind = k.case ?? "unknown";
  const path = prefix + kind;
  try {
    switch (k.case) {
      case "hello":
        return { kind: "hello", hello: helloFromProto(k.value, path) };
      case "createInstance": {
        const logging = required(k.value.logging, `${path}.logging`);
        if (logging.enabled && logging.intervalMs === 0) {
          fail(
            `${path}.logging.intervalMs`,
            "is 0 while logging is enabled; set a positive interval",
          );
        }
        const indexLogs = decodeStringMap(logging.indexLogs);
        for (const [variant, id] of indexLogs)
          decodeGlobalId(id, `${path}.logging.indexLogs.${variant}`);
        const offset = k.value.expirationOffsetMs;
        return {
          kind: "createInstance",
          config: {
            logging: {
              enabled: logging.enabled,
              intervalMs: logging.intervalMs,
              logLogging: logging.logLogging,
              indexLogs,
            },
            ...(offset === undefined ? {} : { expirationOffsetMs: offset }),
          },
        };
      }
      case "initializationComplete":
        return { kind: "initializationComplete" };
      case "updateConfiguration": {
        const { maxResultSize, workloadClass, dyncfgUpdates } = k.value;
        return {
          kind: "updateConfiguration",
          params: {
            dyncfgUpdates: decodeStringMap(dyncfgUpdates),
            ...(maxResultSize === undefined ? {} : { maxResultSize }),
            ...(workloadClass === undefined ? {} : { workloadClass }),
          },
        };
      }
      case "createDataflow":
        return {
          kind: "createDataflow",
          dataflow: dataflowFromProto(k.value.dataflow, `${path}.dataflow`),
        };
      case "schedule":
        return { kind: "schedule", id: decodeGlobalId(k.value.id, `${path}.id`) };
      case "allowCompaction":
        return {
          kind: "allowCompaction",
          id: decodeGlobalId(k.value.id, `${path}.id`),
          frontier: frontierFromProto(k.value.frontier, `${path}.frontier`),
        };
      case "peek":
        return { kind: "peek", peek: peekFromProto(k.value, path) };
      case "cancelPeek":
        return { kind: "cancelPeek", uuid: decodeUuid(k.value.uuid, `${path}.uuid`) };
      case "allowWrites":
        return { kind: "allowWrites", id: decodeGlobalId(k.value.id, `${path}.id`) };
      case undefined:
        return fail(`${prefix}kind`, "no command kind is set");
    }
  } catch (e) {
    if (e instanceof FieldError) throw new MalformedCommand("compute", kind, e.path, e.reason);
    throw e;
  }
}

/**
 * Decodes and validates a compute command.
 * @throws MalformedCommand naming the kind and field path of the first problem.
 */
export function computeCommandFromProto(msg: ComputeCommandProto): ComputeCommand {
  return commandFromProtoAt(msg, "");
}

/** Binary encoding of a compute command. @throws InvalidDatum (see `computeCommandToProto`). */
export function encodeComputeCommand(cmd: ComputeCommand): Uint8Array {
  return toBinary(ComputeCommandSchema, computeCommandToProto(cmd));
}

/** Decodes a binary compute command. @throws MalformedCommand (also for undecodable bytes). */
export function decodeComputeCommand(bytes: Uint8Array): ComputeCommand {
  return computeCommandFromProto(parseBinary(ComputeCommandSchema, bytes, "compute", "command"));
}

/** One stream message carrying `cmds` in order. */
export function computeRequestToProto(cmds: readonly ComputeCommand[]): ControlRequest {
  return create(ControlRequestSchema, { commands: cmds.map(computeCommandToProto) });
}

/** The commands of one stream message, in order. @throws MalformedCommand (also when empty). */
export function computeRequestFromProto(req: ControlRequest): ComputeCommand[] {
  return decodeBatch(req.commands, "compute", "command", commandFromProtoAt);
}

// ---------------------------------------------------------------------------------------------
// Responses

function peekResponseToProto(r: PeekResponse) {
  switch (r.kind) {
    case "rows":
      return { case: "rows" as const, value: rowBatchToProto(r.rows) };
    case "error":
      return { case: "error" as const, value: r.message };
    case "canceled":
      return { case: "canceled" as const, value: {} };
  }
}

function subscribeToProto(r: SubscribeResponse) {
  if (r.kind === "droppedAt") {
    return { case: "droppedAt" as const, value: frontierToProto(r.frontier) };
  }
  return {
    case: "batch" as const,
    value: {
      lower: frontierToProto(r.lower),
      upper: frontierToProto(r.upper),
      result:
        r.result.kind === "updates"
          ? { case: "updates" as const, value: updateBatchToProto(r.result.updates) }
          : { case: "error" as const, value: r.result.message },
    },
  };
}

/**
 * The wire form of a compute response.
 * @throws InvalidDatum when a row holds a value that is not a datum.
 */
export function computeResponseToProto(r: ComputeResponse): ComputeResponseProto {
  switch (r.kind) {
    case "frontiers":
      return create(ComputeResponseSchema, {
        kind: {
          case: "frontiers",
          value: {
            id: r.id,
            writeFrontier: optionalFrontierToProto(r.frontiers.write),
            inputFrontier: optionalFrontierToProto(r.frontiers.input),
            outputFrontier: optionalFrontierToProto(r.frontiers.output),
          },
        },
      });
    case "peekResponse":
      return create(ComputeResponseSchema, {
        kind: {
          case: "peekResponse",
          value: { uuid: r.uuid, result: peekResponseToProto(r.response) },
        },
      });
    case "subscribeResponse":
      return create(ComputeResponseSchema, {
        kind: {
          case: "subscribeResponse",
          value: { id: r.id, kind: subscribeToProto(r.response) },
        },
      });
    case "status":
      return create(ComputeResponseSchema, {
        kind: { case: "status", value: { hydration: r.hydration.map((h) => ({ ...h })) } },
      });
    case "commandError":
      return create(ComputeResponseSchema, {
        kind: { case: "commandError", value: commandErrorToProto(r.error) },
      });
  }
}

function frontiersFromProto(
  v: Extract<ComputeResponseProto["kind"], { case: "frontiers" }>["value"],
  path: string,
): FrontiersUpdate {
  const write = optionalFrontierFromProto(v.writeFrontier, `${path}.writeFrontier`);
  const input = optionalFrontierFromProto(v.inputFrontier, `${path}.inputFrontier`);
  const output = optionalFrontierFromProto(v.outputFrontier, `${path}.outputFrontier`);
  if (write === undefined && input === undefined && output === undefined) {
    fail(path, "no frontier is set; report at least one of write, input and output");
  }
  return {
    ...(write === undefined ? {} : { write }),
    ...(input === undefined ? {} : { input }),
    ...(output === undefined ? {} : { output }),
  };
}

function subscribeBatchFromProto(b: SubscribeBatchProto, at: string): SubscribeResponse {
  const lower = frontierFromProto(b.lower, `${at}.lower`);
  const upper = frontierFromProto(b.upper, `${at}.upper`);
  if (!Frontier.lessThan(lower, upper)) {
    fail(
      `${at}.upper`,
      `${Frontier.format(upper)} is not beyond lower ${Frontier.format(lower)}; batches cover non-empty intervals`,
    );
  }
  const r = b.result;
  switch (r.case) {
    case "updates": {
      const updates = updateBatchFromProto(r.value, `${at}.updates`);
      updates.forEach(([, time], i) => {
        if (!Frontier.includes(lower, time) || Frontier.includes(upper, time)) {
          fail(
            `${at}.updates.times[${i}]`,
            `time ${time} is outside the batch interval [${lower}, ${Frontier.format(upper)})`,
          );
        }
      });
      return { kind: "batch", lower, upper, result: { kind: "updates", updates } };
    }
    case "error":
      return {
        kind: "batch",
        lower,
        upper,
        result: { kind: "error", message: nonEmpty(r.value, `${at}.error`) },
      };
    case undefined:
      return fail(`${at}.result`, "no batch result is set (updates or error)");
  }
}

function subscribeFromProto(
  v: Extract<ComputeResponseProto["kind"], { case: "subscribeResponse" }>["value"],
  path: string,
): SubscribeResponse {
  const k = v.kind;
  switch (k.case) {
    case "droppedAt":
      return { kind: "droppedAt", frontier: frontierFromProto(k.value, `${path}.droppedAt`) };
    case "batch":
      return subscribeBatchFromProto(k.value, `${path}.batch`);
    case undefined:
      return fail(`${path}.kind`, "no subscribe response kind is set (batch or droppedAt)");
  }
}

function responseFromProtoAt(msg: ComputeResponseProto, prefix: string): ComputeResponse {
  const k = msg.kind;
  const kind = k.case ?? "unknown";
  const path = prefix + kind;
  try {
    switch (k.case) {
      case "frontiers":
        return {
          kind: "frontiers",
          id: decodeGlobalId(k.value.id, `${path}.id`),
          frontiers: frontiersFromProto(k.value, path),
        };
      case "peekResponse": {
        const uuid = decodeUuid(k.value.uuid, `${path}.uuid`);
        const r = k.value.result;
        let response: PeekResponse;
        switch (r.case) {
          case "rows":
            response = { kind: "rows", rows: rowBatchFromProto(r.value, `${path}.rows`) };
            break;
          case "error":
            response = { kind: "error", message: nonEmpty(r.value, `${path}.error`) };
            break;
          case "canceled":
            response = { kind: "canceled" };
            break;
          case undefined:
            return fail(`${path}.result`, "no peek result is set (rows, error or canceled)");
        }
        return { kind: "peekResponse", uuid, response };
      }
      case "subscribeResponse":
        return {
          kind: "subscribeResponse",
          id: decodeGlobalId(k.value.id, `${path}.id`),
          response: subscribeFromProto(k.value, path),
        };
      case "status":
        return {
          kind: "status",
          hydration: k.value.hydration.map((h, i) => ({
            id: decodeGlobalId(h.id, `${path}.hydration[${i}].id`),
            hydrated: h.hydrated,
          })),
        };
      case "commandError": {
        const error: CommandError = commandErrorFromProto(k.value, path, COMMAND_KINDS);
        return { kind: "commandError", error };
      }
      case undefined:
        return fail(`${prefix}kind`, "no response kind is set");
    }
  } catch (e) {
    if (e instanceof FieldError) throw new MalformedResponse("compute", kind, e.path, e.reason);
    throw e;
  }
}

/**
 * Decodes and validates a compute response.
 * @throws MalformedResponse naming the kind and field path of the first problem.
 */
export function computeResponseFromProto(msg: ComputeResponseProto): ComputeResponse {
  return responseFromProtoAt(msg, "");
}

/** Binary encoding of a compute response. @throws InvalidDatum */
export function encodeComputeResponse(r: ComputeResponse): Uint8Array {
  return toBinary(ComputeResponseSchema, computeResponseToProto(r));
}

/** Decodes a binary compute response. @throws MalformedResponse (also for undecodable bytes). */
export function decodeComputeResponse(bytes: Uint8Array): ComputeResponse {
  return computeResponseFromProto(parseBinary(ComputeResponseSchema, bytes, "compute", "response"));
}

/** One stream message carrying `responses` in order. */
export function computeResponsesToProto(responses: readonly ComputeResponse[]): ControlResponse {
  return create(ControlResponseSchema, { responses: responses.map(computeResponseToProto) });
}

/** The responses of one stream message, in order. @throws MalformedResponse (also when empty). */
export function computeResponsesFromProto(msg: ControlResponse): ComputeResponse[] {
  return decodeBatch(msg.responses, "compute", "response", responseFromProtoAt);
}
