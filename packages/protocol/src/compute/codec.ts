/**
 * Compute codec: domain `ComputeCommand`/`ComputeResponse` ⇄ `mz.compute.v1` wire messages.
 *
 * `…ToProto` builds the protobuf-es message; `…FromProto` validates everything and throws
 * `MalformedCommand`/`MalformedResponse` naming the kind and field path: unset oneofs and required
 * fields, ids, UUIDs, frontiers with more than one element, datums, row batches, and every plan
 * (`validatePlan` with the arities of the dataflow's imports and earlier objects). `encode…` /
 * `decode…` add the binary step (an undecodable payload is malformed too), and
 * `computeRequest…`/`computeResponses…` convert the batched stream messages.
 *
 * The dataflow description and peek sub-codecs are in `dataflow-codec.ts`.
 */
import { create, toBinary } from "@bufbuild/protobuf";
import { Frontier } from "@mzts/repr";
import {
  type CommandError,
  commandErrorFromProto,
  commandErrorToProto,
} from "../cluster/command-error.js";
import { helloFromProto, helloToProto } from "../cluster/hello.js";
import { decodeBatch, parseBinary } from "../codec/envelope.js";
import {
  decodeGlobalId,
  decodeStringMap,
  decodeUuid,
  encodeStringMap,
  fail,
  nonEmpty,
  required,
} from "../codec/field.js";
import {
  frontierFromProto,
  frontierToProto,
  optionalFrontierFromProto,
  optionalFrontierToProto,
} from "../codec/frontier-codec.js";
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
import { COMPUTE_COMMAND_KINDS, type ComputeCommand } from "./command.js";
import {
  dataflowFromProto,
  dataflowToProto,
  peekFromProto,
  peekToProto,
} from "./dataflow-codec.js";
import type {
  ComputeResponse,
  FrontiersUpdate,
  PeekResponse,
  SubscribeResponse,
} from "./response.js";

const COMMAND_KINDS: ReadonlySet<string> = new Set(COMPUTE_COMMAND_KINDS);

// ---------------------------------------------------------------------------------------------
// Commands: domain → wire

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

export function commandFromProtoAt(msg: ComputeCommandProto, prefix: string): ComputeCommand {
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

/** `computeResponseFromProto` with `prefix` (e.g. `responses[2].`) in front of error paths. */
export function responseFromProtoAt(msg: ComputeResponseProto, prefix: string): ComputeResponse {
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
