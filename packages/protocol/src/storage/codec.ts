/**
 * Storage codec: domain `StorageCommand`/`StorageResponse` ⇄ `mz.storage.v1` wire messages.
 *
 * `…FromProto` validates everything (oneof cases, required fields, ids, unique export ids,
 * positive tick intervals and cardinalities, frontiers, enum values) and throws
 * `MalformedCommand`/`MalformedResponse` naming the kind and field path. `encode…`/`decode…` add
 * the binary step; `storageRequest…`/`storageResponses…` convert the batched stream messages.
 */
import { create, toBinary } from "@bufbuild/protobuf";
import { commandErrorFromProto, commandErrorToProto } from "../cluster/command-error.js";
import { helloFromProto, helloToProto } from "../cluster/hello.js";
import { decodeBatch, parseBinary } from "../codec/envelope.js";
import {
  checkUnique,
  decodeEnum,
  decodeGlobalId,
  decodeReplicaId,
  decodeShardId,
  decodeStringMap,
  encodeStringMap,
  fail,
  nonEmpty,
  required,
  reverse,
} from "../codec/field.js";
import { frontierFromProto, frontierToProto } from "../codec/frontier-codec.js";
import { FieldError, MalformedCommand, MalformedResponse } from "../errors.js";
import {
  type StorageCommand as StorageCommandProto,
  StorageCommandSchema,
} from "../gen/mz/storage/v1/command_pb.js";
import {
  IngestionDescriptionSchema,
  type IngestionDescription as IngestionProto,
  LoadGeneratorConnectionSchema,
  type LoadGeneratorConnection as LoadGeneratorProto,
  SinkDescriptionSchema,
  type SinkDescription as SinkProto,
} from "../gen/mz/storage/v1/ingestion_pb.js";
import {
  ObjectStatus as ObjectStatusProto,
  type SinkStatistics as SinkStatisticsProto,
  type SourceStatistics as SourceStatisticsProto,
  type StatusUpdate as StatusUpdateProto,
  StatusUpdateSchema,
  type StorageResponse as StorageResponseProto,
  StorageResponseSchema,
} from "../gen/mz/storage/v1/response_pb.js";
import {
  type ControlRequest,
  ControlRequestSchema,
  type ControlResponse,
  ControlResponseSchema,
} from "../gen/mz/storage/v1/service_pb.js";
import {
  type IngestionConnection,
  type IngestionDescription,
  type LoadGenerator,
  type SinkDescription,
  STORAGE_COMMAND_KINDS,
  type StorageCommand,
} from "./command.js";
import type {
  ObjectStatus,
  SinkStatistics,
  SourceStatistics,
  StatusUpdate,
  StorageResponse,
} from "./response.js";

const COMMAND_KINDS: ReadonlySet<string> = new Set(STORAGE_COMMAND_KINDS);

const STATUS: Readonly<Record<ObjectStatus, ObjectStatusProto>> = {
  starting: ObjectStatusProto.STARTING,
  running: ObjectStatusProto.RUNNING,
  paused: ObjectStatusProto.PAUSED,
  stalled: ObjectStatusProto.STALLED,
  ceased: ObjectStatusProto.CEASED,
  dropped: ObjectStatusProto.DROPPED,
};
const STATUS_BACK = reverse(STATUS);

/** Every object status (for tests and exhaustive handling). */
export const OBJECT_STATUSES = Object.keys(STATUS) as ObjectStatus[];

// ---------------------------------------------------------------------------------------------
// Load generators (mz.storage.v1.LoadGeneratorConnection)

/** @internal The wire form of a load-generator connection (also used by the environment API). */
export function loadGeneratorToProto(c: IngestionConnection): LoadGeneratorProto {
  const g = c.generator;
  return create(LoadGeneratorConnectionSchema, {
    generator:
      g.kind === "counter"
        ? {
            case: "counter",
            value: g.maxCardinality === undefined ? {} : { maxCardinality: g.maxCardinality },
          }
        : {
            case: "auction",
            value: g.maxAuctions === undefined ? {} : { maxAuctions: g.maxAuctions },
          },
    seed: c.seed,
    tickIntervalMs: c.tickIntervalMs,
    ...(c.deterministic === undefined
      ? {}
      : {
          deterministic: {
            startTimeMs: c.deterministic.startTimeMs,
            ...(c.deterministic.maxTicks === undefined
              ? {}
              : { maxTicks: c.deterministic.maxTicks }),
          },
        }),
  });
}

/**
 * @internal Decodes and validates a load-generator connection at field path `at`.
 * @throws FieldError
 */
export function loadGeneratorFromProto(
  p: LoadGeneratorProto | undefined,
  at: string,
): IngestionConnection {
  const lg = required(p, at);
  let generator: LoadGenerator;
  switch (lg.generator.case) {
    case "counter": {
      const max = lg.generator.value.maxCardinality;
      if (max === 0n)
        fail(`${at}.counter.maxCardinality`, "is 0; leave it unset for no bound or set it > 0");
      generator =
        max === undefined ? { kind: "counter" } : { kind: "counter", maxCardinality: max };
      break;
    }
    case "auction": {
      const max = lg.generator.value.maxAuctions;
      if (max !== undefined && max < 10n)
        fail(
          `${at}.auction.maxAuctions`,
          `is ${max}; keep at least 10 auctions (the longest auction, so only closed ones are retracted) or leave it unset`,
        );
      generator = max === undefined ? { kind: "auction" } : { kind: "auction", maxAuctions: max };
      break;
    }
    case undefined:
      return fail(`${at}.generator`, "no generator is set (counter or auction)");
  }
  if (lg.tickIntervalMs === 0)
    fail(`${at}.tickIntervalMs`, "is 0; set the milliseconds between ticks (> 0)");
  const det = lg.deterministic;
  return {
    kind: "loadGenerator",
    generator,
    seed: lg.seed,
    tickIntervalMs: lg.tickIntervalMs,
    ...(det === undefined
      ? {}
      : {
          deterministic: {
            startTimeMs: det.startTimeMs,
            ...(det.maxTicks === undefined ? {} : { maxTicks: det.maxTicks }),
          },
        }),
  };
}

// ---------------------------------------------------------------------------------------------
// Commands

function ingestionToProto(d: IngestionDescription): IngestionProto {
  return create(IngestionDescriptionSchema, {
    sourceExports: d.sourceExports.map((e) => ({ ...e })),
    connection: { case: "loadGenerator", value: loadGeneratorToProto(d.connection) },
  });
}

function sinkToProto(d: SinkDescription): SinkProto {
  return create(SinkDescriptionSchema, {
    fromId: d.fromId,
    fromShardId: d.fromShardId,
    connection: { case: "persist", value: { shardId: d.connection.shardId } },
    asOf: frontierToProto(d.asOf),
  });
}

/** The wire form of a storage command. */
export function storageCommandToProto(cmd: StorageCommand): StorageCommandProto {
  switch (cmd.kind) {
    case "hello":
      return create(StorageCommandSchema, {
        kind: { case: "hello", value: helloToProto(cmd.hello) },
      });
    case "initializationComplete":
      return create(StorageCommandSchema, { kind: { case: "initializationComplete", value: {} } });
    case "allowWrites":
      return create(StorageCommandSchema, { kind: { case: "allowWrites", value: {} } });
    case "updateConfiguration":
      return create(StorageCommandSchema, {
        kind: { case: "updateConfiguration", value: { params: encodeStringMap(cmd.params) } },
      });
    case "runIngestion":
      return create(StorageCommandSchema, {
        kind: {
          case: "runIngestion",
          value: { id: cmd.id, description: ingestionToProto(cmd.description) },
        },
      });
    case "runSink":
      return create(StorageCommandSchema, {
        kind: { case: "runSink", value: { id: cmd.id, description: sinkToProto(cmd.description) } },
      });
    case "allowCompaction":
      return create(StorageCommandSchema, {
        kind: {
          case: "allowCompaction",
          value: { id: cmd.id, frontier: frontierToProto(cmd.frontier) },
        },
      });
  }
}

function ingestionFromProto(p: IngestionProto | undefined, path: string): IngestionDescription {
  const d = required(p, path);
  if (d.sourceExports.length === 0) {
    fail(`${path}.sourceExports`, "is empty; an ingestion writes at least one collection");
  }
  const sourceExports = d.sourceExports.map((e, i) => {
    const at = `${path}.sourceExports[${i}]`;
    return {
      id: decodeGlobalId(e.id, `${at}.id`),
      shardId: decodeShardId(e.shardId, `${at}.shardId`),
      outputIndex: e.outputIndex,
      name: e.name,
    };
  });
  checkUnique(
    sourceExports.map((e) => e.id),
    (i) => `${path}.sourceExports[${i}].id`,
    "source export id",
  );
  const c = d.connection;
  if (c.case === undefined) fail(`${path}.connection`, "no connection is set (loadGenerator)");
  return {
    sourceExports,
    connection: loadGeneratorFromProto(c.value, `${path}.loadGenerator`),
  };
}

function sinkFromProto(p: SinkProto | undefined, path: string): SinkDescription {
  const d = required(p, path);
  if (d.connection.case === undefined) fail(`${path}.connection`, "no connection is set (persist)");
  return {
    fromId: decodeGlobalId(d.fromId, `${path}.fromId`),
    fromShardId: decodeShardId(d.fromShardId, `${path}.fromShardId`),
    connection: {
      kind: "persist",
      shardId: decodeShardId(d.connection.value.shardId, `${path}.persist.shardId`),
    },
    asOf: frontierFromProto(d.asOf, `${path}.asOf`),
  };
}

function commandFromProtoAt(msg: StorageCommandProto, prefix: string): StorageCommand {
  const k = msg.kind;
  const kind = k.case ?? "unknown";
  const path = prefix + kind;
  try {
    switch (k.case) {
      case "hello":
        return { kind: "hello", hello: helloFromProto(k.value, path) };
      case "initializationComplete":
        return { kind: "initializationComplete" };
      case "allowWrites":
        return { kind: "allowWrites" };
      case "updateConfiguration":
        return { kind: "updateConfiguration", params: decodeStringMap(k.value.params) };
      case "runIngestion":
        return {
          kind: "runIngestion",
          id: decodeGlobalId(k.value.id, `${path}.id`),
          description: ingestionFromProto(k.value.description, `${path}.description`),
        };
      case "runSink":
        return {
          kind: "runSink",
          id: decodeGlobalId(k.value.id, `${path}.id`),
          description: sinkFromProto(k.value.description, `${path}.description`),
        };
      case "allowCompaction":
        return {
          kind: "allowCompaction",
          id: decodeGlobalId(k.value.id, `${path}.id`),
          frontier: frontierFromProto(k.value.frontier, `${path}.frontier`),
        };
      case undefined:
        return fail(`${prefix}kind`, "no command kind is set");
    }
  } catch (e) {
    if (e instanceof FieldError) throw new MalformedCommand("storage", kind, e.path, e.reason);
    throw e;
  }
}

/**
 * Decodes and validates a storage command.
 * @throws MalformedCommand naming the kind and field path of the first problem.
 */
export function storageCommandFromProto(msg: StorageCommandProto): StorageCommand {
  return commandFromProtoAt(msg, "");
}

/** Binary encoding of a storage command. */
export function encodeStorageCommand(cmd: StorageCommand): Uint8Array {
  return toBinary(StorageCommandSchema, storageCommandToProto(cmd));
}

/** Decodes a binary storage command. @throws MalformedCommand (also for undecodable bytes). */
export function decodeStorageCommand(bytes: Uint8Array): StorageCommand {
  return storageCommandFromProto(parseBinary(StorageCommandSchema, bytes, "storage", "command"));
}

/** One stream message carrying `cmds` in order. */
export function storageRequestToProto(cmds: readonly StorageCommand[]): ControlRequest {
  return create(ControlRequestSchema, { commands: cmds.map(storageCommandToProto) });
}

/** The commands of one stream message, in order. @throws MalformedCommand (also when empty). */
export function storageRequestFromProto(req: ControlRequest): StorageCommand[] {
  return decodeBatch(req.commands, "storage", "command", commandFromProtoAt);
}

// ---------------------------------------------------------------------------------------------
// Responses

function statusToProto(u: StatusUpdate): StatusUpdateProto {
  return create(StatusUpdateSchema, {
    id: u.id,
    status: STATUS[u.status],
    timestampMs: u.timestampMs,
    hints: [...u.hints],
    namespacedErrors: encodeStringMap(u.namespacedErrors),
    ...(u.error === undefined ? {} : { error: u.error }),
    ...(u.replicaId === undefined ? {} : { replicaId: u.replicaId }),
  });
}

/** `{[key]: v}` when `v` is defined, else `{}` (absent optional fields stay absent). */
function opt<K extends string, V>(key: K, v: V | undefined): { [P in K]?: V } {
  return (v === undefined ? {} : { [key]: v }) as { [P in K]?: V };
}

function sourceStatsFromProto(s: SourceStatisticsProto, path: string): SourceStatistics {
  return {
    id: decodeGlobalId(s.id, `${path}.id`),
    messagesReceived: s.messagesReceived,
    bytesReceived: s.bytesReceived,
    updatesStaged: s.updatesStaged,
    updatesCommitted: s.updatesCommitted,
    recordsIndexed: s.recordsIndexed,
    snapshotCommitted: s.snapshotCommitted,
    ...opt("snapshotRecordsKnown", s.snapshotRecordsKnown),
    ...opt("snapshotRecordsStaged", s.snapshotRecordsStaged),
    ...opt("offsetKnown", s.offsetKnown),
    ...opt("offsetCommitted", s.offsetCommitted),
    ...opt("rehydrationLatencyMs", s.rehydrationLatencyMs),
  };
}

function sinkStatsFromProto(s: SinkStatisticsProto, path: string): SinkStatistics {
  return {
    id: decodeGlobalId(s.id, `${path}.id`),
    messagesStaged: s.messagesStaged,
    messagesCommitted: s.messagesCommitted,
    bytesStaged: s.bytesStaged,
    bytesCommitted: s.bytesCommitted,
  };
}

/** The wire form of a storage response. */
export function storageResponseToProto(r: StorageResponse): StorageResponseProto {
  switch (r.kind) {
    case "frontierUpper":
      return create(StorageResponseSchema, {
        kind: { case: "frontierUpper", value: { id: r.id, upper: frontierToProto(r.upper) } },
      });
    case "droppedId":
      return create(StorageResponseSchema, { kind: { case: "droppedId", value: { id: r.id } } });
    case "statisticsUpdates":
      return create(StorageResponseSchema, {
        kind: {
          case: "statisticsUpdates",
          value: {
            sources: r.sources.map((s) => ({ ...s })),
            sinks: r.sinks.map((s) => ({ ...s })),
          },
        },
      });
    case "statusUpdate":
      return create(StorageResponseSchema, {
        kind: { case: "statusUpdate", value: statusToProto(r.update) },
      });
    case "commandError":
      return create(StorageResponseSchema, {
        kind: { case: "commandError", value: commandErrorToProto(r.error) },
      });
  }
}

function statusFromProto(u: StatusUpdateProto, path: string): StatusUpdate {
  return {
    id: decodeGlobalId(u.id, `${path}.id`),
    status: decodeEnum(u.status, STATUS_BACK, `${path}.status`, "status"),
    timestampMs: u.timestampMs,
    hints: [...u.hints],
    namespacedErrors: decodeStringMap(u.namespacedErrors),
    ...(u.error === undefined ? {} : { error: nonEmpty(u.error, `${path}.error`) }),
    ...(u.replicaId === undefined
      ? {}
      : { replicaId: decodeReplicaId(u.replicaId, `${path}.replicaId`) }),
  };
}

function responseFromProtoAt(msg: StorageResponseProto, prefix: string): StorageResponse {
  const k = msg.kind;
  const kind = k.case ?? "unknown";
  const path = prefix + kind;
  try {
    switch (k.case) {
      case "frontierUpper":
        return {
          kind: "frontierUpper",
          id: decodeGlobalId(k.value.id, `${path}.id`),
          upper: frontierFromProto(k.value.upper, `${path}.upper`),
        };
      case "droppedId":
        return { kind: "droppedId", id: decodeGlobalId(k.value.id, `${path}.id`) };
      case "statisticsUpdates":
        return {
          kind: "statisticsUpdates",
          sources: k.value.sources.map((s, i) => sourceStatsFromProto(s, `${path}.sources[${i}]`)),
          sinks: k.value.sinks.map((s, i) => sinkStatsFromProto(s, `${path}.sinks[${i}]`)),
        };
      case "statusUpdate":
        return { kind: "statusUpdate", update: statusFromProto(k.value, path) };
      case "commandError":
        return { kind: "commandError", error: commandErrorFromProto(k.value, path, COMMAND_KINDS) };
      case undefined:
        return fail(`${prefix}kind`, "no response kind is set");
    }
  } catch (e) {
    if (e instanceof FieldError) throw new MalformedResponse("storage", kind, e.path, e.reason);
    throw e;
  }
}

/**
 * Decodes and validates a storage response.
 * @throws MalformedResponse naming the kind and field path of the first problem.
 */
export function storageResponseFromProto(msg: StorageResponseProto): StorageResponse {
  return responseFromProtoAt(msg, "");
}

/** Binary encoding of a storage response. */
export function encodeStorageResponse(r: StorageResponse): Uint8Array {
  return toBinary(StorageResponseSchema, storageResponseToProto(r));
}

/** Decodes a binary storage response. @throws MalformedResponse (also for undecodable bytes). */
export function decodeStorageResponse(bytes: Uint8Array): StorageResponse {
  return storageResponseFromProto(parseBinary(StorageResponseSchema, bytes, "storage", "response"));
}

/** One stream message carrying `responses` in order. */
export function storageResponsesToProto(responses: readonly StorageResponse[]): ControlResponse {
  return create(ControlResponseSchema, { responses: responses.map(storageResponseToProto) });
}

/** The responses of one stream message, in order. @throws MalformedResponse (also when empty). */
export function storageResponsesFromProto(msg: ControlResponse): StorageResponse[] {
  return decodeBatch(msg.responses, "storage", "response", responseFromProtoAt);
}
