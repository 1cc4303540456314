/**
 * `scanPeekAnswer` / `skippablePeekUuid`: reads, without decoding it, whether one binary
 * `mz.compute.v1.ComputeResponse` is a peek answer, for which uuid and where its result lies — so
 * a controller can drop an answer it no longer waits for (the other replica answered first, or
 * the peek was canceled) before paying for its rows, and read the rows of one it waits for
 * without a reflective decode (`scanRowBatch`; issue 16, `control-frames.ts`).
 *
 * ## What a skipped answer is checked for (the rest is what skipping saves)
 * - The response is well-framed: every tag is valid and every field's length lies within it.
 * - Its kind is a peek answer: exactly one field of the `kind` oneof, `peek_response` (2).
 * - The answer is well-framed too, with exactly one `uuid` (1), a lowercase canonical UUID, and
 *   exactly one field of its `result` oneof (rows 2, error 3, canceled 4), length-delimited.
 * - NOT checked: the result's contents (rows, datums, an empty error text).
 * Anything else — another kind, a shape this scan does not prove (groups, a repeated field, an
 * unusual encoding), a framing error — returns `undefined`: the caller decodes the response in
 * full, which validates it and raises the usual `MalformedResponse` when it is malformed.
 */
import { isUuid } from "../codec/field.js";

/** Wire types (protobuf encoding spec). */
const VARINT = 0;
const I64 = 1;
const LEN = 2;
const I32 = 5;
/** `ComputeResponse.kind` field numbers: frontiers … command_error. */
const KIND_FIRST = 1;
const KIND_LAST = 5;
const PEEK_RESPONSE = 2;
/** `PeekResponse` field numbers. */
const UUID_FIELD = 1;
const RESULT_FIRST = 2;
const RESULT_LAST = 4;
const UUID_LENGTH = 36;

/** A field's tag and where its payload lies (`start..end`; for LEN fields the payload only). */
interface Field {
  no: number;
  wireType: number;
  start: number;
  end: number;
}

/**
 * Reads the field at `pos` of `buf[..limit]` into `f`; false when it is not well-framed (a bad or
 * overlong tag or varint, a length beyond `limit`, a group).
 */
function readField(buf: Uint8Array, pos: number, limit: number, f: Field): boolean {
  const tag = readVarint32(buf, pos, limit);
  if (tag < 0) return false;
  pos = varintEnd;
  const no = tag >>> 3;
  const wireType = tag & 7;
  if (no === 0) return false;
  let start = pos;
  let end: number;
  switch (wireType) {
    case VARINT: {
      let i = pos;
      while (i < limit && i - pos < 10 && ((buf[i] as number) & 0x80) !== 0) i++;
      if (i >= limit || i - pos >= 10) return false;
      end = i + 1;
      break;
    }
    case I64:
      end = pos + 8;
      break;
    case LEN: {
      const len = readVarint32(buf, pos, limit);
      if (len < 0) return false;
      start = varintEnd;
      end = start + len;
      break;
    }
    case I32:
      end = pos + 4;
      break;
    default:
      return false; // groups (3, 4) and invalid wire types: left to the full decode
  }
  if (end > limit) return false;
  f.no = no;
  f.wireType = wireType;
  f.start = start;
  f.end = end;
  return true;
}

/** Where the last `readVarint32` ended (avoids allocating a pair per read). */
let varintEnd = 0;

/** An unsigned varint of at most 32 bits at `pos`, or -1 when malformed or cut off. */
function readVarint32(buf: Uint8Array, pos: number, limit: number): number {
  let value = 0;
  for (let shift = 0; shift < 35; shift += 7) {
    if (pos >= limit) return -1;
    const b = buf[pos++] as number;
    if (shift === 28 && b > 0x0f) return -1; // beyond 32 bits
    value += (b & 0x7f) * 2 ** shift;
    if ((b & 0x80) === 0) {
      varintEnd = pos;
      return value;
    }
  }
  return -1;
}

const field: Field = { no: 0, wireType: 0, start: 0, end: 0 };

/** A peek answer found by `scanPeekAnswer`: its uuid and where its one result's payload lies. */
export interface ScannedPeekAnswer {
  readonly uuid: string;
  /** The `PeekResponse.result` case: 2 rows, 3 error, 4 canceled. */
  readonly result: number;
  readonly start: number;
  readonly end: number;
}

/** `PeekResponse.result` = rows (a `RowBatch`). */
export const ROWS_RESULT = 2;

/**
 * `frame` as a peek answer that may be skipped undecoded (see the file comment for what is
 * checked); `undefined` when it must be decoded in full.
 */
export function scanPeekAnswer(frame: Uint8Array): ScannedPeekAnswer | undefined {
  const limit = frame.length;
  let answerStart = -1;
  let answerEnd = -1;
  for (let pos = 0; pos < limit; pos = field.end) {
    if (!readField(frame, pos, limit, field)) return undefined;
    if (field.no < KIND_FIRST || field.no > KIND_LAST) continue; // unknown: ignored by a decode too
    if (field.no !== PEEK_RESPONSE || field.wireType !== LEN || answerStart >= 0) return undefined;
    answerStart = field.start;
    answerEnd = field.end;
  }
  if (answerStart < 0) return undefined;
  let uuid: string | undefined;
  let result = 0;
  let start = 0;
  let end = 0;
  for (let pos = answerStart; pos < answerEnd; pos = field.end) {
    if (!readField(frame, pos, answerEnd, field)) return undefined;
    if (field.no === UUID_FIELD) {
      if (field.wireType !== LEN || uuid !== undefined) return undefined;
      if (field.end - field.start !== UUID_LENGTH) return undefined;
      uuid = ascii(frame, field.start, field.end);
    } else if (field.no >= RESULT_FIRST && field.no <= RESULT_LAST) {
      if (field.wireType !== LEN || result !== 0) return undefined;
      result = field.no;
      start = field.start;
      end = field.end;
    }
  }
  if (uuid === undefined || result === 0 || !isUuid(uuid)) return undefined;
  return { uuid, result, start, end };
}

/** The uuid of `frame` when `scanPeekAnswer` takes it. */
export function skippablePeekUuid(frame: Uint8Array): string | undefined {
  return scanPeekAnswer(frame)?.uuid;
}

/**
 * The fields of a `RowBatch` at `frame[start..end]` when its encoding is the plain one — each of
 * format_version (varint, ≤ 32 bits), rows and packed diffs at most once, every diff in
 * [0, 2^49) — else `undefined` (decode it in full). Unknown fields are ignored, as by a decode.
 */
export function scanRowBatch(
  frame: Uint8Array,
  start: number,
  end: number,
): { formatVersion: number; rows: Uint8Array; diffs: bigint[] } | undefined {
  let formatVersion = -1;
  let rows: Uint8Array | undefined;
  let diffs: bigint[] | undefined;
  for (let pos = start; pos < end; pos = field.end) {
    if (!readField(frame, pos, end, field)) return undefined;
    if (field.no === 1) {
      if (field.wireType !== VARINT || formatVersion >= 0) return undefined;
      formatVersion = readVarint32(frame, field.start, field.end);
      if (formatVersion < 0) return undefined;
    } else if (field.no === 2) {
      if (field.wireType !== LEN || rows !== undefined) return undefined;
      rows = frame.subarray(field.start, field.end);
    } else if (field.no === 3) {
      if (field.wireType !== LEN || diffs !== undefined) return undefined;
      diffs = packedSmallVarints(frame, field.start, field.end);
      if (diffs === undefined) return undefined;
    }
  }
  return {
    formatVersion: Math.max(formatVersion, 0),
    rows: rows ?? new Uint8Array(0),
    diffs: diffs ?? [],
  };
}

/** Packed varints in [0, 2^49) (at most 7 bytes each) as bigints; `undefined` otherwise. */
function packedSmallVarints(buf: Uint8Array, start: number, end: number): bigint[] | undefined {
  const out: bigint[] = [];
  let pos = start;
  while (pos < end) {
    let value = 0;
    let scale = 1;
    for (let i = 0; ; i++) {
      if (i === 7 || pos >= end) return undefined;
      const b = buf[pos++] as number;
      value += (b & 0x7f) * scale;
      if ((b & 0x80) === 0) break;
      scale *= 128;
    }
    out.push(BigInt(value));
  }
  return out;
}

/** `buf[start..end]` as a string of its bytes (only ASCII survives `isUuid`). */
function ascii(buf: Uint8Array, start: number, end: number): string {
  return String.fromCharCode.apply(null, buf.subarray(start, end) as unknown as number[]);
}
