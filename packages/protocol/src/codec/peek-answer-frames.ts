/**
 * Peek answers encoded on the worker threads (issue 16: the replica's per-peek response path).
 *
 * A worker's answer with rows crosses to the main thread as the wire bytes of its
 * `ComputeResponse` (`peekResponse` with a `RowBatch`), not as a structured clone of its rows:
 * - **Worker** (`framePeekAnswers`, through the spec's `encodeResponses`): every `peekResponse`
 *   with rows of one outgoing message is written into one exact-size `ArrayBuffer` (transferred,
 *   not copied) and replaced, in place, by a `PeekRowsFrame` — its uuid, its entry count, its
 *   packed rows' length and a view of its bytes. Errors and cancellations stay objects (rare).
 *   An answer the direct writer does not take (a non-ASCII uuid, a count that is not a safe
 *   integer, a datum `RowPacker` refuses) stays an object too, so the main thread meets what it
 *   met before (and throws where it threw).
 * - **Main thread**: the merge (`PartitionedComputeState`) counts rows without decoding; when at
 *   most one worker's part has rows, the process's answer is that part's frame
 *   (`FramedPeekResponse`), whose bytes the response framer copies into the outgoing message
 *   (`response-frames.ts`) without decoding or re-encoding. Rows are decoded
 *   (`peekRowsOfFrame`) only when they must be merged or finished, or when something reads them
 *   (a JSON stream, an in-process caller: `FramedPeekResponse.response.rows` decodes on first
 *   read).
 *
 * ## Buffer ownership
 * The worker gives its buffer up (`postMessage` transfer list) and keeps no view of it: the
 * frames are written into a reused scratch writer and copied once into a fresh exact-size
 * buffer, which is what crosses. On the main thread nothing writes a frame's bytes: the framer
 * copies them, `peekRowsOfFrame` reads them.
 *
 * Codec-free (no protobuf-es): the worker side is exported through `@mzts/protocol/domain`.
 * The bytes are `peekRowsBytes`'s, which the main thread's framer writes for answers that are
 * not frames: byte-identical by construction, checked by `peek-answer-frames.property.test.ts`
 * against the reflective encoding.
 */
import { growBuffer, InvariantViolation, type Row, RowReader, varintSize } from "@mzts/repr";
import type { ComputeResponse, PeekResponse } from "../compute/response.js";
import { ByteCursor } from "./byte-cursor.js";
import { ROW_FORMAT_VERSION } from "./row-format.js";
import { RowsWriter } from "./rows-writer.js";

/** Tag of field `no` with wire type 2 (length-delimited), for field numbers 1–15. */
const ld = (no: number) => (no << 3) | 2;
/** Bytes of a length-delimited field of `len` bytes (tag, length, payload). */
const fieldLength = (len: number) => 1 + varintSize(len) + len;

/** A worker's peek answer with rows, as its `ComputeResponse` bytes (`framePeekAnswers`). */
export interface PeekRowsFrame {
  readonly kind: "peekRowsFrame";
  readonly uuid: string;
  /** Entries `(row, count)` of the answer. */
  readonly rows: number;
  /** Bytes of the packed rows (what `maxResultSize` limits). */
  readonly rowsBytes: number;
  /** The `ComputeResponse` message (`peekResponse` with its `RowBatch`). */
  readonly bytes: Uint8Array;
}

/** True for a `PeekRowsFrame` (a worker's encoded answer). */
export function isPeekRowsFrame(r: unknown): r is PeekRowsFrame {
  return (r as { kind?: unknown }).kind === "peekRowsFrame";
}

/** Byte length of `s` if it is all ASCII (then UTF-8 = one byte per char), else -1. */
function asciiLength(s: string): number {
  if (typeof s !== "string") return -1;
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0x7f) return -1;
  return s.length;
}

/** A growable cursor (the worker's scratch for one message's frames). */
class Scratch extends ByteCursor {
  constructor(capacity: number) {
    super(new Uint8Array(capacity));
  }

  reserve(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    (this as { buf: Uint8Array }).buf = growBuffer(this.buf, this.pos, n);
  }
}

/** The rows of the answer being written: one writer reused, cleared per answer. */
let ROWS = new RowsWriter(1 << 12);
/** A writer grown past this by a large answer is dropped after it rather than kept. */
const ROWS_KEPT_BYTES = 1 << 20;

/**
 * Writes the `ComputeResponse` of `uuid`'s answer `rows` at `out.pos` (growing `out`): field 2
 * `peek_response { string uuid = 1; RowBatch rows = 2 { uint32 format_version = 1; bytes rows =
 * 2; repeated int64 diffs = 3; } }`. Returns the packed rows' length, or -1 (nothing written)
 * when the reflective encoder must judge the answer (a non-ASCII uuid, a count that is not a
 * safe integer). @throws InvalidDatum as `RowPacker.pack` (nothing written).
 */
function writePeekRows(
  out: Scratch,
  uuid: string,
  rows: ReadonlyArray<readonly [Row, number]>,
): number {
  const uuidLen = asciiLength(uuid);
  if (uuidLen < 0) return -1;
  const packer = ROWS;
  packer.clear();
  let diffsLen = 0;
  for (let i = 0; i < rows.length; i++) {
    const entry = rows[i] as readonly [Row, number];
    const count = entry[1];
    if (!Number.isSafeInteger(count)) return -1;
    packer.row(entry[0]);
    diffsLen += count >= 0 ? varintSize(count) : 10;
  }
  const rowsLen = packer.length;
  const batchLen =
    2 + // format_version (1)
    (rowsLen === 0 ? 0 : fieldLength(rowsLen)) +
    (rows.length === 0 ? 0 : fieldLength(diffsLen));
  const peekLen = (uuidLen === 0 ? 0 : fieldLength(uuidLen)) + fieldLength(batchLen);
  const total = fieldLength(peekLen);
  out.reserve(total);
  const start = out.pos;
  const buf = out.buf;
  buf[out.pos++] = ld(2);
  out.varint(peekLen);
  if (uuidLen > 0) {
    buf[out.pos++] = ld(1);
    out.varint(uuidLen);
    for (let i = 0; i < uuidLen; i++) buf[out.pos++] = uuid.charCodeAt(i);
  }
  buf[out.pos++] = ld(2);
  out.varint(batchLen);
  buf[out.pos++] = 1 << 3; // format_version, varint
  buf[out.pos++] = ROW_FORMAT_VERSION;
  if (rowsLen > 0) {
    buf[out.pos++] = ld(2);
    out.varint(rowsLen);
    packer.copyTo(buf, out.pos);
    out.pos += rowsLen;
    if (rowsLen > ROWS_KEPT_BYTES) ROWS = new RowsWriter(1 << 12);
  }
  if (rows.length > 0) {
    buf[out.pos++] = ld(3);
    out.varint(diffsLen);
    for (let i = 0; i < rows.length; i++) {
      const n = (rows[i] as readonly [Row, number])[1];
      if (n >= 0) out.varint(n);
      else out.varint64(BigInt(n));
    }
  }
  if (out.pos - start !== total) {
    throw new InvariantViolation(
      `peek frame is ${out.pos - start} bytes, sized ${total}: a peek-answer-frames bug`,
    );
  }
  return rowsLen;
}

/**
 * The `ComputeResponse` bytes of a peek answered with rows, or undefined (the reflective encoder
 * judges it). @throws InvalidDatum as `RowPacker.pack`.
 */
export function peekRowsBytes(
  uuid: string,
  rows: ReadonlyArray<readonly [Row, number]>,
): Uint8Array | undefined {
  const out = new Scratch(64 + rows.length * 16);
  return writePeekRows(out, uuid, rows) < 0 ? undefined : out.buf.slice(0, out.pos);
}

/** The worker's scratch for one message's frames (reused; a large one is dropped after use). */
let SCRATCH = new Scratch(1 << 14);

type PeekAnswer = Extract<ComputeResponse, { kind: "peekResponse" }>;

/**
 * Worker side: replaces, in place, every `peekResponse` with rows of `responses` (one outgoing
 * message) by its `PeekRowsFrame`, all frames views of one fresh buffer; returns that buffer for
 * the message's transfer list, or undefined when nothing was framed. Anything else is left as
 * is, as is an answer the direct writer refuses (the main thread's framer then meets it as
 * before).
 */
export function framePeekAnswers(responses: unknown[]): ArrayBuffer | undefined {
  let framed: number[] | undefined;
  let ends: number[] | undefined;
  let sizes: number[] | undefined;
  const out = SCRATCH;
  out.pos = 0;
  for (let i = 0; i < responses.length; i++) {
    const r = responses[i] as PeekAnswer;
    if (r.kind !== "peekResponse" || r.response.kind !== "rows") continue;
    const at = out.pos;
    let rowsLen: number;
    try {
      rowsLen = writePeekRows(out, r.uuid, r.response.rows);
    } catch {
      // A datum RowPacker refuses: the main thread's encoder throws what it always threw.
      out.pos = at;
      continue;
    }
    if (rowsLen < 0) continue;
    framed ??= [];
    ends ??= [];
    sizes ??= [];
    framed.push(i);
    ends.push(out.pos);
    sizes.push(rowsLen);
  }
  if (framed === undefined || ends === undefined || sizes === undefined) return undefined;
  // A fresh exact-size copy (the scratch stays here): the buffer that crosses, transferred.
  const bytes = out.buf.slice(0, out.pos);
  const buffer = bytes.buffer as ArrayBuffer;
  if (out.buf.length > 1 << 20) SCRATCH = new Scratch(1 << 14);
  let start = 0;
  for (let k = 0; k < framed.length; k++) {
    const i = framed[k] as number;
    const r = responses[i] as PeekAnswer;
    const end = ends[k] as number;
    const frame: PeekRowsFrame = {
      kind: "peekRowsFrame",
      uuid: r.uuid,
      rows: (r.response as Extract<PeekResponse, { kind: "rows" }>).rows.length,
      rowsBytes: sizes[k] as number,
      bytes: bytes.subarray(start, end),
    };
    responses[i] = frame;
    start = end;
  }
  return buffer;
}

/** A varint at `at` of `b` (< 2^53, as this module writes); returns [value, next offset]. */
function readVarint(b: Uint8Array, at: number): [number, number] {
  let n = 0;
  let mul = 1;
  for (;;) {
    const byte = b[at++];
    if (byte === undefined) throw new InvariantViolation("peek frame: truncated varint");
    n += (byte & 0x7f) * mul;
    if (byte < 0x80) return [n, at];
    mul *= 0x80;
  }
}

/** The count (int64) at `at` of `b`; returns [value, next offset]. */
function readInt64(b: Uint8Array, at: number): [number, number] {
  // A positive safe integer takes at most 8 bytes; a negative int64 ten (two's complement).
  if ((b[at] as number) < 0x80) return [b[at] as number, at + 1];
  let end = at;
  while (((b[end] ?? 0) & 0x80) !== 0) end++;
  if (end - at < 8) return readVarint(b, at);
  let v = 0n;
  let shift = 0n;
  for (;;) {
    const byte = b[at++];
    if (byte === undefined) throw new InvariantViolation("peek frame: truncated varint");
    v |= BigInt(byte & 0x7f) << shift;
    if (byte < 0x80) return [Number(BigInt.asIntN(64, v)), at];
    shift += 7n;
  }
}

/**
 * Main thread: the rows of a frame `framePeekAnswers` wrote (decoded; the merge of several parts
 * and the finishing need them). @throws InvariantViolation when the bytes are not such a frame.
 */
export function peekRowsOfFrame(frame: PeekRowsFrame): Array<[Row, number]> {
  const b = frame.bytes;
  const expect = (at: number, tag: number) => {
    if (b[at] !== tag) {
      throw new InvariantViolation(
        `peek frame of ${frame.uuid}: byte ${at} is ${b[at]}, expected tag ${tag}`,
      );
    }
  };
  let at = 0;
  expect(at, ld(2));
  [, at] = readVarint(b, at + 1);
  if (b[at] === ld(1)) {
    const [len, next] = readVarint(b, at + 1);
    at = next + len;
  }
  expect(at, ld(2));
  [, at] = readVarint(b, at + 1);
  expect(at, 1 << 3);
  if (b[at + 1] !== ROW_FORMAT_VERSION) {
    throw new InvariantViolation(`peek frame of ${frame.uuid}: row format ${b[at + 1]}`);
  }
  at += 2;
  const out = new Array<[Row, number]>(frame.rows);
  if (frame.rows === 0) return out;
  let rowsAt = at;
  let rowsEnd = at;
  if (frame.rowsBytes > 0) {
    expect(at, ld(2));
    const [len, next] = readVarint(b, at + 1);
    rowsAt = next;
    rowsEnd = next + len;
    at = rowsEnd;
  }
  expect(at, ld(3));
  [, at] = readVarint(b, at + 1);
  const reader = new RowReader(b, rowsAt, rowsEnd);
  for (let i = 0; i < frame.rows; i++) {
    const [count, next] = readInt64(b, at);
    at = next;
    out[i] = [reader.row(), count];
  }
  if (!reader.done || at !== b.length) {
    throw new InvariantViolation(`peek frame of ${frame.uuid}: trailing bytes`);
  }
  return out;
}

/**
 * `{kind: "rows", rows}` whose rows are decoded from a frame on first read. `rows` is an own
 * enumerable accessor (equality checks and structured clones see it), defined with one shared
 * getter so that every instance keeps one hidden class (a getter closure per instance would
 * give each its own, at a cost of ~1 µs and garbage per peek on the main thread).
 */
class FramedRows {
  readonly kind = "rows" as const;
  #frame: PeekRowsFrame | undefined;
  #rows: Array<[Row, number]> | undefined = undefined;
  static readonly #accessor: PropertyDescriptor = {
    enumerable: true,
    get(this: FramedRows) {
      return this.#decoded();
    },
  };

  constructor(frame: PeekRowsFrame) {
    this.#frame = frame;
    Object.defineProperty(this, "rows", FramedRows.#accessor);
  }

  #decoded(): Array<[Row, number]> {
    if (this.#rows === undefined) {
      this.#rows = peekRowsOfFrame(this.#frame as PeekRowsFrame);
      this.#frame = undefined;
    }
    return this.#rows;
  }

  declare readonly rows: ReadonlyArray<readonly [Row, number]>;
}

/**
 * Main thread: the process's answer to a peek when it is one worker's frame as is (the merge's
 * pass-through). A real `peekResponse` (its rows decode on first read), whose binary framing is
 * the frame's bytes (`response-frames.ts`: `peekResponseFrame`).
 */
export class FramedPeekResponse {
  readonly kind = "peekResponse" as const;
  readonly uuid: string;
  readonly response: Extract<PeekResponse, { kind: "rows" }>;
  /** The `ComputeResponse` bytes. */
  readonly #bytes: Uint8Array;

  constructor(frame: PeekRowsFrame) {
    this.uuid = frame.uuid;
    this.response = new FramedRows(frame);
    this.#bytes = frame.bytes;
  }

  /** The answer's `ComputeResponse` bytes. */
  get bytes(): Uint8Array {
    return this.#bytes;
  }
}

/** The `ComputeResponse` bytes of `r` when it is a worker's frame passed through, else undefined. */
export function peekResponseFrame(r: ComputeResponse): Uint8Array | undefined {
  return r instanceof FramedPeekResponse ? r.bytes : undefined;
}
