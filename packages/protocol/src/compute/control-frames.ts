/**
 * The controller's framed codec of the `ComputeService.Control` stream (issue 16): commands are
 * encoded once for all replicas, responses decoded one by one — and a peek answer the controller
 * no longer waits for is dropped before it is decoded.
 *
 * ## How
 * `ControlRequestFrames`/`ControlResponseFrames` (`proto/mz/compute/v1/control_frames.proto`) are
 * wire-identical to `ControlRequest`/`ControlResponse` (`repeated bytes` = `repeated <message>`).
 * `ComputeFramesService` is a copy of `ComputeService`'s descriptor whose `control` method has
 * them as input and output: Connect serializes with the method's schemas and builds the path
 * from its parent service, so the path stays `/mz.compute.v1.ComputeService/Control` and a
 * replica receives the very bytes `toBinary(ControlRequestSchema, computeRequestToProto(cmds))`
 * would give (a property test proves it).
 *
 * ## Invariants
 * - Peeks and cancels (one each per API peek) are written directly (`peek-frame.ts`,
 *   `cancelPeekFrame`), byte-identical to `encodeComputeCommand`; other commands by reflection.
 * - Encode once: an instance hands the same command object to every replica's task, and those
 *   tasks flush in the same event-loop turn (`SendCoalescer`); `computeCommandFrame` keeps each
 *   command's bytes until the next turn, so the second replica reuses the first one's. Commands
 *   are immutable (readonly domain types); the cache holds them for at most one turn.
 * - Decode: `computeResponsesFromFrames` gives what `computeResponsesFromProto` gives for the same
 *   bytes — same responses, same `MalformedResponse` (kind, path, reason) — except that a frame
 *   `scanPeekAnswer` proves to be a well-framed peek answer for a uuid `awaitsPeek` rejects is
 *   left out (`peek-answer-scan.ts` says what is checked). An awaited answer with plainly encoded
 *   rows is read from the scan's positions and validated by the same `rowBatchFromProto`, without
 *   the reflective decode. An undecodable frame is a `MalformedResponse` at `responses[i]` (the
 *   unframed message failed inside Connect).
 */
import { create, fromBinary } from "@bufbuild/protobuf";
import { decodeBatch, parseBinary } from "../codec/envelope.js";
import { framedControlService } from "../codec/framed-service.js";
import { rowBatchFromProto } from "../codec/row-batch-codec.js";
import { TurnCache } from "../codec/turn-cache.js";
import { FieldError, MalformedResponse } from "../errors.js";
import {
  type ControlRequestFrames,
  ControlRequestFramesSchema,
  type ControlResponseFrames,
  ControlResponseFramesSchema,
} from "../gen/mz/compute/v1/control_frames_pb.js";
import { ComputeResponseSchema } from "../gen/mz/compute/v1/response_pb.js";
import { ComputeService } from "../gen/mz/compute/v1/service_pb.js";
import type { RowBatch } from "../gen/mz/repr/v1/repr_pb.js";
import { allowCompactionFrame } from "./allow-compaction-frame.js";
import { encodeComputeCommand, responseFromProtoAt } from "./codec.js";
import type { ComputeCommand } from "./command.js";
import { scanFrontiers } from "./frontiers-scan.js";
import {
  ROWS_RESULT,
  type ScannedPeekAnswer,
  scanPeekAnswer,
  scanRowBatch,
} from "./peek-answer-scan.js";
import { peekCommandFrame } from "./peek-frame.js";
import type { ComputeResponse } from "./response.js";

/** `ComputeService` with the framed messages as `Control`'s input and output (same path). */
export const ComputeFramesService = framedControlService(
  ComputeService,
  ControlRequestFramesSchema,
  ControlResponseFramesSchema,
);

/** This turn's encoded commands (see "Encode once" in the file comment). */
const frames = new TurnCache<ComputeCommand, Uint8Array>();

/**
 * The binary `ComputeCommand` of `cmd`, encoded once per turn however many replicas send it
 * (the cluster stream's frames wrap these very bytes, `cluster/control-frames.ts`).
 * @throws InvalidDatum (see `computeCommandToProto`).
 */
export function computeCommandFrame(cmd: ComputeCommand): Uint8Array {
  return frames.get(cmd, encodeCommandFrame);
}

function encodeCommandFrame(cmd: ComputeCommand): Uint8Array {
  return cmd.kind === "peek"
    ? peekCommandFrame(cmd.peek)
    : (cmd.kind === "cancelPeek" && cancelPeekFrame(cmd.uuid)) ||
        (cmd.kind === "allowCompaction" && allowCompactionFrame(cmd.id, cmd.frontier)) ||
        encodeComputeCommand(cmd);
}

/** `ComputeCommand.cancel_peek` (field 9) wrapping `CancelPeek.uuid` (field 1), length-delimited. */
const CANCEL_PEEK_TAG = (9 << 3) | 2;
const UUID_TAG = (1 << 3) | 2;
const UUID_LENGTH = 36;

/**
 * The bytes `encodeComputeCommand` gives for `cancelPeek(uuid)`, written directly (a cancel
 * follows every peek; reflection costs ~2 µs each) — for a 36-character ASCII uuid (any UUID);
 * `undefined` for any other string.
 */
function cancelPeekFrame(uuid: string): Uint8Array | undefined {
  if (uuid.length !== UUID_LENGTH) return undefined;
  const out = new Uint8Array(4 + UUID_LENGTH);
  out[0] = CANCEL_PEEK_TAG;
  out[1] = 2 + UUID_LENGTH;
  out[2] = UUID_TAG;
  out[3] = UUID_LENGTH;
  for (let i = 0; i < UUID_LENGTH; i++) {
    const c = uuid.charCodeAt(i);
    if (c >= 0x80) return undefined;
    out[4 + i] = c;
  }
  return out;
}

/**
 * One stream message carrying `cmds` in order; its bytes are those of
 * `computeRequestToProto(cmds)`. @throws InvalidDatum
 */
export function computeRequestFrames(cmds: readonly ComputeCommand[]): ControlRequestFrames {
  return create(ControlRequestFramesSchema, { commands: cmds.map(computeCommandFrame) });
}

/**
 * The responses of one stream message, in order, leaving out the peek answers `awaitsPeek`
 * rejects (absent: none is left out). `awaitsPeek` is asked once per skippable peek answer.
 * @throws MalformedResponse as `computeResponsesFromProto` (also when empty), and for a frame
 *   that does not parse.
 */
export function computeResponsesFromFrames(
  msg: ControlResponseFrames,
  awaitsPeek?: (uuid: string) => boolean,
): ComputeResponse[] {
  const out: ComputeResponse[] = [];
  decodeBatch(msg.responses, "compute", "response", (frame, prefix) => {
    const r = computeResponseFromFrame(frame, prefix, awaitsPeek);
    if (r !== undefined) out.push(r);
  });
  return out;
}

/**
 * One binary `ComputeResponse` (`prefix` in front of its error paths), or `undefined` for a
 * well-framed peek answer `awaitsPeek` rejects (dropped undecoded). Shared by the compute and
 * the cluster stream's framed codecs.
 * @throws MalformedResponse as `responseFromProtoAt`, and for a frame that does not parse.
 */
export function computeResponseFromFrame(
  frame: Uint8Array,
  prefix: string,
  awaitsPeek: ((uuid: string) => boolean) | undefined,
): ComputeResponse | undefined {
  // A plainly encoded `frontiers` (most of an idle replica's traffic): read without a decode.
  const frontiers = scanFrontiers(frame);
  if (frontiers !== undefined) return frontiers;
  const answer = awaitsPeek === undefined ? undefined : scanPeekAnswer(frame);
  if (answer !== undefined) {
    if (!awaitsPeek?.(answer.uuid)) return undefined;
    const rows = answer.result === ROWS_RESULT ? rowsAnswer(frame, answer, prefix) : undefined;
    if (rows !== undefined) return rows;
  }
  return responseFromProtoAt(
    parseBinary(ComputeResponseSchema, frame, "compute", "response", prefix.slice(0, -1)),
    prefix,
  );
}

/**
 * An awaited answer with rows, read straight from the frame (no reflective decode: the scan
 * found the fields) and validated by the same `rowBatchFromProto`; `undefined` when its
 * `RowBatch` is not plainly encoded (`scanRowBatch`): the full decode takes it then.
 * @throws MalformedResponse as the full decode would
 */
function rowsAnswer(
  frame: Uint8Array,
  answer: ScannedPeekAnswer,
  prefix: string,
): ComputeResponse | undefined {
  const batch = scanRowBatch(frame, answer.start, answer.end);
  if (batch === undefined) return undefined;
  try {
    const rows = rowBatchFromProto(batch as RowBatch, `${prefix}peekResponse.rows`);
    return { kind: "peekResponse", uuid: answer.uuid, response: { kind: "rows", rows } };
  } catch (e) {
    if (e instanceof FieldError)
      throw new MalformedResponse("compute", "peekResponse", e.path, e.reason);
    throw e;
  }
}

/** The frames of one response message as it arrives (tests and benches; Connect parses them). */
export function parseResponseFrames(bytes: Uint8Array): ControlResponseFrames {
  return fromBinary(ControlResponseFramesSchema, bytes);
}
