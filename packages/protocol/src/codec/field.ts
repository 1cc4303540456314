/**
 * Field-level decode helpers shared by every codec: required fields, ids, UUIDs, integer ranges
 * and string maps. Each throws `FieldError(path, reason)`; the top-level `fromProto` functions
 * turn it into `MalformedCommand`/`MalformedResponse`.
 *
 * Paths use protobuf JSON field names joined by `.`, with `[i]` for list elements, so that an
 * error points at the field as it reads in the JSON form of the message.
 */
import { GlobalId, ReplicaId } from "@mzts/repr";
import { FieldError } from "../errors.js";

/** Throws `FieldError(path, reason)`. */
export function fail(path: string, reason: string): never {
  throw new FieldError(path, reason);
}

/** Returns a required message field or fails naming it. */
export function required<T>(v: T | undefined, path: string): T {
  if (v === undefined) fail(path, "is unset; this field is required");
  return v;
}

/** A GlobalId (`u<n>`, `s<n>` or `t<n>`). */
export function decodeGlobalId(v: string, path: string): GlobalId {
  if (!GlobalId.is(v))
    fail(path, `${JSON.stringify(v)} is not a GlobalId (expected u<n>, s<n> or t<n>)`);
  return v;
}

/** A ReplicaId (`u<n>` or `s<n>`). */
export function decodeReplicaId(v: string, path: string): ReplicaId {
  if (!ReplicaId.is(v))
    fail(path, `${JSON.stringify(v)} is not a ReplicaId (expected u<n> or s<n>)`);
  return v;
}

/**
 * True for a lowercase canonical UUID (what `crypto.randomUUID()` returns): 8-4-4-4-12 lowercase
 * hex digits. A loop over char codes, not a RegExp: every peek's uuid is checked on the replica's
 * main thread, and the RegExp cost ~1 µs a peek there (issue 16; `field.test.ts` pins it to
 * `/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/`).
 */
export function isUuid(v: string): boolean {
  if (typeof v !== "string" || v.length !== 36) return false;
  for (let i = 0; i < 36; i++) {
    const c = v.charCodeAt(i);
    if (i === 8 || i === 13 || i === 18 || i === 23) {
      if (c !== 0x2d) return false;
    } else if (!((c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x66))) return false;
  }
  return true;
}

/** A lowercase canonical UUID. */
export function decodeUuid(v: string, path: string): string {
  if (!isUuid(v)) {
    fail(path, `${JSON.stringify(v)} is not a UUID (expected lowercase 8-4-4-4-12 hex)`);
  }
  return v;
}

/** A non-empty string (shard ids, messages, versions). */
export function nonEmpty(v: string, path: string): string {
  if (v === "") fail(path, "is empty; a non-empty string is required");
  return v;
}

/**
 * Persist's shard id rule (`@mzts/persist` `client.ts` `SHARD_ID`; a test keeps the two equal):
 * 1-128 characters from [A-Za-z0-9._-], not starting with a dot.
 */
export const SHARD_ID = /^[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}$/;

/** A shard id persist can store (checked here, so a bad one never reaches a worker). */
export function decodeShardId(v: string, path: string): string {
  if (!SHARD_ID.test(nonEmpty(v, path))) {
    fail(
      path,
      `${JSON.stringify(v.length > 64 ? `${v.slice(0, 64)}…` : v)} is not a shard id ` +
        "(1-128 characters from [A-Za-z0-9._-], not starting with a dot)",
    );
  }
  return v;
}

/** A u64 that must fit a JS safe integer (counts, limits, offsets). */
/** The safe-integer bounds as bigints (made once: every peek's offset and limit is checked). */
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);
const MIN_SAFE = BigInt(Number.MIN_SAFE_INTEGER);

export function safeU64(v: bigint, path: string): number {
  if (v > MAX_SAFE) fail(path, `${v} exceeds 2^53 - 1`);
  return Number(v);
}

/** An int64 that must fit a JS safe integer (diffs). */
export function safeI64(v: bigint, path: string): number {
  if (v > MAX_SAFE || v < MIN_SAFE) {
    fail(path, `${v} is outside the safe integer range ±(2^53 - 1)`);
  }
  return Number(v);
}

/** A protobuf map<string,string> as a ReadonlyMap (entries in wire order). */
export function decodeStringMap(m: { [key: string]: string }): ReadonlyMap<string, string> {
  return new Map(Object.entries(m));
}

/** A ReadonlyMap as a protobuf map<string,string>. */
export function encodeStringMap(m: ReadonlyMap<string, string>): { [key: string]: string } {
  return Object.fromEntries(m);
}

/** Fails on the first id that occurs twice. */
export function checkUnique(
  ids: readonly string[],
  path: (i: number) => string,
  what: string,
): void {
  const seen = new Set<string>();
  ids.forEach((id, i) => {
    if (seen.has(id)) fail(path(i), `duplicate ${what} ${id}`);
    seen.add(id);
  });
}

/** The camelCase name of a protobuf enum value's kind, or fails on UNSPECIFIED/unknown. */
export function decodeEnum<E extends number, D extends string>(
  v: E,
  table: ReadonlyMap<E, D>,
  path: string,
  what: string,
): D {
  const d = table.get(v);
  if (d === undefined) {
    fail(path, v === 0 ? `${what} is unspecified; set one` : `unknown ${what} ${v}`);
  }
  return d;
}

/** Builds the reverse of a domain → wire enum table. */
export function reverse<D extends string, E extends number>(
  t: Readonly<Record<D, E>>,
): ReadonlyMap<E, D> {
  return new Map(Object.entries(t).map(([d, e]) => [e as E, d as D]));
}
