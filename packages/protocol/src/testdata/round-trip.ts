/**
 * Round-trip helpers for the codec property tests: domain → toProto → toBinary → fromBinary →
 * fromProto, and the same through the protobuf JSON form (toJson → JSON text → fromJson).
 * Test-only (excluded from the build).
 */
import {
  type DescMessage,
  fromBinary,
  fromJson,
  type MessageShape,
  toBinary,
  toJson,
} from "@bufbuild/protobuf";

/** A domain ⇄ wire codec pair for one message schema. */
export interface Codec<D, S extends DescMessage> {
  readonly schema: S;
  readonly toProto: (d: D) => MessageShape<S>;
  readonly fromProto: (m: MessageShape<S>) => D;
}

/** `d` through the binary wire form. */
export function viaBinary<D, S extends DescMessage>(c: Codec<D, S>, d: D): D {
  return c.fromProto(fromBinary(c.schema, toBinary(c.schema, c.toProto(d))));
}

/** `d` through the protobuf JSON form, serialised to text and parsed back. */
export function viaJson<D, S extends DescMessage>(c: Codec<D, S>, d: D): D {
  const text = JSON.stringify(toJson(c.schema, c.toProto(d)));
  return c.fromProto(fromJson(c.schema, JSON.parse(text)));
}

/**
 * `v` with every `-0` replaced by `0`: the protobuf JSON form writes typed `Datum` doubles as JSON
 * numbers, which cannot carry the sign of zero (the binary form keeps it). Apply it to commands
 * only: responses carry rows packed in bytes, which keep `-0` in either form.
 */
export function withoutNegativeZero<T>(v: T): T {
  if (typeof v === "number") return (Object.is(v, -0) ? 0 : v) as T;
  if (v === null || typeof v !== "object" || v instanceof Uint8Array) return v;
  if (v instanceof Map) {
    return new Map([...v].map(([k, x]) => [k, withoutNegativeZero(x)])) as T;
  }
  if (Array.isArray(v)) return v.map(withoutNegativeZero) as T;
  return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, withoutNegativeZero(x)])) as T;
}
