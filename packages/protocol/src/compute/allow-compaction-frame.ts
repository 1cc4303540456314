/**
 * The binary `ComputeCommand.allow_compaction` written directly (issue 16): the controllers send
 * one per collection whose since advanced — ~1,000 a second with 1,000 idle indexes — and the
 * reflective encode (`create` + `toBinary`) was most of what sending them cost.
 *
 * `allowCompactionFrame` gives exactly the bytes `encodeComputeCommand` gives (fields in number
 * order, an empty id or an empty frontier's elements left out, the frontier message always
 * present) for an ASCII id shorter than 128 characters and a time below 2^53; `undefined` for
 * anything else (the reflective encode takes it). `allow-compaction-frame.property.test.ts`
 * compares the two byte for byte.
 */
import { type Frontier, type GlobalId, varintSize } from "@mzts/repr";
import { ByteCursor } from "../codec/byte-cursor.js";

/** `ComputeCommand.allow_compaction` (field 7), length-delimited. */
const ALLOW_COMPACTION_TAG = (7 << 3) | 2;
/** `AllowCompaction.id` (1) and `.frontier` (2); `Frontier.elements` (1, packed). */
const ID_TAG = (1 << 3) | 2;
const FRONTIER_TAG = (2 << 3) | 2;
const ELEMENTS_TAG = (1 << 3) | 2;

/** The frame for `allowCompaction(id, frontier)`, or `undefined` (file comment). */
export function allowCompactionFrame(id: GlobalId, frontier: Frontier): Uint8Array | undefined {
  const idLength = id.length;
  if (idLength >= 0x80) return undefined;
  let time = 0;
  let timeLength = 0;
  if (frontier !== null) {
    if (frontier > BigInt(Number.MAX_SAFE_INTEGER)) return undefined;
    time = Number(frontier);
    timeLength = varintSize(time);
  }
  // Frontier message: [ELEMENTS_TAG, len, varint] or nothing.
  const frontierLength = frontier === null ? 0 : 2 + timeLength;
  // AllowCompaction: [ID_TAG, len, id] (omitted when empty) + [FRONTIER_TAG, len, frontier].
  const bodyLength = (idLength === 0 ? 0 : 2 + idLength) + 2 + frontierLength;
  if (bodyLength >= 0x80) return undefined;
  const out = new ByteCursor(new Uint8Array(2 + bodyLength));
  const buf = out.buf;
  buf[out.pos++] = ALLOW_COMPACTION_TAG;
  buf[out.pos++] = bodyLength;
  if (idLength > 0) {
    buf[out.pos++] = ID_TAG;
    buf[out.pos++] = idLength;
    for (let i = 0; i < idLength; i++) {
      const c = id.charCodeAt(i);
      if (c >= 0x80) return undefined;
      buf[out.pos++] = c;
    }
  }
  buf[out.pos++] = FRONTIER_TAG;
  buf[out.pos++] = frontierLength;
  if (frontier !== null) {
    buf[out.pos++] = ELEMENTS_TAG;
    buf[out.pos++] = timeLength;
    out.varint(time);
  }
  return buf;
}
