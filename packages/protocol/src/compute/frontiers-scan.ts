/**
 * A replica's `frontiers` response read straight from its frame (issue 16): an idle replica with
 * 1,000 indexes sends ~1,000 of them a second, and the reflective decode (`fromBinary`, then
 * `responseFromProtoAt`) was environmentd's largest single cost in its idle profile.
 *
 * `scanFrontiers` takes only the plain encoding — the `ComputeResponse` holding one
 * `frontiers = 1` field and nothing else; in it `id = 1` (ASCII, a `GlobalId`) and each of
 * `write_frontier = 2`, `input_frontier = 3`, `output_frontier = 4` at most once, each a
 * `Frontier` with no field or one packed `elements = 1` of zero or one varint time below 2^53, at
 * least one frontier set — and returns exactly what the full decode returns for it. Anything
 * else (unknown or repeated fields, unpacked or large elements, a malformed frame, an id that is
 * no GlobalId, no frontier set) gives `undefined`: the full decode takes it, accepting or
 * refusing it with its own error. `frontiers-scan.property.test.ts` checks both against each
 * other.
 */
import { type Frontier, GlobalId } from "@mzts/repr";
import type { ComputeResponse } from "./response.js";

const LEN = 2;
const FRONTIERS = 1;
const ID = 1;
const WRITE = 2;
const INPUT = 3;
const OUTPUT = 4;
const ELEMENTS = 1;

/** Where the last `varint` read ended (no pair allocated per read). */
let at = 0;

/**
 * An unsigned varint at `pos` below 2^53 (as a number), or -1 when malformed, cut off at
 * `limit`, or at least 2^53.
 */
function varint(buf: Uint8Array, pos: number, limit: number): number {
  let value = 0;
  // 2^(7k), exact: no `**` (a Math.pow call) per byte.
  let scale = 1;
  for (let k = 0; k < 8; k++, scale *= 0x80) {
    if (pos >= limit) return -1;
    const b = buf[pos++] as number;
    value += (b & 0x7f) * scale;
    if ((b & 0x80) === 0) {
      at = pos;
      return value <= Number.MAX_SAFE_INTEGER ? value : -1;
    }
  }
  return -1;
}

/** A `Frontier` message at `buf[start..end]`; `undefined` when not plainly encoded. */
function frontier(buf: Uint8Array, start: number, end: number): Frontier | undefined {
  if (start === end) return null;
  // One field: elements, packed (LEN), holding zero or one varint.
  if (buf[start] !== ((ELEMENTS << 3) | LEN)) return undefined;
  const len = varint(buf, start + 1, end);
  if (len < 0 || at + len !== end) return undefined;
  if (len === 0) return null;
  const t = varint(buf, at, end);
  if (t < 0 || at !== end) return undefined;
  return BigInt(t);
}

/** The response in `frame` when it is a plainly encoded `frontiers` (file comment), else undefined. */
export function scanFrontiers(
  frame: Uint8Array,
): Extract<ComputeResponse, { kind: "frontiers" }> | undefined {
  const limit = frame.length;
  // ComputeResponse: exactly one field, frontiers (LEN).
  if (limit < 2 || frame[0] !== ((FRONTIERS << 3) | LEN)) return undefined;
  const len = varint(frame, 1, limit);
  if (len < 0 || at + len !== limit) return undefined;
  let id: string | undefined;
  let write: Frontier | undefined;
  let input: Frontier | undefined;
  let output: Frontier | undefined;
  let pos = at;
  while (pos < limit) {
    const tag = frame[pos] as number;
    // Every field of `Frontiers` is LEN with a one-byte tag.
    if ((tag & 7) !== LEN || tag >= 0x80) return undefined;
    const n = varint(frame, pos + 1, limit);
    if (n < 0 || at + n > limit) return undefined;
    const start = at;
    const end = at + n;
    switch (tag >>> 3) {
      case ID: {
        if (id !== undefined) return undefined;
        let s = "";
        for (let i = start; i < end; i++) {
          const c = frame[i] as number;
          if (c >= 0x80) return undefined;
          s += String.fromCharCode(c);
        }
        if (!GlobalId.is(s)) return undefined;
        id = s;
        break;
      }
      case WRITE:
        if (write !== undefined) return undefined;
        write = frontier(frame, start, end);
        if (write === undefined) return undefined;
        break;
      case INPUT:
        if (input !== undefined) return undefined;
        input = frontier(frame, start, end);
        if (input === undefined) return undefined;
        break;
      case OUTPUT:
        if (output !== undefined) return undefined;
        output = frontier(frame, start, end);
        if (output === undefined) return undefined;
        break;
      default:
        return undefined;
    }
    pos = end;
  }
  // An absent id decodes as "" (no GlobalId); no frontier set is refused: the full decode says so.
  if (id === undefined || (write === undefined && input === undefined && output === undefined))
    return undefined;
  // The full decode's shape: only the kinds set, in this order.
  const frontiers: { write?: Frontier; input?: Frontier; output?: Frontier } = {};
  if (write !== undefined) frontiers.write = write;
  if (input !== undefined) frontiers.input = input;
  if (output !== undefined) frontiers.output = output;
  return { kind: "frontiers", id, frontiers };
}
