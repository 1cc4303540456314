/**
 * The replica's decode of framed command messages (issue 16): the server-side counterpart of the
 * controller's `computeRequestFrames`. A controller stream whose `Control` method takes
 * `ControlRequestFrames` (`repeated bytes commands = 1`, wire-identical to `ControlRequest`) hands
 * each command over as its bytes; the frequent one at idle — `allowCompaction`, ~1 per index and
 * second — is read here directly, every other frame by the reflective decoder.
 *
 * ## Rules
 * - The direct reader accepts only the canonical encoding protobuf-es writes for an
 *   `allowCompaction` (`ComputeCommand.allow_compaction` = field 7 wrapping `id` = 1, an ASCII
 *   GlobalId, then `frontier` = 2 holding nothing or one packed `uint64` below 2^49), each length a
 *   single byte, nothing else in the frame. Anything else — another command, other field order,
 *   an invalid id, several frontier elements, a bigger time — is decoded by reflection, so every
 *   validation error is the reflective path's own (`MalformedCommand`, same kind, path and reason).
 * - A frame that does not parse is a `MalformedCommand` at `commands[i]` ("undecodable payload");
 *   an empty message is one too — as `computeRequestFromProto` and `clusterRequestFromProto`.
 * `request-frames.property.test.ts` checks both against the reflective decode of the same bytes.
 */
import { GlobalId } from "@mzts/repr";
import type { ClusterCommand } from "../cluster/cluster-command.js";
import { clusterCommandFromProtoAt } from "../cluster/cluster-command.js";
import { commandFromProtoAt } from "../compute/codec.js";
import type { ComputeCommand } from "../compute/command.js";
import { MalformedCommand } from "../errors.js";
import {
  type ClusterCommand as ClusterCommandProto,
  ClusterCommandSchema,
} from "../gen/mz/cluster/v1/cluster_pb.js";
import {
  type ComputeCommand as ComputeCommandProto,
  ComputeCommandSchema,
} from "../gen/mz/compute/v1/command_pb.js";
import { decodeBatch, parseBinary } from "./envelope.js";
import { type PeekCommandShape, peekCommandAt } from "./peek-reader.js";

const ALLOW_COMPACTION = (7 << 3) | 2;
const FIELD_1 = (1 << 3) | 2;
const FIELD_2 = (2 << 3) | 2;
/** Varint bytes of a time read directly: 7 × 7 = 49 bits, exact as a double. */
const MAX_TIME_BYTES = 7;

/**
 * The `allowCompaction` canonically encoded at `[at, end)` of `b`, or `undefined` when the frame
 * is anything else (the reflective decoder takes it then).
 */
export function allowCompactionAt(
  b: Uint8Array,
  at: number,
  end: number,
): ComputeCommand | undefined {
  let p = at;
  if (end - p < 4 || b[p++] !== ALLOW_COMPACTION) return undefined;
  const len = b[p++] as number;
  if (len >= 0x80 || p + len !== end) return undefined;
  if (b[p++] !== FIELD_1) return undefined;
  const idLen = b[p++] as number;
  if (idLen >= 0x80 || p + idLen + 2 > end) return undefined;
  let id = "";
  for (let i = 0; i < idLen; i++) {
    const c = b[p + i] as number;
    if (c >= 0x80) return undefined;
    id += String.fromCharCode(c);
  }
  p += idLen;
  if (!GlobalId.is(id)) return undefined;
  if (b[p++] !== FIELD_2) return undefined;
  const frontierLen = b[p++] as number;
  if (frontierLen >= 0x80 || p + frontierLen !== end) return undefined;
  if (frontierLen === 0) return { kind: "allowCompaction", id, frontier: null };
  if (b[p++] !== FIELD_1) return undefined;
  const n = b[p++] as number;
  if (n === 0 || n > MAX_TIME_BYTES || p + n !== end) return undefined;
  let v = 0;
  let scale = 1;
  for (let i = 0; i < n; i++) {
    const x = b[p + i] as number;
    // Continuation bits on every byte but the last: one varint, one element.
    if (i < n - 1 ? x < 0x80 : x >= 0x80) return undefined;
    v += (x & 0x7f) * scale;
    scale *= 0x80;
  }
  return { kind: "allowCompaction", id, frontier: BigInt(v) };
}

/** One framed `ComputeCommand` (`prefix` = `commands[i].`). @throws MalformedCommand */
function computeCommandAt(frame: Uint8Array, prefix: string): ComputeCommand {
  const direct = allowCompactionAt(frame, 0, frame.length);
  if (direct !== undefined) return direct;
  return commandFromProtoAt(
    (peekCommandAt(frame, 0, frame.length) as ComputeCommandProto | undefined) ??
      parseBinary(ComputeCommandSchema, frame, "compute", "command", prefix.slice(0, -1)),
    prefix,
  );
}

/**
 * The commands of one framed compute stream message, in order: what `computeRequestFromProto`
 * gives for the same bytes. @throws MalformedCommand (also when empty, or a frame does not parse)
 */
export function computeRequestFromFrames(commands: readonly Uint8Array[]): ComputeCommand[] {
  return decodeBatch(commands, "compute", "command", computeCommandAt);
}

/** `ClusterCommand.compute` (field 1) of one-byte length wrapping the rest of the frame. */
const CLUSTER_COMPUTE = (1 << 3) | 2;

/** A cluster frame `ClusterCommand.compute` wrapping a peek read directly, or undefined. */
function clusterPeekAt(frame: Uint8Array): PeekCommandShape | undefined {
  if (frame[0] !== CLUSTER_COMPUTE) return undefined;
  // The wrapper's length varint (at most 5 bytes) must cover exactly the rest of the frame.
  let len = 0;
  let scale = 1;
  let p = 1;
  for (;;) {
    if (p >= frame.length || p >= 5) return undefined;
    const x = frame[p++] as number;
    len += (x & 0x7f) * scale;
    scale *= 0x80;
    if (x < 0x80) break;
  }
  if (p + len !== frame.length) return undefined;
  return peekCommandAt(frame, p, frame.length);
}

/**
 * The commands of one framed cluster stream message, in order: what `clusterRequestFromProto`
 * gives for the same bytes. @throws MalformedCommand (also when empty, or a frame does not parse)
 */
export function clusterRequestFromFrames(commands: readonly Uint8Array[]): ClusterCommand[] {
  if (commands.length === 0) {
    throw new MalformedCommand(
      "cluster",
      "unknown",
      "commands",
      "is empty; send at least one command per stream message",
    );
  }
  return commands.map((frame, i) => {
    if (
      frame[0] === CLUSTER_COMPUTE &&
      (frame[1] as number) < 0x80 &&
      frame[1] === frame.length - 2
    ) {
      const command = allowCompactionAt(frame, 2, frame.length);
      if (command !== undefined) return { kind: "compute", command };
    }
    const peek = clusterPeekAt(frame);
    if (peek !== undefined) {
      return clusterCommandFromProtoAt(
        { kind: { case: "compute", value: peek } } as unknown as ClusterCommandProto,
        i,
      );
    }
    return clusterCommandFromProtoAt(
      parseBinary(ClusterCommandSchema, frame, "cluster", "command", `commands[${i}]`),
      i,
    );
  });
}
