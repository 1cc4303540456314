/**
 * The `StreamCodec`s of the compute and storage controller streams: how `createStreamHandler`
 * decodes a request message into domain commands, encodes responses (as messages, and pre-encoded
 * for binary streams: `@mzts/protocol` `response-frames.ts`), and classifies commands by protocol
 * stage. Decoding errors are `MalformedCommand`s (→ Connect `InvalidArgument`).
 */
import {
  type ComputeCommand,
  type ComputeResponse,
  computeRequestFromFrames,
  computeRequestFromProto,
  computeResponsesFramed,
  computeResponsesToProto,
  type StorageCommand,
  type StorageResponse,
  storageRequestFromProto,
  storageResponsesFramed,
  storageResponsesToProto,
} from "@mzts/protocol";
import type { computeV1, storageV1 } from "@mzts/protocol/wire";
import type { CommandClass, StreamCodec } from "./server.js";

function classify(cmd: ComputeCommand | StorageCommand): CommandClass {
  if (cmd.kind === "hello") return { kind: "hello", hello: cmd.hello };
  if (cmd.kind === "initializationComplete") return { kind: "initializationComplete" };
  if (cmd.kind === "createInstance") return { kind: "createInstance" };
  return { kind: "other" };
}

/**
 * The compute stream (`mz.compute.v1.ComputeService/Control`). A replica serves it framed
 * (`ComputeServerFramesService`: each command's bytes, an allowCompaction read directly, issue
 * 16); an in-process caller may pass messages.
 */
export const computeStreamCodec: StreamCodec<
  computeV1.ControlRequest | computeV1.ControlRequestFrames,
  ComputeCommand,
  computeV1.ControlResponse,
  ComputeResponse
> = {
  decodeRequest: (req) =>
    req.$typeName === "mz.compute.v1.ControlRequestFrames"
      ? computeRequestFromFrames(req.commands)
      : computeRequestFromProto(req),
  encodeResponses: computeResponsesToProto,
  frameResponses: computeResponsesFramed,
  classify,
};

/** The storage stream (`mz.storage.v1.StorageService/Control`). */
export const storageStreamCodec: StreamCodec<
  storageV1.ControlRequest,
  StorageCommand,
  storageV1.ControlResponse,
  StorageResponse
> = {
  decodeRequest: storageRequestFromProto,
  encodeResponses: storageResponsesToProto,
  frameResponses: storageResponsesFramed,
  classify,
};
