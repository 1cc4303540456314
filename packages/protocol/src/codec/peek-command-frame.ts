/**
 * `peekCommandFrameDirect`: the binary `ComputeCommand` of a peek written into one buffer of the
 * exact size, sizes computed first (issue 16: the protobuf-es `BinaryWriter` that
 * `compute/peek-frame.ts` used — `fork`/`join` per sub-message, a chunk list concatenated by
 * `finish` — was ~7 % of environmentd's main thread at 256 API peeks in flight).
 *
 * ## The common case only
 * It writes the peeks environmentd sends: ASCII strings (uuid, ids, replica id), a `bigint`
 * timestamp, integer arity/projection/limit/offset in their wire ranges. For anything else
 * (a non-ASCII string, a value the reference encoder would refuse or coerce) it returns
 * `undefined` and the caller uses the `BinaryWriter` encoder, so the bytes and the errors of every
 * other peek stay exactly the reference encoder's. The plan parts a peek may carry
 * (`mapFilterProject` expressions, `finishing` order keys, literal-constraint rows) are encoded by
 * their schemas as before, and copied in.
 *
 * ## Invariant
 * When it returns bytes, they are exactly `encodeComputeCommand({ kind: "peek", peek })`'s
 * (`control-frames.property.test.ts`, `peek-command-frame.property.test.ts`).
 */
import { toBinary } from "@bufbuild/protobuf";
import type { Peek } from "../compute/command.js";
import { ExprSchema, OrderKeySchema } from "../gen/mz/expr/v1/expr_pb.js";
import { RowSchema } from "../gen/mz/repr/v1/repr_pb.js";
import { rowToProto } from "./datum-codec.js";
import { exprToProto, orderKeyToProto } from "./plan-codec.js";

/** Tags (field number << 3 | wire type) of the fields written here. */
const T_PEEK = (8 << 3) | 2; // ComputeCommand.peek
const T_LEN1 = (1 << 3) | 2; // Peek.uuid, PeekTarget.id, RowList.rows, MFP.exprs, orderBy
const T_LEN2 = (2 << 3) | 2; // PeekTarget.shard_id, MFP.predicates
const T_INDEX = (2 << 3) | 2; // Peek.index
const T_PERSIST = (3 << 3) | 2; // Peek.persist
const T_ARITY = 4 << 3; // Peek.arity (varint)
const T_TIMESTAMP = 5 << 3; // Peek.timestamp (varint)
const T_LITERALS = (6 << 3) | 2;
const T_MFP = (7 << 3) | 2;
const T_PROJECTION = (3 << 3) | 2; // MFP.projection (packed)
const T_FINISHING = (8 << 3) | 2;
const T_LIMIT = 2 << 3; // Finishing.limit (varint)
const T_OFFSET = 3 << 3; // Finishing.offset (varint)
const T_PROJECT = (4 << 3) | 2; // Finishing.project (packed)
const T_REPLICA = (9 << 3) | 2; // Peek.target_replica

const U32_MAX = 0xffffffff;
const U64_MAX = (1n << 64n) - 1n;
const EMPTY: readonly Uint8Array[] = [];

/** Varint size of a uint32 or a safe non-negative integer. */
function varintSize(n: number): number {
  let s = 1;
  while (n >= 128) {
    n = Math.floor(n / 128);
    s++;
  }
  return s;
}

function bigVarintSize(n: bigint): number {
  let s = 1;
  while (n >= 128n) {
    n >>= 7n;
    s++;
  }
  return s;
}

/** Length-delimited field size: tag (1 byte here) + length varint + payload. */
function lenField(payload: number): number {
  return 1 + varintSize(payload) + payload;
}

/** Whether every char of `s` is ASCII (its UTF-8 length is then `s.length`). */
function isAscii(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) >= 0x80) return false;
  return true;
}

function isU32(v: number): boolean {
  return Number.isInteger(v) && v >= 0 && v <= U32_MAX;
}

function allU32(vs: readonly number[]): boolean {
  for (const v of vs) if (!isU32(v)) return false;
  return true;
}

function packedSize(vs: readonly number[]): number {
  let s = 0;
  for (const v of vs) s += varintSize(v);
  return s;
}

function bytesSize(parts: readonly Uint8Array[]): number {
  let s = 0;
  for (const p of parts) s += lenField(p.length);
  return s;
}

/** The write cursor over the frame's one buffer. */
class Out {
  readonly buf: Uint8Array;
  pos = 0;
  constructor(size: number) {
    this.buf = new Uint8Array(size);
  }
  byte(b: number): void {
    this.buf[this.pos++] = b;
  }
  varint(n: number): void {
    const buf = this.buf;
    while (n >= 128) {
      buf[this.pos++] = (n % 128) | 0x80;
      n = Math.floor(n / 128);
    }
    buf[this.pos++] = n;
  }
  bigVarint(n: bigint): void {
    if (n <= BigInt(Number.MAX_SAFE_INTEGER)) {
      this.varint(Number(n));
      return;
    }
    while (n >= 128n) {
      this.buf[this.pos++] = Number(n & 0x7fn) | 0x80;
      n >>= 7n;
    }
    this.buf[this.pos++] = Number(n);
  }
  /** An ASCII string field. */
  ascii(tag: number, s: string): void {
    this.byte(tag);
    this.varint(s.length);
    const buf = this.buf;
    let p = this.pos;
    for (let i = 0; i < s.length; i++) buf[p++] = s.charCodeAt(i);
    this.pos = p;
  }
  bytes(tag: number, b: Uint8Array): void {
    this.byte(tag);
    this.varint(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }
  packed(tag: number, vs: readonly number[], size: number): void {
    if (vs.length === 0) return;
    this.byte(tag);
    this.varint(size);
    for (const v of vs) this.varint(v);
  }
}

/** A `uint64` field's value as the reference encoder takes it, or undefined off the fast path. */
function u64Ok(v: number): boolean {
  return Number.isSafeInteger(v) && v >= 0;
}

/**
 * The bytes of `encodeComputeCommand({ kind: "peek", peek })`, or `undefined` when `peek` is off
 * the common case (see the file comment). @throws InvalidDatum (a literal row's, as the reference)
 */
export function peekCommandFrameDirect(peek: Peek): Uint8Array | undefined {
  const { uuid, target: t, arity, timestamp, targetReplica } = peek;
  const mfp = peek.mapFilterProject;
  const f = peek.finishing;
  if (
    typeof timestamp !== "bigint" ||
    timestamp < 0n ||
    timestamp > U64_MAX ||
    !isU32(arity) ||
    !isAscii(uuid) ||
    !isAscii(t.id) ||
    (t.kind === "persist" && !isAscii(t.shardId)) ||
    (targetReplica !== undefined && !isAscii(targetReplica)) ||
    !allU32(mfp.projection) ||
    !allU32(f.project) ||
    (f.limit !== undefined && !u64Ok(f.limit)) ||
    !u64Ok(f.offset)
  ) {
    return undefined;
  }
  // Sizes, inside out.
  const targetSize =
    (t.id !== "" ? lenField(t.id.length) : 0) +
    (t.kind === "persist" && t.shardId !== "" ? lenField(t.shardId.length) : 0);
  const literals =
    peek.literalConstraints === undefined
      ? undefined
      : peek.literalConstraints.map((row) => toBinary(RowSchema, rowToProto(row)));
  const exprs =
    mfp.exprs.length === 0 ? EMPTY : mfp.exprs.map((e) => toBinary(ExprSchema, exprToProto(e)));
  const predicates =
    mfp.predicates.length === 0
      ? EMPTY
      : mfp.predicates.map((e) => toBinary(ExprSchema, exprToProto(e)));
  const projectionSize = packedSize(mfp.projection);
  const mfpSize =
    bytesSize(exprs) +
    bytesSize(predicates) +
    (mfp.projection.length === 0 ? 0 : lenField(projectionSize));
  const orderBy =
    f.orderBy.length === 0
      ? EMPTY
      : f.orderBy.map((k) => toBinary(OrderKeySchema, orderKeyToProto(k)));
  const projectSize = packedSize(f.project);
  const finishingSize =
    bytesSize(orderBy) +
    (f.limit !== undefined ? 1 + varintSize(f.limit) : 0) +
    (f.offset !== 0 ? 1 + varintSize(f.offset) : 0) +
    (f.project.length === 0 ? 0 : lenField(projectSize));
  const peekSize =
    (uuid !== "" ? lenField(uuid.length) : 0) +
    lenField(targetSize) +
    (arity !== 0 ? 1 + varintSize(arity) : 0) +
    (timestamp !== 0n ? 1 + bigVarintSize(timestamp) : 0) +
    (literals !== undefined ? lenField(bytesSize(literals)) : 0) +
    lenField(mfpSize) +
    lenField(finishingSize) +
    (targetReplica !== undefined ? lenField(targetReplica.length) : 0);

  const out = new Out(lenField(peekSize));
  out.byte(T_PEEK);
  out.varint(peekSize);
  if (uuid !== "") out.ascii(T_LEN1, uuid);
  out.byte(t.kind === "index" ? T_INDEX : T_PERSIST);
  out.varint(targetSize);
  if (t.id !== "") out.ascii(T_LEN1, t.id);
  if (t.kind === "persist" && t.shardId !== "") out.ascii(T_LEN2, t.shardId);
  if (arity !== 0) {
    out.byte(T_ARITY);
    out.varint(arity);
  }
  if (timestamp !== 0n) {
    out.byte(T_TIMESTAMP);
    out.bigVarint(timestamp);
  }
  if (literals !== undefined) {
    out.byte(T_LITERALS);
    out.varint(bytesSize(literals));
    for (const r of literals) out.bytes(T_LEN1, r);
  }
  out.byte(T_MFP);
  out.varint(mfpSize);
  for (const e of exprs) out.bytes(T_LEN1, e);
  for (const e of predicates) out.bytes(T_LEN2, e);
  out.packed(T_PROJECTION, mfp.projection, projectionSize);
  out.byte(T_FINISHING);
  out.varint(finishingSize);
  for (const k of orderBy) out.bytes(T_LEN1, k);
  if (f.limit !== undefined) {
    out.byte(T_LIMIT);
    out.varint(f.limit);
  }
  if (f.offset !== 0) {
    out.byte(T_OFFSET);
    out.varint(f.offset);
  }
  out.packed(T_PROJECT, f.project, projectSize);
  if (targetReplica !== undefined) out.ascii(T_REPLICA, targetReplica);
  return out.buf;
}
