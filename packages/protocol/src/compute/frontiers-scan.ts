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
import { ReadCursor } from "../codec/read-cursor.js";
import type { ComputeResponse } from "./response.js";

const LEN = 2;
const FRONTIERS = 1;
const ID = 1;
const WRITE = 2;
const INPUT = 3;
const OUTPUT = 4;
const ELEMENTS = 1;

/** A `Frontier` message from `c.pos` to `end`; `undefined` when not plainly encoded. */
function frontier(c: ReadCursor, end: number): Frontier | undefined {
  if (c.pos === end) return null;
  // One field: elements, packed (LEN), holding zero or one varint.
  if (c.b[c.pos] !== ((ELEMENTS << 3) | LEN)) return undefined;
  c.pos++;
  const outer = c.end;
  c.end = end;
  try {
    const len = c.u53();
    if (len < 0 || c.pos + len !== end) return undefined;
    if (len === 0) return null;
    const t = c.u53();
    if (t < 0 || c.pos !== end) return undefined;
    return BigInt(t);
  } finally {
    c.end = outer;
  }
}

/** The response in `frame` when it is a plainly encoded `frontiers` (file comment), else undefined. */
export function scanFrontiers(
  frame: Uint8Array,
): Extract<ComputeResponse, { kind: "frontiers" }> | undefined {
  const limit = frame.length;
  // ComputeResponse: exactly one field, frontiers (LEN).
  if (limit < 2 || frame[0] !== ((FRONTIERS << 3) | LEN)) return undefined;
  const c = new ReadCursor(frame, 1, limit);
  const len = c.u53();
  if (len < 0 || c.pos + len !== limit) return undefined;
  let id: string | undefined;
  let write: Frontier | undefined;
  let input: Frontier | undefined;
  let output: Frontier | undefined;
  while (c.pos < limit) {
    const tag = frame[c.pos] as number;
    // Every field of `Frontiers` is LEN with a one-byte tag.
    if ((tag & 7) !== LEN || tag >= 0x80) return undefined;
    c.pos++;
    const n = c.u53();
    if (n < 0 || c.pos + n > limit) return undefined;
    const end = c.pos + n;
    switch (tag >>> 3) {
      case ID: {
        if (id !== undefined) return undefined;
        const s = c.ascii(n);
        if (s === undefined || !GlobalId.is(s)) return undefined;
        id = s;
        break;
      }
      case WRITE:
        if (write !== undefined) return undefined;
        write = frontier(c, end);
        if (write === undefined) return undefined;
        break;
      case INPUT:
        if (input !== undefined) return undefined;
        input = frontier(c, end);
        if (input === undefined) return undefined;
        break;
      case OUTPUT:
        if (output !== undefined) return undefined;
        output = frontier(c, end);
        if (output === undefined) return undefined;
        break;
      default:
        return undefined;
    }
    c.pos = end;
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
