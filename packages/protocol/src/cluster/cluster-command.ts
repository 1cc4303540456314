/**
 * The unified cluster stream (phase `cluster-unification-client`): compute and storage commands
 * and responses multiplexed on one bidirectional stream per replica.
 *
 * ## Stages
 * Each sub-protocol keeps its own stages (see `compute/command.ts`, `storage/command.ts`): its own
 * `hello`, replayed history, exactly one `initializationComplete`, live commands. On one stream:
 * - the first command must be a `hello` of either sub-protocol;
 * - both sub-protocols' hellos must carry the same nonce, generation and versions
 *   (`checkClusterHellos` compares them);
 * - commands of the two sub-protocols may interleave freely; the order within each is preserved.
 *
 * The codec delegates to the compute and storage codecs, so a malformed inner command throws the
 * inner protocol's `MalformedCommand` (e.g. protocol "compute"); a missing compute/storage case
 * throws `MalformedCommand` with protocol "cluster".
 */
import { create, toBinary } from "@bufbuild/protobuf";
import { parseBinary } from "../codec/envelope.js";
import {
  computeCommandFromProto,
  computeCommandToProto,
  computeResponseFromProto,
  computeResponseToProto,
} from "../compute/codec.js";
import type { ComputeCommand } from "../compute/command.js";
import type { ComputeResponse } from "../compute/response.js";
import { HelloMismatch, MalformedCommand, MalformedResponse } from "../errors.js";
import {
  type ClusterCommand as ClusterCommandProto,
  ClusterCommandSchema,
  type ClusterResponse as ClusterResponseProto,
  ClusterResponseSchema,
  type ControlRequest,
  ControlRequestSchema,
  type ControlResponse,
  ControlResponseSchema,
} from "../gen/mz/cluster/v1/cluster_pb.js";
import {
  storageCommandFromProto,
  storageCommandToProto,
  storageResponseFromProto,
  storageResponseToProto,
} from "../storage/codec.js";
import type { StorageCommand } from "../storage/command.js";
import type { StorageResponse } from "../storage/response.js";
import type { Hello } from "./hello.js";

/** A command of the unified stream. */
export type ClusterCommand =
  | { readonly kind: "compute"; readonly command: ComputeCommand }
  | { readonly kind: "storage"; readonly command: StorageCommand };

/** A response of the unified stream. */
export type ClusterResponse =
  | { readonly kind: "compute"; readonly response: ComputeResponse }
  | { readonly kind: "storage"; readonly response: StorageResponse };

/**
 * Checks that the two sub-protocol hellos of one unified stream agree.
 * @throws HelloMismatch when nonce, generation or versions differ.
 */
export function checkClusterHellos(compute: Hello, storage: Hello): void {
  if (
    compute.nonce !== storage.nonce ||
    compute.generation !== storage.generation ||
    compute.protocolVersion !== storage.protocolVersion ||
    compute.buildVersion !== storage.buildVersion
  ) {
    throw new HelloMismatch(compute, storage);
  }
}

/** The wire form of a unified-stream command. @throws InvalidDatum (see the compute codec). */
export function clusterCommandToProto(c: ClusterCommand): ClusterCommandProto {
  return create(ClusterCommandSchema, {
    kind:
      c.kind === "compute"
        ? { case: "compute", value: computeCommandToProto(c.command) }
        : { case: "storage", value: storageCommandToProto(c.command) },
  });
}

/** Decodes a unified-stream command. @throws MalformedCommand */
export function clusterCommandFromProto(p: ClusterCommandProto): ClusterCommand {
  switch (p.kind.case) {
    case "compute":
      return { kind: "compute", command: computeCommandFromProto(p.kind.value) };
    case "storage":
      return { kind: "storage", command: storageCommandFromProto(p.kind.value) };
    case undefined:
      throw new MalformedCommand(
        "cluster",
        "unknown",
        "kind",
        "neither compute nor storage is set",
      );
  }
}

/** The wire form of a unified-stream response. @throws InvalidDatum */
export function clusterResponseToProto(r: ClusterResponse): ClusterResponseProto {
  return create(ClusterResponseSchema, {
    kind:
      r.kind === "compute"
        ? { case: "compute", value: computeResponseToProto(r.response) }
        : { case: "storage", value: storageResponseToProto(r.response) },
  });
}

/** Decodes a unified-stream response. @throws MalformedResponse */
export function clusterResponseFromProto(p: ClusterResponseProto): ClusterResponse {
  switch (p.kind.case) {
    case "compute":
      return { kind: "compute", response: computeResponseFromProto(p.kind.value) };
    case "storage":
      return { kind: "storage", response: storageResponseFromProto(p.kind.value) };
    case undefined:
      throw new MalformedResponse(
        "cluster",
        "unknown",
        "kind",
        "neither compute nor storage is set",
      );
  }
}

/** Binary encoding of a unified-stream command. */
export function encodeClusterCommand(c: ClusterCommand): Uint8Array {
  return toBinary(ClusterCommandSchema, clusterCommandToProto(c));
}

/** Decodes a binary unified-stream command. @throws MalformedCommand */
export function decodeClusterCommand(bytes: Uint8Array): ClusterCommand {
  return clusterCommandFromProto(parseBinary(ClusterCommandSchema, bytes, "cluster", "command"));
}

/** Binary encoding of a unified-stream response. */
export function encodeClusterResponse(r: ClusterResponse): Uint8Array {
  return toBinary(ClusterResponseSchema, clusterResponseToProto(r));
}

/** Decodes a binary unified-stream response. @throws MalformedResponse */
export function decodeClusterResponse(bytes: Uint8Array): ClusterResponse {
  return clusterResponseFromProto(parseBinary(ClusterResponseSchema, bytes, "cluster", "response"));
}

/** One stream message carrying `cmds` in order. */
export function clusterRequestToProto(cmds: readonly ClusterCommand[]): ControlRequest {
  return create(ControlRequestSchema, { commands: cmds.map(clusterCommandToProto) });
}

/** The commands of one stream message, in order. @throws MalformedCommand (also when empty). */
export function clusterRequestFromProto(req: ControlRequest): ClusterCommand[] {
  if (req.commands.length === 0) {
    throw new MalformedCommand(
      "cluster",
      "unknown",
      "commands",
      "is empty; send at least one command per stream message",
    );
  }
  return req.commands.map(clusterCommandFromProtoAt);
}

/**
 * `clusterCommandFromProto` of a request's `commands[i]`, its errors' paths prefixed with
 * `commands[i].<kind>` (the reflective and the framed request decoders share it).
 * @throws MalformedCommand
 */
export function clusterCommandFromProtoAt(c: ClusterCommandProto, i: number): ClusterCommand {
  try {
    return clusterCommandFromProto(c);
  } catch (e) {
    if (!(e instanceof MalformedCommand)) throw e;
    const at = `commands[${i}].${c.kind.case ?? ""}`;
    throw new MalformedCommand(e.protocol, e.kind, e.path ? `${at}.${e.path}` : at, e.reason);
  }
}

/** One stream message carrying `responses` in order. */
export function clusterResponsesToProto(responses: readonly ClusterResponse[]): ControlResponse {
  return create(ControlResponseSchema, { responses: responses.map(clusterResponseToProto) });
}

/** The responses of one stream message, in order. @throws MalformedResponse (also when empty). */
export function clusterResponsesFromProto(msg: ControlResponse): ClusterResponse[] {
  if (msg.responses.length === 0) {
    throw new MalformedResponse(
      "cluster",
      "unknown",
      "responses",
      "is empty; send at least one response per stream message",
    );
  }
  return msg.responses.map(clusterResponseAt);
}

/**
 * Decodes `r`, the response at `responses[i]` of a stream message (the index and case in front of
 * its error paths). @throws MalformedResponse
 */
export function clusterResponseAt(r: ClusterResponseProto, i: number): ClusterResponse {
  try {
    return clusterResponseFromProto(r);
  } catch (e) {
    if (!(e instanceof MalformedResponse)) throw e;
    const at = `responses[${i}].${r.kind.case ?? ""}`;
    throw new MalformedResponse(e.protocol, e.kind, e.path ? `${at}.${e.path}` : at, e.reason);
  }
}
