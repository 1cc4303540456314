/**
 * The replica's direct read of a framed `peek` command (issue 16: the command path's command).
 * protobuf-es's reflective `fromBinary` walks ~10 nested messages per peek; this reads the bytes
 * of the common shape straight into the **same proto-shaped value** `fromBinary` would give, and
 * hands it to the same `commandFromProtoAt`, so every validation (uuid, ids, arities, columns,
 * limits) and every error is the reflective path's own.
 *
 * ## The shape read directly
 * `ComputeCommand.peek` (field 8) wrapping, in protobuf-es's field order and each at most once:
 * `uuid` (1), an index target (2, `id` = 1), `arity` (4), `timestamp` (5), literal constraints
 * (6) whose datums are null, bool (0/1), int64 or text, a map-filter-project (7) with only a packed
 * `projection` (3), a finishing (8) with `limit` (2), `offset` (3) and a packed `project` (4).
 * Strings must be ASCII. Anything else — a persist target, expressions, predicates, an ordering,
 * a target replica, other datums, fields out of order or repeated, unpacked lists, a length past
 * its message, trailing bytes — returns `undefined`, and the reflective decoder takes the frame.
 * `peek-reader.property.test.ts` checks against the reflective decode, on valid and corrupted
 * frames.
 */

import { ReadCursor } from "./read-cursor.js";

/** What `fromBinary(ComputeCommandSchema, …)` gives for a peek, as plain data. */
export interface PeekCommandShape {
  readonly kind: { readonly case: "peek"; readonly value: unknown };
}

const LD = 2;
const VARINT = 0;
const PEEK = (8 << 3) | LD;

/** A `Datum` payload ending at `end`, or undefined. */
function datum(
  c: ReadCursor,
  end: number,
): { value: { case: string; value: unknown } } | undefined {
  const tag = c.tag();
  let value: { case: string; value: unknown } | undefined;
  if (tag === ((1 << 3) | LD)) {
    if (c.u32() !== 0) return undefined;
    value = { case: "nullValue", value: {} };
  } else if (tag === ((2 << 3) | VARINT)) {
    const v = c.u32();
    if (v !== 0 && v !== 1) return undefined;
    value = { case: "boolValue", value: v === 1 };
  } else if (tag === ((3 << 3) | VARINT)) {
    const v = c.u64();
    if (v === undefined) return undefined;
    value = { case: "int64Value", value: BigInt.asIntN(64, v) };
  } else if (tag === ((6 << 3) | LD)) {
    const s = c.string();
    if (s === undefined) return undefined;
    value = { case: "textValue", value: s };
  } else return undefined;
  return c.pos === end ? { value } : undefined;
}

/** The `LiteralConstraints` payload ending at `end`, or undefined. */
function literalConstraints(c: ReadCursor, end: number): { rows: unknown[] } | undefined {
  const rows: Array<{ datums: unknown[] }> = [];
  while (c.pos < end) {
    if (c.tag() !== ((1 << 3) | LD)) return undefined;
    const rowEnd = c.sub();
    if (rowEnd < 0) return undefined;
    const datums: unknown[] = [];
    while (c.pos < rowEnd) {
      if (c.tag() !== ((1 << 3) | LD)) return undefined;
      const dEnd = c.sub();
      if (dEnd < 0) return undefined;
      const d = datum(c, dEnd);
      if (d === undefined) return undefined;
      datums.push(d);
    }
    rows.push({ datums });
  }
  return { rows };
}

/** The `MapFilterProject` payload ending at `end` (a projection only), or undefined. */
function mapFilterProject(c: ReadCursor, end: number): unknown {
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

/** The `RowSetFinishing` payload ending at `end` (no ordering), or undefined. */
function finishing(c: ReadCursor, end: number): unknown {
  let limit: bigint | undefined;
  let offset = 0n;
  let project: number[] = [];
  let last = 1;
  while (c.pos < end) {
    const tag = c.tag();
    const no = tag >>> 3;
    if (tag < 0 || no <= last) return undefined;
    last = no;
    if (tag === ((2 << 3) | VARINT) || tag === ((3 << 3) | VARINT)) {
      const v = c.u64();
      if (v === undefined) return undefined;
      if (no === 2) limit = v;
      else offset = v;
    } else if (tag === ((4 << 3) | LD)) {
      const p = c.packedU32();
      if (p === undefined) return undefined;
      project = p;
    } else return undefined;
  }
  if (c.pos !== end) return undefined;
  return { orderBy: [], limit, offset, project };
}

/**
 * The framed `ComputeCommand` at `[at, end)` of `b` as `fromBinary` would give it, when it is a
 * peek of the shape above; `undefined` otherwise (the reflective decoder takes it).
 */
export function peekCommandAt(
  b: Uint8Array,
  at: number,
  end: number,
): PeekCommandShape | undefined {
  const c = new ReadCursor(b, at, end);
  if (c.tag() !== PEEK) return undefined;
  const peekEnd = c.sub();
  if (peekEnd !== end) return undefined;
  let uuid = "";
  let target: { case: "index"; value: { id: string } } | { case: undefined } = { case: undefined };
  let arity = 0;
  let timestamp = 0n;
  let constraints: unknown;
  let mfp: unknown;
  let fin: unknown;
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
        let id = "";
        if (c.pos < tEnd) {
          if (c.tag() !== ((1 << 3) | LD)) return undefined;
          const s = c.string();
          if (s === undefined || c.pos !== tEnd) return undefined;
          id = s;
        }
        target = { case: "index", value: { id } };
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
  if (c.pos !== end) return undefined;
  return {
    kind: {
      case: "peek",
      value: {
        uuid,
        target,
        arity,
        timestamp,
        literalConstraints: constraints,
        mapFilterProject: mfp,
        finishing: fin,
        targetReplica: undefined,
      },
    },
  };
}
