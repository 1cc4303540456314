/**
 * The controller's framed codec of the unified `ClusterService.Control` stream (issue 16, phase
 * `cluster-unification-client`): what `compute/control-frames.ts` does for `ComputeService`, on
 * the one stream per replica that carries compute and storage commands — compute commands
 * encoded once for all replicas, compute peek answers the controller no longer waits for dropped
 * before they are decoded.
 *
 * ## How
 * `ControlRequestFrames`/`ControlResponseFrames` of `mz.cluster.v1`
 * (`proto/mz/cluster/v1/control_frames.proto`) are wire-identical to `ControlRequest`/
 * `ControlResponse`; `ClusterFramesService` is `ClusterService` with them as `Control`'s messages
 * (`codec/framed-service.ts`: the path stays `/mz.cluster.v1.ClusterService/Control`).
 *
 * ## Invariants
 * - A compute command's `ClusterCommand` is its `computeCommandFrame` bytes (shared with the
 *   compute stream's codec: peeks and cancels written directly) behind the `compute` field's tag
 *   and length — exactly what the reflective encoder writes for a message field; kept for the
 *   turn (`TurnCache`), so both replicas' streams send the same bytes object. Storage commands
 *   are encoded by reflection (`encodeClusterCommand`). A property test proves the bytes equal
 *   `toBinary(ControlRequestSchema, clusterRequestToProto(cmds))`.
 * - A response frame that is exactly one `compute` field (tag, length, the rest) is decoded by
 *   `computeResponseFromFrame` (the compute codec's: `awaitsPeek` + `scanPeekAnswer`, rows read
 *   from the scan); anything else (storage, an unset or repeated case, unknown fields) by
 *   reflection, as `clusterResponsesFromProto` does. Same responses and same `MalformedResponse`
 *   for bytes that parse; a frame that does not parse is a `MalformedResponse` at `responses[i]`
 *   (the unframed message failed inside Connect).
 */
import { create, fromBinary } from "@bufbuild/protobuf";
import { decodeBatch, parseBinary } from "../codec/envelope.js";
import { framedControlService } from "../codec/framed-service.js";
import { TurnCache } from "../codec/turn-cache.js";
import type { ComputeCommand } from "../compute/command.js";
import { computeCommandFrame, computeResponseFromFrame } from "../compute/control-frames.js";
import { ClusterResponseSchema, ClusterService } from "../gen/mz/cluster/v1/cluster_pb.js";
import {
  type ControlRequestFrames,
  ControlRequestFramesSchema,
  type ControlResponseFrames,
  ControlResponseFramesSchema,
} from "../gen/mz/cluster/v1/control_frames_pb.js";
import {
  type ClusterCommand,
  type ClusterResponse,
  clusterResponseAt,
  encodeClusterCommand,
} from "./cluster-command.js";

/** `ClusterService` with the framed messages as `Control`'s input and output (same path). */
export const ClusterFramesService = framedControlService(
  ClusterService,
  ControlRequestFramesSchema,
  ControlResponseFramesSchema,
);

/** `ClusterCommand.compute` / `ClusterResponse.compute`: field 1, length-delimited. */
const COMPUTE_TAG = (1 << 3) | 2;

/** This turn's `ClusterCommand` bytes of compute commands (see the file comment). */
const computeFrames = new TurnCache<ComputeCommand, Uint8Array>();

/** `ClusterCommand{compute: <frame>}`: the tag, the frame's length (varint), the frame. */
function wrapComputeFrame(cmd: ComputeCommand): Uint8Array {
  const inner = computeCommandFrame(cmd);
  let n = inner.length;
  let size = 1;
  while (n >= 0x80) {
    n >>>= 7;
    size++;
  }
  const out = new Uint8Array(1 + size + inner.length);
  out[0] = COMPUTE_TAG;
  let pos = 1;
  n = inner.length;
  while (n >= 0x80) {
    out[pos++] = (n & 0x7f) | 0x80;
    n >>>= 7;
  }
  out[pos++] = n;
  out.set(inner, pos);
  return out;
}

/**
 * The binary `ClusterCommand` of `c`; a compute command's encoded once per turn however many
 * replicas send it. @throws InvalidDatum (see the compute codec).
 */
export function clusterCommandFrame(c: ClusterCommand): Uint8Array {
  return c.kind === "compute"
    ? computeFrames.get(c.command, wrapComputeFrame)
    : encodeClusterCommand(c);
}

/**
 * One stream message carrying `cmds` in order; its bytes are those of
 * `clusterRequestToProto(cmds)`. @throws InvalidDatum
 */
export function clusterRequestFrames(cmds: readonly ClusterCommand[]): ControlRequestFrames {
  return create(ControlRequestFramesSchema, { commands: cmds.map(clusterCommandFrame) });
}

/**
 * Where the compute response inside `frame` starts, when `frame` is exactly one `compute` field;
 * -1 otherwise (the reflective decode takes it).
 */
function computeFieldStart(frame: Uint8Array): number {
  if (frame[0] !== COMPUTE_TAG) return -1;
  let len = 0;
  let pos = 1;
  for (let shift = 0; shift < 35; shift += 7) {
    const b = frame[pos++];
    if (b === undefined) return -1;
    len += (b & 0x7f) * 2 ** shift;
    if (b < 0x80) return pos + len === frame.length ? pos : -1;
  }
  return -1;
}

/**
 * The responses of one stream message, in order, leaving out the compute peek answers
 * `awaitsPeek` rejects (absent: none is left out), undecoded.
 * @throws MalformedResponse as `clusterResponsesFromProto` (also when empty), and for a frame
 *   that does not parse.
 */
export function clusterResponsesFromFrames(
  msg: ControlResponseFrames,
  awaitsPeek?: (uuid: string) => boolean,
): ClusterResponse[] {
  const out: ClusterResponse[] = [];
  let i = 0;
  decodeBatch(msg.responses, "cluster", "response", (frame, prefix) => {
    const at = i++;
    const start = computeFieldStart(frame);
    if (start < 0) {
      out.push(
        clusterResponseAt(
          parseBinary(ClusterResponseSchema, frame, "cluster", "response", prefix.slice(0, -1)),
          at,
        ),
      );
      return;
    }
    const inner = frame.subarray(start);
    const response = computeResponseFromFrame(inner, `${prefix}compute.`, awaitsPeek);
    if (response !== undefined) out.push({ kind: "compute", response });
  });
  return out;
}

/** The frames of one response message as it arrives (tests and benches; Connect parses them). */
export function parseClusterResponseFrames(bytes: Uint8Array): ControlResponseFrames {
  return fromBinary(ControlResponseFramesSchema, bytes);
}
