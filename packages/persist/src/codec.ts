/**
 * Stored formats: state records (consensus values) and batch blobs. Both carry a magic, a format
 * version and a CRC-32 checksum, and decoding checks them in that order: wrong magic or checksum
 * → `CorruptBlob`; a version newer than this build → `UnsupportedFormatVersion` (checked before
 * the checksum, because a newer version may lay out the rest differently). Bytes that fail a
 * check are never returned as data.
 *
 * ## State record (version 1)
 * ```
 * 0  "MZPS"        magic
 * 4  u16 LE        format version (STATE_FORMAT_VERSION)
 * 6  u16 LE        reserved, 0
 * 8  u32 LE        CRC-32 of bytes [0, 8) then [12, end)
 * 12 UTF-8 JSON    {shardId, upper, since, batches, readers, createdMs, dropped}
 *                  frontiers and times as decimal strings, EMPTY as null
 * ```
 * ## Batch blob (version 1), columnar
 * ```
 * 0  "MZPB"        magic
 * 4  u16 LE        format version (BATCH_FORMAT_VERSION)
 * 6  u16 LE        reserved, 0
 * 8  u32 LE        CRC-32 of bytes [0, 8) then [12, end)
 * 12 u32 LE        n, the number of updates
 * 16 n × u64 LE    times (exact for every u64 timestamp)
 *    n × f64 LE    diffs (exact for every safe integer)
 *    rows          n rows in the @mzts/repr RowPacker encoding, ending exactly at the end
 * ```
 */
import { crc32 } from "node:zlib";
import { Frontier, type Row, RowPacker, RowReader, type Timestamp, type Update } from "@mzts/repr";
import { CorruptBlob, UnsupportedFormatVersion } from "./errors.js";
import type { BatchMeta, ReaderState, ShardState } from "./state.js";

/** The state record format this build writes and the newest it reads. */
export const STATE_FORMAT_VERSION = 1;
/** The batch blob format this build writes and the newest it reads. */
export const BATCH_FORMAT_VERSION = 1;

const STATE_MAGIC = 0x5350_5a4d; // "MZPS" little-endian
const BATCH_MAGIC = 0x4250_5a4d; // "MZPB" little-endian
const HEADER = 12;

const utf8 = new TextEncoder();
const utf8Decoder = new TextDecoder("utf-8", { fatal: true });

function header(buf: Uint8Array, magic: number, version: number): DataView {
  const v = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  v.setUint32(0, magic, true);
  v.setUint16(4, version, true);
  v.setUint16(6, 0, true);
  return v;
}

function checkHeader(
  key: string,
  bytes: Uint8Array,
  magic: number,
  what: "state" | "batch",
  supported: number,
): DataView {
  if (bytes.byteLength < HEADER) {
    throw new CorruptBlob(
      key,
      `${bytes.byteLength} bytes is shorter than the ${HEADER}-byte header`,
    );
  }
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (v.getUint32(0, true) !== magic) {
    throw new CorruptBlob(key, `bad magic: not a persist ${what} record`);
  }
  const version = v.getUint16(4, true);
  if (version > supported) throw new UnsupportedFormatVersion(key, what, version, supported);
  if (version === 0) throw new CorruptBlob(key, "format version 0 does not exist");
  const want = v.getUint32(8, true);
  const got = checksum(bytes);
  if (want !== got) {
    throw new CorruptBlob(
      key,
      `checksum mismatch (stored crc32 ${hex(want)}, computed ${hex(got)})`,
    );
  }
  return v;
}

/** CRC-32 over the header's first 8 bytes and everything after the checksum field. */
function checksum(bytes: Uint8Array): number {
  return crc32(bytes.subarray(HEADER), crc32(bytes.subarray(0, 8)));
}

function hex(n: number): string {
  return `0x${n.toString(16).padStart(8, "0")}`;
}

// ---- state records ------------------------------------------------------------------------

interface StateJson {
  shardId: string;
  upper: string | null;
  since: string | null;
  batches: Array<{
    key: string | null;
    lower: string;
    upper: string | null;
    since?: string;
    count: number;
    bytes: number;
  }>;
  readers: Record<string, { since: string | null; heartbeatMs: number }>;
  createdMs: number;
  dropped: boolean;
}

/** Encodes a state record (current version). */
export function encodeState(state: ShardState, version = STATE_FORMAT_VERSION): Uint8Array {
  const json: StateJson = {
    shardId: state.shardId,
    upper: Frontier.toJSON(state.upper),
    since: Frontier.toJSON(state.since),
    batches: state.batches.map((b) => ({
      key: b.key,
      lower: b.lower.toString(),
      upper: Frontier.toJSON(b.upper),
      ...(b.since === undefined ? {} : { since: b.since.toString() }),
      count: b.count,
      bytes: b.bytes,
    })),
    readers: Object.fromEntries(
      Object.entries(state.readers).map(([id, r]) => [
        id,
        { since: Frontier.toJSON(r.since), heartbeatMs: r.heartbeatMs },
      ]),
    ),
    createdMs: state.createdMs,
    dropped: state.dropped,
  };
  const body = utf8.encode(JSON.stringify(json));
  const out = new Uint8Array(HEADER + body.byteLength);
  out.set(body, HEADER);
  header(out, STATE_MAGIC, version).setUint32(8, checksum(out), true);
  return out;
}

/**
 * Decodes a state record. `key` names it in errors (e.g. `consensus:<shard>@<seqno>`).
 * @throws CorruptBlob, UnsupportedFormatVersion
 */
export function decodeState(key: string, bytes: Uint8Array): ShardState {
  checkHeader(key, bytes, STATE_MAGIC, "state", STATE_FORMAT_VERSION);
  let j: StateJson;
  try {
    j = JSON.parse(utf8Decoder.decode(bytes.subarray(HEADER))) as StateJson;
  } catch (e) {
    throw new CorruptBlob(key, `state is not valid JSON (${(e as Error).message})`);
  }
  try {
    const readers: Record<string, ReaderState> = {};
    for (const [id, r] of Object.entries(j.readers)) {
      readers[id] = { since: frontier(r.since), heartbeatMs: num(r.heartbeatMs) };
    }
    const batches: BatchMeta[] = j.batches.map((b) => {
      const key = b.key === null ? null : str(b.key);
      const base = {
        key,
        lower: time(b.lower),
        upper: frontier(b.upper),
        count: num(b.count),
        bytes: num(b.bytes),
      };
      return b.since === undefined ? base : { ...base, since: time(b.since) };
    });
    return {
      shardId: str(j.shardId),
      upper: frontier(j.upper),
      since: frontier(j.since),
      batches,
      readers,
      createdMs: num(j.createdMs),
      dropped: j.dropped === true,
    };
  } catch (e) {
    throw new CorruptBlob(key, `state has an unexpected shape (${(e as Error).message})`);
  }
}

function str(v: unknown): string {
  if (typeof v !== "string") throw new TypeError(`expected a string, got ${typeof v}`);
  return v;
}
function num(v: unknown): number {
  if (typeof v !== "number" || !Number.isFinite(v)) throw new TypeError("expected a number");
  return v;
}
function time(v: unknown): Timestamp {
  if (typeof v !== "string" || !/^[0-9]{1,20}$/.test(v)) throw new TypeError("expected a time");
  return BigInt(v);
}
function frontier(v: unknown): Frontier {
  return v === null ? Frontier.EMPTY : time(v);
}

// ---- batch blobs --------------------------------------------------------------------------

/** Encodes updates as a batch blob (current version). Rows must hold valid datums. */
export function encodeBatch(
  updates: readonly Update[],
  version = BATCH_FORMAT_VERSION,
): Uint8Array {
  const n = updates.length;
  const packer = new RowPacker(64 + n * 16);
  for (let i = 0; i < n; i++) packer.pack(updates[i]![0]);
  const rows = packer.finish();
  const out = new Uint8Array(16 + n * 16 + rows.byteLength);
  const v = header(out, BATCH_MAGIC, version);
  v.setUint32(12, n, true);
  let off = 16;
  for (let i = 0; i < n; i++, off += 8) v.setBigUint64(off, updates[i]![1], true);
  for (let i = 0; i < n; i++, off += 8) v.setFloat64(off, updates[i]![2], true);
  out.set(rows, off);
  v.setUint32(8, checksum(out), true);
  return out;
}

/**
 * Decodes a batch blob. `key` names it in errors.
 * @throws CorruptBlob, UnsupportedFormatVersion
 */
export function decodeBatch(key: string, bytes: Uint8Array): Update[] {
  const v = checkHeader(key, bytes, BATCH_MAGIC, "batch", BATCH_FORMAT_VERSION);
  if (bytes.byteLength < 16) throw new CorruptBlob(key, "truncated batch header");
  const n = v.getUint32(12, true);
  const rowsAt = 16 + n * 16;
  if (rowsAt > bytes.byteLength) {
    throw new CorruptBlob(key, `${n} updates do not fit in ${bytes.byteLength} bytes`);
  }
  const out = new Array<Update>(n);
  const reader = new RowReader(bytes, rowsAt);
  try {
    for (let i = 0; i < n; i++) {
      const row: Row = reader.row();
      const t = v.getBigUint64(16 + i * 8, true);
      const d = v.getFloat64(16 + n * 8 + i * 8, true);
      out[i] = [row, t, d];
    }
  } catch (e) {
    throw new CorruptBlob(key, `row data does not decode (${(e as Error).message})`);
  }
  if (!reader.done) throw new CorruptBlob(key, "trailing bytes after the last row");
  return out;
}

/** The name of a shard's state record at `seqNo` in errors and logs. */
export function stateRecordKey(shardId: string, seqNo: bigint): string {
  return `consensus:${shardId}@${seqNo}`;
}
