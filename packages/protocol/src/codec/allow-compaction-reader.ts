/**
 * Reading a framed `allowCompaction` directly (issue 16): the frequent command at idle, ~1 per
 * index and second. Codec-free (no protobuf-es), so a worker thread can read a forwarded frame
 * (`forwarded-commands.ts`).
 *
 * Accepts only the canonical encoding protobuf-es writes (`ComputeCommand.allow_compaction` =
 * field 7 wrapping `id` = 1, an ASCII GlobalId, then `frontier` = 2 holding nothing or one packed
 * `uint64` below 2^49), each length a single byte, nothing else in the frame; `undefined` for
 * anything else (`request-frames.ts` then decodes it by reflection).
 */
import { GlobalId } from "@mzts/repr";
import type { ComputeCommand } from "../compute/command.js";

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
