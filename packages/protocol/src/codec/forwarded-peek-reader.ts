/**
 * A worker thread's read of a forwarded peek frame straight into the domain `Peek` (issue 16:
 * worker GC). `peek-reader.ts` reads the same bytes into the proto-shaped value the main thread
 * validates (`peekFromProto`); a worker repeats no validation (`forwarded-commands.ts`), so the
 * proto-shaped value — ~15 objects per peek (a wrapper per datum and message, a bigint per
 * limit/offset) that died at once — was only an intermediate: this reader builds the domain value
 * directly, one object per domain field.
 *
 * ## Rules
 * - It accepts exactly the shape `peekCommandAt` accepts (the same checks in the same order), and
 *   gives what `peekFromShape(peekCommandAt(…))` gave: the main thread's decode of the frame
 *   (`forwarded-commands.property.test.ts`, `forwarded-peek-reader.property.test.ts`).
 * - A frame `peekCommandAt` accepts but the main thread refuses (no target, map-filter-project
 *   or finishing) is never forwarded; this reader returns `undefined` for it (the worker fails
 *   loudly, as for any frame it cannot read).
 * - Codec-free (no protobuf-es): imported by worker threads through `@mzts/protocol/domain`.
 */
import type { Datum, Row } from "@mzts/repr";
import type { Peek, RowSetFinishing } from "../compute/command.js";
import { ReadCursor } from "./read-cursor.js";

const LD = 2;
const VARINT = 0;
const PEEK = (8 << 3) | LD;
/** A datum that does not fit the shape (distinct from every datum, `null` included). */
const BAD: unique symbol = Symbol("bad datum");

/** A `Datum` payload ending at `end`, or `BAD`. */
function datum(c: ReadCursor, end: number): Datum | typeof BAD {
  const tag = c.tag();
  let value: Datum;
  if (tag === ((1 << 3) | LD)) {
    if (c.u32() !== 0) return BAD;
    value = null;
  } else if (tag === ((2 << 3) | VARINT)) {
    const v = c.u32();
    if (v !== 0 && v !== 1) return BAD;
    value = v === 1;
  } else if (tag === ((3 << 3) | VARINT)) {
    const v = c.u64();
    if (v === undefined) return BAD;
    value = BigInt.asIntN(64, v);
  } else if (tag === ((6 << 3) | LD)) {
    const s = c.string();
    if (s === undefined) return BAD;
    value = s;
  } else return BAD;
  return c.pos === end ? value : BAD;
}

/** The `LiteralConstraints` payload ending at `end`, as key rows, or undefined. */
function literalConstraints(c: ReadCursor, end: number): Row[] | undefined {
  const rows: Row[] = [];
  while (c.pos < end) {
    if (c.tag() !== ((1 << 3) | LD)) return undefined;
    const rowEnd = c.sub();
    if (rowEnd < 0) return undefined;
    const row: Datum[] = [];
    while (c.pos < rowEnd) {
      if (c.tag() !== ((1 << 3) | LD)) return undefined;
      const dEnd = c.sub();
      if (dEnd < 0) return undefined;
      const d = datum(c, dEnd);
      if (d === BAD) return undefined;
      row.push(d);
    }
    rows.push(row);
  }
  return rows;
}

/** The `MapFilterProject` payload ending at `end` (a projection only), or undefined. */
function mapFilterProject(c: ReadCursor, end: number): Peek["mapFilterProject"] | undefined {
  let projection: number[] = [];
  if (c.pos < end) {
    if (c.tag() !== ((3 << 3) | LD)) return undefined;
    const p = c.packedU32();
    if (p === undefined) return undefined;
    projection = p;
  }
  if (c.pos !== end) return undefined;
  return { exprs: [], predicates: [], projection };
}

/**
 * A `uint64` varint as the number `Number(bigint)` gives (`finishingFromProto`'s conversion):
 * below 2^53 read as a number, no bigint; else through the bigint. -1 when it does not fit.
 */
function u64Number(c: ReadCursor): number {
  const at = c.pos;
  const small = c.u53();
  if (small >= 0) return small;
  c.pos = at;
  const v = c.u64();
  return v === undefined ? -1 : Number(v);
}

/** The `RowSetFinishing` payload ending at `end` (no ordering), or undefined. */
function finishing(c: ReadCursor, end: number): RowSetFinishing | undefined {
  let limit = -1;
  let offset = 0;
  let project: number[] = [];
  let last = 1;
  while (c.pos < end) {
    const tag = c.tag();
    const no = tag >>> 3;
    if (tag < 0 || no <= last) return undefined;
    last = no;
    if (tag === ((2 << 3) | VARINT) || tag === ((3 << 3) | VARINT)) {
      const v = u64Number(c);
      if (v < 0) return undefined;
      if (no === 2) limit = v;
      else offset = v;
    } else if (tag === ((4 << 3) | LD)) {
      const p = c.packedU32();
      if (p === undefined) return undefined;
      project = p;
    } else return undefined;
  }
  if (c.pos !== end) return undefined;
  return limit < 0 ? { orderBy: [], offset, project } : { orderBy: [], offset, project, limit };
}

/**
 * The domain peek of the framed `ComputeCommand` at `[at, end)` of `b`, when it is a peek of the
 * shape `peekCommandAt` reads with a target, a map-filter-project and a finishing; else undefined.
 */
export function forwardedPeekAt(b: Uint8Array, at: number, end: number): Peek | undefined {
  const c = new ReadCursor(b, at, end);
  if (c.tag() !== PEEK) return undefined;
  const peekEnd = c.sub();
  if (peekEnd !== end) return undefined;
  let uuid = "";
  let id: string | undefined;
  let arity = 0;
  let timestamp = 0n;
  let constraints: Row[] | undefined;
  let mfp: Peek["mapFilterProject"] | undefined;
  let fin: RowSetFinishing | undefined;
  let last = 0;
  while (c.pos < end) {
    const tag = c.tag();
    const no = tag >>> 3;
    if (tag < 0 || no <= last) return undefined;
    last = no;
    switch (tag) {
      case (1 << 3) | LD: {
        const s = c.string();
        if (s === undefined) return undefined;
        uuid = s;
        break;
      }
      case (2 << 3) | LD: {
        const tEnd = c.sub();
        if (tEnd < 0) return undefined;
        id = "";
        if (c.pos < tEnd) {
          if (c.tag() !== ((1 << 3) | LD)) return undefined;
          const s = c.string();
          if (s === undefined || c.pos !== tEnd) return undefined;
          id = s;
        }
        break;
      }
      case (4 << 3) | VARINT: {
        const v = c.u32();
        if (v < 0) return undefined;
        arity = v;
        break;
      }
      case (5 << 3) | VARINT: {
        const v = c.u64();
        if (v === undefined) return undefined;
        timestamp = v;
        break;
      }
      case (6 << 3) | LD: {
        const e = c.sub();
        if (e < 0) return undefined;
        constraints = literalConstraints(c, e);
        if (constraints === undefined) return undefined;
        break;
      }
      case (7 << 3) | LD: {
        const e = c.sub();
        if (e < 0) return undefined;
        mfp = mapFilterProject(c, e);
        if (mfp === undefined) return undefined;
        break;
      }
      case (8 << 3) | LD: {
        const e = c.sub();
        if (e < 0) return undefined;
        fin = finishing(c, e);
        if (fin === undefined) return undefined;
        break;
      }
      default:
        return undefined;
    }
  }
  if (c.pos !== end || id === undefined || mfp === undefined || fin === undefined) return undefined;
  const target = { kind: "index", id } as const;
  return constraints === undefined
    ? { uuid, target, arity, timestamp, mapFilterProject: mfp, finishing: fin }
    : {
        uuid,
        target,
        arity,
        timestamp,
        literalConstraints: constraints,
        mapFilterProject: mfp,
        finishing: fin,
      };
}
