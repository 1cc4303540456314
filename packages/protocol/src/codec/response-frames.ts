/**
 * Response stream messages with their responses **pre-encoded** (issue 16): the replica's
 * `ControlResponse` of the compute, storage and unified cluster streams, built so that Connect's
 * `toBinary(ControlResponseSchema, msg)` writes the responses as ready-made bytes instead of
 * walking ~5 nested messages per response by reflection.
 *
 * ## How
 * Every `ControlResponse` is `{ repeated <Response> responses = 1; }`. A repeated message field
 * is, on the wire, the field's tag and a length-delimited payload per element, exactly as an
 * unknown field of number 1 with wire type 2 is written. protobuf-es keeps unknown fields on
 * `$unknown` (`{ no, wireType, data }`, `data` = the length varint and the payload) and
 * `toBinary` writes them after the known fields (`writeUnknownFields`, on by default, which the
 * replica servers keep). So the framed message has an **empty** `responses` list and one unknown
 * field per response, in order: its binary form is byte-for-byte
 * `toBinary(ControlResponseSchema, …ResponsesToProto(rs))` (`response-frames.property.test.ts`),
 * which is what controllers decode with the real schemas. The message's path and schema stay the
 * service's own; only its content is pre-encoded.
 *
 * Limits: a framed message is for **binary** serialization only — `toJson` ignores unknown
 * fields, so a JSON stream must get `…ResponsesToProto` (mz-cluster's stream handlers choose by
 * the request's content type), and its `responses` list reads as empty in process.
 *
 * ## The direct encoders
 * The frequent responses at idle — compute `frontiers` (one per index and tick) and storage
 * `frontierUpper` — are written straight from the domain value into one buffer per stream
 * message: proto3 field order, the empty string id skipped, a set frontier message written even
 * when empty, its element as a packed `uint64`. Compute subscribe batches of updates (the
 * introspection subscribes: ~2 updates per index and tick) are written directly into their own
 * buffer, rows packed as `updateBatchToProto` packs them (`RowsWriter`: `RowPacker`'s bytes), and so
 * are peeks answered with rows (every answer of the command path), packed as `rowBatchToProto`
 * packs them. Anything else, and any
 * value the reflective path should judge (a time that is not a `uint64` bigint, a diff that is
 * not a safe integer, an id with non-ASCII characters), goes through `toBinary` of the one
 * response (the fallback), so what the wire carries and what throws are the reflective codec's.
 * A frame whose written length is not its computed size throws `InvariantViolation` rather than
 * leave corrupt.
 */
import { create, type Message, toBinary, type UnknownField } from "@bufbuild/protobuf";
import { WireType } from "@bufbuild/protobuf/wire";
import {
  type Frontier,
  type GlobalId,
  InvariantViolation,
  type Update,
  varintSize,
} from "@mzts/repr";
import { type ClusterResponse, clusterResponseToProto } from "../cluster/cluster-command.js";
import { computeResponseToProto } from "../compute/codec.js";
import type { ComputeResponse, FrontiersUpdate } from "../compute/response.js";
import {
  type ControlResponse as ClusterControlResponse,
  ControlResponseSchema as ClusterControlResponseSchema,
  ClusterResponseSchema,
} from "../gen/mz/cluster/v1/cluster_pb.js";
import { ComputeResponseSchema } from "../gen/mz/compute/v1/response_pb.js";
import {
  type ControlResponse as ComputeControlResponse,
  ControlResponseSchema as ComputeControlResponseSchema,
} from "../gen/mz/compute/v1/service_pb.js";
import { StorageResponseSchema } from "../gen/mz/storage/v1/response_pb.js";
import {
  type ControlResponse as StorageControlResponse,
  ControlResponseSchema as StorageControlResponseSchema,
} from "../gen/mz/storage/v1/service_pb.js";
import { storageResponseToProto } from "../storage/codec.js";
import type { StorageResponse } from "../storage/response.js";
import { ByteCursor, varint64Size } from "./byte-cursor.js";
import { peekResponseFrame, peekRowsBytes } from "./peek-answer-frames.js";
import { ROW_FORMAT_VERSION } from "./row-format.js";
import { RowsWriter } from "./rows-writer.js";

const U64_MAX = (1n << 64n) - 1n;
/** Tag of field `no` with wire type 2 (length-delimited), for field numbers 1–15. */
const ld = (no: number) => (no << 3) | WireType.LengthDelimited;

/** Byte length of `s` if it is all ASCII (then UTF-8 = one byte per char), else -1. */
function asciiLength(s: string): number {
  if (typeof s !== "string") return -1;
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0x7f) return -1;
  return s.length;
}

/**
 * Length of the `mz.repr.v1.Frontier` message of `f` (`[]` → 0, `[t]` → the packed element),
 * or -1 when the direct encoder leaves `f` to the reflective one (not a uint64 bigint).
 */
function frontierLength(f: Frontier): number {
  if (f === null) return 0;
  if (typeof f !== "bigint" || f < 0n || f > U64_MAX) return -1;
  // tag, the packed list's length (≤ 10, one byte), the varint.
  return 2 + varint64Size(f);
}

/** Length of a string field (tag, length, bytes) of `len` ASCII bytes; proto3 skips "". */
const stringFieldLength = (len: number) => (len === 0 ? 0 : 1 + varintSize(len) + len);
/** Length of a set message field (tag, length, payload) with a short (< 128 bytes) payload. */
const shortMessageFieldLength = (len: number) => 2 + len;

/** A cursor writing into one buffer. */
class Out extends ByteCursor {
  /** A string field of ASCII `s` (skipped when empty, as proto3 does). */
  ascii(tag: number, s: string): void {
    if (s.length === 0) return;
    this.buf[this.pos++] = tag;
    this.varint(s.length);
    for (let i = 0; i < s.length; i++) this.buf[this.pos++] = s.charCodeAt(i);
  }

  /**
   * A set `Frontier` message field (`frontierLength` accepted `f`): the varint is written first
   * and the two lengths (< 128: one byte each) filled in after, so `f` is converted once.
   */
  frontier(tag: number, f: Frontier): void {
    const buf = this.buf;
    buf[this.pos++] = tag;
    if (f === null) {
      buf[this.pos++] = 0;
      return;
    }
    const at = this.pos;
    buf[at + 1] = ld(1);
    this.pos = at + 3;
    this.varint64(f);
    const n = this.pos - at - 3;
    buf[at] = n + 2;
    buf[at + 2] = n;
  }

  /** Repeats the field written at `[start, end)` under another `tag` (one-byte tags). */
  again(tag: number, start: number, end: number): void {
    const buf = this.buf;
    buf[this.pos++] = tag;
    for (let i = start + 1; i < end; i++) buf[this.pos++] = buf[i] as number;
  }

  bytes(b: Uint8Array): void {
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }

  /** An int64 varint of a safe integer (a negative one: ten bytes, two's complement). */
  int64(n: number): void {
    if (n >= 0) this.varint(n);
    else this.varint64(BigInt(n));
  }
}

/** How one kind of response is framed: directly when `size` accepts it, else by `fallback`. */
interface FrameCodec<R> {
  /** The encoded response's length, or -1 to use `fallback`. */
  size(r: R): number;
  /** Writes exactly `size(r)` bytes. */
  write(out: Out, r: R): void;
  /** The reflective encoding of one response. */
  fallback(r: R): Uint8Array;
}

/** The unknown fields (number 1, length-delimited) carrying `rs` encoded, in order. */
function frames<R>(rs: readonly R[], codec: FrameCodec<R>): UnknownField[] {
  const n = rs.length;
  const sizes = new Array<number>(n);
  const slow = new Array<Uint8Array | undefined>(n);
  let total = 0;
  for (let i = 0; i < n; i++) {
    const r = rs[i] as R;
    let size = codec.size(r);
    if (size < 0) {
      const b = codec.fallback(r);
      slow[i] = b;
      size = b.length;
    }
    sizes[i] = size;
    total += varintSize(size) + size;
  }
  const out = new Out(new Uint8Array(total));
  const fields = new Array<UnknownField>(n);
  for (let i = 0; i < n; i++) {
    const start = out.pos;
    const size = sizes[i] as number;
    out.varint(size);
    const b = slow[i];
    if (b === undefined) {
      const at = out.pos;
      codec.write(out, rs[i] as R);
      // A sizing bug would corrupt every later frame: refuse to send it.
      if (out.pos - at !== size) {
        throw new InvariantViolation(
          `response frame ${i} is ${out.pos - at} bytes, sized ${size}: a response-frames bug`,
        );
      }
    } else out.bytes(b);
    fields[i] = {
      no: 1,
      wireType: WireType.LengthDelimited,
      data: out.buf.subarray(start, out.pos),
    };
  }
  return fields;
}

// ---------------------------------------------------------------------------------------------
// compute `frontiers`: ComputeResponse { Frontiers frontiers = 1 { string id = 1;
// Frontier write_frontier = 2; input_frontier = 3; output_frontier = 4; } }

/** Length of an optional `Frontier` message field (0 when unset), or -1 (fallback). */
function optionalFrontierFieldLength(f: Frontier | undefined): number {
  if (f === undefined) return 0;
  const len = frontierLength(f);
  return len < 0 ? -1 : shortMessageFieldLength(len);
}

/** Length of the `Frontiers` message, or -1 (fallback). */
function frontiersLength(id: GlobalId, f: FrontiersUpdate): number {
  const idLen = asciiLength(id);
  // The kinds usually report one time: size it once.
  const write = optionalFrontierFieldLength(f.write);
  const input = f.input === f.write ? write : optionalFrontierFieldLength(f.input);
  const output = f.output === f.input ? input : optionalFrontierFieldLength(f.output);
  if (idLen < 0 || write < 0 || input < 0 || output < 0) return -1;
  return stringFieldLength(idLen) + write + input + output;
}

function writeFrontiers(out: Out, id: GlobalId, f: FrontiersUpdate, len: number): void {
  out.buf[out.pos++] = ld(1);
  out.varint(len);
  out.ascii(ld(1), id);
  // The last frontier field written afresh, repeated under the next tag when the time is equal.
  let last: Frontier | undefined;
  let start = 0;
  let end = 0;
  for (let k = 0; k < 3; k++) {
    const v = k === 0 ? f.write : k === 1 ? f.input : f.output;
    if (v === undefined) continue;
    if (end > start && v === last) out.again(ld(2 + k), start, end);
    else {
      start = out.pos;
      out.frontier(ld(2 + k), v);
      end = out.pos;
      last = v;
    }
  }
}

/** Length of a `ComputeResponse` message, or -1 (fallback). */
function computeResponseLength(r: ComputeResponse): number {
  if (r.kind !== "frontiers") return -1;
  const len = frontiersLength(r.id, r.frontiers);
  return len < 0 ? -1 : 1 + varintSize(len) + len;
}

function writeComputeResponse(out: Out, r: ComputeResponse): void {
  // Only frontiers are written directly (`computeResponseLength`).
  const f = r as Extract<ComputeResponse, { kind: "frontiers" }>;
  writeFrontiers(out, f.id, f.frontiers, frontiersLength(f.id, f.frontiers));
}

// ---------------------------------------------------------------------------------------------
// compute `subscribeResponse` with a batch of updates: ComputeResponse { SubscribeResponse
// subscribe_response = 3 { string id = 1; SubscribeBatch batch = 2 { Frontier lower = 1;
// Frontier upper = 2; UpdateBatch updates = 3 { uint32 format_version = 1; bytes rows = 2;
// repeated uint64 times = 3; repeated int64 diffs = 4; } } } } — the introspection subscribes'
// batches (a retraction and an insertion per index and tick over the frontier log). The rows are
// packed as `updateBatchToProto` packs them, by `RowsWriter` (and throw what `RowPacker` throws).

type SubscribeBatchResponse = Extract<ComputeResponse, { kind: "subscribeResponse" }>;

/** Bytes of a length-delimited field of `len` bytes (tag, length, payload). */
const fieldLength = (len: number) => 1 + varintSize(len) + len;

/**
 * The rows of the batch being framed (`RowsWriter`: `RowPacker`'s bytes): one writer reused,
 * cleared per batch, so a batch neither grows a fresh buffer from its first row nor copies it out.
 */
let ROWS = new RowsWriter(1 << 12);
/** A writer grown past this by a large batch is dropped after it rather than kept. */
const ROWS_KEPT_BYTES = 1 << 20;

/**
 * A `RowBatch`'s leading fields: `format_version`, then `rows` (the `rowsLen` bytes `packer`
 * holds; skipped when empty). A writer grown past `ROWS_KEPT_BYTES` is dropped after use.
 */
function writeRowBatchHead(out: Out, packer: RowsWriter, rowsLen: number): void {
  out.buf[out.pos++] = 1 << 3; // format_version, varint
  out.buf[out.pos++] = ROW_FORMAT_VERSION;
  if (rowsLen === 0) return;
  out.buf[out.pos++] = ld(2);
  out.varint(rowsLen);
  out.bytes(packer.view());
  if (rowsLen > ROWS_KEPT_BYTES) ROWS = new RowsWriter(1 << 12);
}

/** The `ComputeResponse` bytes of a subscribe batch of updates, or undefined (reflective). */
function subscribeBatchBytes(r: SubscribeBatchResponse): Uint8Array | undefined {
  const b = r.response;
  if (b.kind !== "batch" || b.result.kind !== "updates") return undefined;
  const idLen = asciiLength(r.id);
  const lowerLen = frontierLength(b.lower);
  const upperLen = frontierLength(b.upper);
  if (idLen < 0 || lowerLen < 0 || upperLen < 0) return undefined;
  const updates = b.result.updates;
  const packer = ROWS;
  packer.clear();
  let timesLen = 0;
  let diffsLen = 0;
  // A batch's updates mostly share one time (consolidated: sorted by time): check and size a
  // time once per run of equal times.
  let time: unknown;
  let timeLen = 0;
  for (let i = 0; i < updates.length; i++) {
    const u = updates[i] as Update;
    packer.row(u[0]);
    const t = u[1];
    if (t !== time) {
      if (typeof t !== "bigint" || t < 0n || t > U64_MAX) return undefined;
      time = t;
      timeLen = varint64Size(t);
    }
    timesLen += timeLen;
    const diff = u[2];
    if (!Number.isSafeInteger(diff)) return undefined;
    diffsLen += diff >= 0 ? varintSize(diff) : 10;
  }
  const rowsLen = packer.length;
  const batchLen =
    2 + // format_version (1)
    (rowsLen === 0 ? 0 : fieldLength(rowsLen)) +
    (updates.length === 0 ? 0 : fieldLength(timesLen) + fieldLength(diffsLen));
  const subscribeBatchLen =
    shortMessageFieldLength(lowerLen) + shortMessageFieldLength(upperLen) + fieldLength(batchLen);
  const subscribeLen = stringFieldLength(idLen) + fieldLength(subscribeBatchLen);
  const out = new Out(new Uint8Array(fieldLength(subscribeLen)));
  out.buf[out.pos++] = ld(3);
  out.varint(subscribeLen);
  out.ascii(ld(1), r.id);
  out.buf[out.pos++] = ld(2);
  out.varint(subscribeBatchLen);
  out.frontier(ld(1), b.lower);
  out.frontier(ld(2), b.upper);
  out.buf[out.pos++] = ld(3);
  out.varint(batchLen);
  writeRowBatchHead(out, packer, rowsLen);
  if (updates.length > 0) {
    out.buf[out.pos++] = ld(3);
    out.varint(timesLen);
    // A run of equal times repeats the first one's bytes.
    let last: unknown;
    let start = 0;
    let end = 0;
    for (let i = 0; i < updates.length; i++) {
      const t = (updates[i] as Update)[1];
      if (t === last) {
        for (let k = start; k < end; k++) out.buf[out.pos++] = out.buf[k] as number;
      } else {
        start = out.pos;
        out.varint64(t);
        end = out.pos;
        last = t;
      }
    }
    out.buf[out.pos++] = ld(4);
    out.varint(diffsLen);
    for (const u of updates) out.int64(u[2]);
  }
  if (out.pos !== out.buf.length) {
    throw new InvariantViolation(
      `subscribe frame is ${out.pos} bytes, sized ${out.buf.length}: a response-frames bug`,
    );
  }
  return out.buf;
}

// ---------------------------------------------------------------------------------------------
// compute `peekResponse` with rows: ComputeResponse { PeekResponse peek_response = 2 { string
// uuid = 1; oneof result { RowBatch rows = 2 { uint32 format_version = 1; bytes rows = 2;
// repeated int64 diffs = 3; } } } } — every answered peek (issue 16: the command path's answer).
// A worker's answer the merge passed through (`FramedPeekResponse`) is already these bytes
// (`peek-answer-frames.ts`: written on the worker): they are copied as they are. Other answers
// with rows are written by the same writer (`peekRowsBytes`); errors and cancellations, a
// non-ASCII uuid or a count that is not a safe integer go the reflective way.

type PeekAnswer = Extract<ComputeResponse, { kind: "peekResponse" }>;

/** The `ComputeResponse` bytes of a peek answered with rows, or undefined (reflective). */
function peekAnswerBytes(r: PeekAnswer): Uint8Array | undefined {
  const framed = peekResponseFrame(r);
  if (framed !== undefined) return framed;
  const answer = r.response;
  return answer.kind === "rows" ? peekRowsBytes(r.uuid, answer.rows) : undefined;
}

/**
 * The reflective bytes of a compute response, but subscribe batches' and peek rows' written
 * directly.
 */
function computeResponseBytes(r: ComputeResponse): Uint8Array {
  return (
    (r.kind === "subscribeResponse"
      ? subscribeBatchBytes(r)
      : r.kind === "peekResponse"
        ? peekAnswerBytes(r)
        : undefined) ?? toBinary(ComputeResponseSchema, computeResponseToProto(r))
  );
}

const COMPUTE: FrameCodec<ComputeResponse> = {
  size: computeResponseLength,
  write: writeComputeResponse,
  fallback: computeResponseBytes,
};

// ---------------------------------------------------------------------------------------------
// storage `frontierUpper`: StorageResponse { FrontierUpper frontier_upper = 1 { string id = 1;
// Frontier upper = 2; } }

function frontierUpperLength(r: Extract<StorageResponse, { kind: "frontierUpper" }>): number {
  const idLen = asciiLength(r.id);
  const fl = frontierLength(r.upper);
  if (idLen < 0 || fl < 0) return -1;
  return stringFieldLength(idLen) + shortMessageFieldLength(fl);
}

function storageResponseLength(r: StorageResponse): number {
  if (r.kind !== "frontierUpper") return -1;
  const len = frontierUpperLength(r);
  return len < 0 ? -1 : 1 + varintSize(len) + len;
}

function writeStorageResponse(out: Out, r: StorageResponse): void {
  // Only frontierUpper is written directly (`storageResponseLength`).
  const u = r as Extract<StorageResponse, { kind: "frontierUpper" }>;
  out.buf[out.pos++] = ld(1);
  out.varint(frontierUpperLength(u));
  out.ascii(ld(1), u.id);
  out.frontier(ld(2), u.upper);
}

const STORAGE: FrameCodec<StorageResponse> = {
  size: storageResponseLength,
  write: writeStorageResponse,
  fallback: (r) => toBinary(StorageResponseSchema, storageResponseToProto(r)),
};

// ---------------------------------------------------------------------------------------------
// cluster: ClusterResponse { oneof kind { ComputeResponse compute = 1; StorageResponse storage = 2; } }

function clusterInnerLength(r: ClusterResponse): number {
  return r.kind === "compute"
    ? computeResponseLength(r.response)
    : storageResponseLength(r.response);
}

const CLUSTER: FrameCodec<ClusterResponse> = {
  size(r) {
    const len = clusterInnerLength(r);
    return len < 0 ? -1 : 1 + varintSize(len) + len;
  },
  write(out, r) {
    out.buf[out.pos++] = ld(r.kind === "compute" ? 1 : 2);
    out.varint(clusterInnerLength(r));
    if (r.kind === "compute") writeComputeResponse(out, r.response);
    else writeStorageResponse(out, r.response);
  },
  fallback(r) {
    if (r.kind === "compute") {
      const c = r.response;
      const inner =
        c.kind === "subscribeResponse"
          ? subscribeBatchBytes(c)
          : c.kind === "peekResponse"
            ? peekAnswerBytes(c)
            : undefined;
      if (inner !== undefined) {
        const out = new Out(new Uint8Array(fieldLength(inner.length)));
        out.buf[out.pos++] = ld(1);
        out.varint(inner.length);
        out.bytes(inner);
        return out.buf;
      }
    }
    return toBinary(ClusterResponseSchema, clusterResponseToProto(r));
  },
};

/** `msg` carrying `fields` as its only content. */
function withFrames<M extends Message>(msg: M, fields: UnknownField[]): M {
  msg.$unknown = fields;
  return msg;
}

/**
 * One compute stream message carrying `responses` pre-encoded, for binary serialization only:
 * `toBinary` of it equals `toBinary` of `computeResponsesToProto(responses)`.
 * @throws what `computeResponseToProto` throws for a response it cannot encode.
 */
export function computeResponsesFramed(
  responses: readonly ComputeResponse[],
): ComputeControlResponse {
  return withFrames(create(ComputeControlResponseSchema), frames(responses, COMPUTE));
}

/** `computeResponsesFramed` for the storage stream (`storageResponsesToProto`'s bytes). */
export function storageResponsesFramed(
  responses: readonly StorageResponse[],
): StorageControlResponse {
  return withFrames(create(StorageControlResponseSchema), frames(responses, STORAGE));
}

/** `computeResponsesFramed` for the unified cluster stream (`clusterResponsesToProto`'s bytes). */
export function clusterResponsesFramed(
  responses: readonly ClusterResponse[],
): ClusterControlResponse {
  return withFrames(create(ClusterControlResponseSchema), frames(responses, CLUSTER));
}
