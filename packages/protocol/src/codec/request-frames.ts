/**
 * The replica's decode of framed command messages (issue 16): the server-side counterpart of the
 * controller's `computeRequestFrames`. A controller stream whose `Control` method takes
 * `ControlRequestFrames` (`repeated bytes commands = 1`, wire-identical to `ControlRequest`) hands
 * each command over as its bytes; the frequent one at idle — `allowCompaction`, ~1 per index and
 * second — is read directly (`allow-compaction-reader.ts`), so is a peek of the common shape
 * (`peek-reader.ts`), every other frame by the reflective decoder. The frames of the commands read
 * directly are remembered for forwarding to worker threads as bytes (`forwarded-commands.ts`).
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
import { allowCompactionAt } from "./allow-compaction-reader.js";
import { decodeBatch, parseBinary } from "./envelope.js";
import { forwardFrame } from "./forwarded-commands.js";
import { type PeekCommandShape, peekCommandAt } from "./peek-reader.js";

/** One framed `ComputeCommand` (`prefix` = `commands[i].`). @throws MalformedCommand */
function computeCommandAt(frame: Uint8Array, prefix: string): ComputeCommand {
  const direct = allowCompactionAt(frame, 0, frame.length);
  if (direct !== undefined) return forwardFrame(direct, frame);
  const peek = peekCommandAt(frame, 0, frame.length) as ComputeCommandProto | undefined;
  if (peek !== undefined) return forwardFrame(commandFromProtoAt(peek, prefix), frame);
  return commandFromProtoAt(
    parseBinary(ComputeCommandSchema, frame, "compute", "command", prefix.slice(0, -1)),
    prefix,
  );
}

/**
 * The commands of one framed compute stream message, in order: what `computeRequestFromProto`
 * gives for the same bytes. @throws MalformedCommand (also when empty, or a frame does not parse)
 */
export { allowCompactionAt };

export function computeRequestFromFrames(commands: readonly Uint8Array[]): ComputeCommand[] {
  return decodeBatch(commands, "compute", "command", computeCommandAt);
}

/** `ClusterCommand.compute` (field 1) of one-byte length wrapping the rest of the frame. */
const CLUSTER_COMPUTE = (1 << 3) | 2;

/**
 * Where the `ComputeCommand` of a cluster frame `ClusterCommand.compute` begins when the wrapper
 * covers exactly the rest of the frame, else -1.
 */
function clusterComputeStart(frame: Uint8Array): number {
  if (frame[0] !== CLUSTER_COMPUTE) return -1;
  // The wrapper's length varint (at most 5 bytes) must cover exactly the rest of the frame.
  let len = 0;
  let scale = 1;
  let p = 1;
  for (;;) {
    if (p >= frame.length || p >= 5) return -1;
    const x = frame[p++] as number;
    len += (x & 0x7f) * scale;
    scale *= 0x80;
    if (x < 0x80) break;
  }
  return p + len === frame.length ? p : -1;
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
    const at = clusterComputeStart(frame);
    if (at >= 0) {
      // The wrapped `ComputeCommand`'s bytes: what the workers decode (`forwarded-commands.ts`).
      const command = allowCompactionAt(frame, at, frame.length);
      if (command !== undefined) {
        return { kind: "compute", command: forwardFrame(command, frame.subarray(at)) };
      }
      const peek: PeekCommandShape | undefined = peekCommandAt(frame, at, frame.length);
      if (peek !== undefined) {
        const c = clusterCommandFromProtoAt(
          { kind: { case: "compute", value: peek } } as unknown as ClusterCommandProto,
          i,
        );
        if (c.kind === "compute") forwardFrame(c.command, frame.subarray(at));
        return c;
      }
    }
    return clusterCommandFromProtoAt(
      parseBinary(ClusterCommandSchema, frame, "cluster", "command", `commands[${i}]`),
      i,
    );
  });
}
