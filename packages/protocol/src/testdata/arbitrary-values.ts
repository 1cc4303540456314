/**
 * fast-check arbitraries: scalars and ids, datums (with edge values) and rows, and the hello and
 * command errors every stream carries. Part of `./arbitraries` (see `arbitraries.ts`).
 */
import {
  Datum,
  type Frontier,
  type GlobalId,
  NUMERIC_MAX_SCALE,
  type Row,
  type Timestamp,
} from "@mzts/repr";
import fc from "fast-check";
import type { CommandError } from "../cluster/command-error.js";
import { ERROR_CODES } from "../cluster/command-error.js";
import type { Hello } from "../cluster/hello.js";

export const U64_MAX = (1n << 64n) - 1n;
export const I64_MIN = -(1n << 63n);
export const I64_MAX = (1n << 63n) - 1n;

// ---------------------------------------------------------------------------------------------
// Scalars and ids

export const u64 = fc.oneof(
  fc.constantFrom(0n, 1n, U64_MAX, U64_MAX - 1n, 1n << 63n),
  fc.bigInt({ min: 0n, max: U64_MAX }),
);
export const timestamp: fc.Arbitrary<Timestamp> = u64;
export const frontier: fc.Arbitrary<Frontier> = fc.option(timestamp, { nil: null, freq: 4 });
export const globalId: fc.Arbitrary<GlobalId> = fc
  .tuple(
    fc.constantFrom("u", "s", "t"),
    fc.oneof(fc.nat(), fc.constant(9_999_999_999_999_999_999n)),
  )
  .map(([p, n]) => `${p}${n}`);
export const replicaId = fc.tuple(fc.constantFrom("u", "s"), fc.nat()).map(([p, n]) => `${p}${n}`);
export const uuid = fc.uuid().map((u) => u.toLowerCase());
/** Shard ids persist accepts (`SHARD_ID`); the codecs refuse any other. */
export const shardId = fc.oneof(
  uuid.map((u) => `s${u}`),
  fc.stringMatching(/^[A-Za-z0-9_-][A-Za-z0-9._-]{0,40}$/),
);
/** Well-formed Unicode (no lone surrogates, which UTF-8 cannot carry), including "". */
export const text = fc.oneof(
  fc.constantFrom("", "é", "日本語", "👩‍👩‍👧", "\u0000", "a\nb"),
  fc.string({ unit: "binary", maxLength: 20 }),
);
/** Map keys that are safe as protobuf-es map object keys (never `__proto__`). */
export const mapKey = fc.stringMatching(/^[a-z][a-z0-9_.]{0,11}$/);
export const stringMap = fc
  .array(fc.tuple(mapKey, text), { maxLength: 4 })
  .map((entries) => new Map(entries));
export const safeCount = fc.oneof(
  fc.integer({ min: 1, max: 5 }),
  fc.constant(Number.MAX_SAFE_INTEGER),
  fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }),
);
export const safeDiff = fc.oneof(
  fc.integer({ min: -5, max: 5 }),
  fc.constantFrom(Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER),
  fc.integer({ min: Number.MIN_SAFE_INTEGER, max: Number.MAX_SAFE_INTEGER }),
);
export const nonZeroDiff = safeDiff.filter((d) => d !== 0);

// ---------------------------------------------------------------------------------------------
// Datums and rows

export const int64 = fc.oneof(
  fc.constantFrom(I64_MIN, I64_MAX, 0n, -1n, 1n, 1n << 52n, -(1n << 52n)),
  fc.bigInt({ min: I64_MIN, max: I64_MAX }),
);

export const datum: fc.Arbitrary<Datum> = fc.oneof(
  fc.constant(null),
  fc.boolean(),
  int64,
  fc.oneof(
    fc.constantFrom(-0, 0, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY),
    fc.constantFrom(Number.MIN_VALUE, Number.MAX_VALUE, -Number.MAX_VALUE, 0.1),
    fc.double(),
  ),
  fc
    .tuple(
      fc.oneof(fc.bigInt({ min: -(10n ** 60n), max: 10n ** 60n }), fc.constant(10n ** 70n + 1n)),
      fc.integer({ min: 0, max: NUMERIC_MAX_SCALE }),
    )
    .map(([u, s]) => Datum.numericFromParts(u, s)),
  text,
  fc.uint8Array({ maxLength: 12 }),
  int64.map((ms) => Datum.timestamp(ms)),
  fc.jsonValue({ maxDepth: 2 }).map((v) => Datum.jsonb(v)),
);

/** A row of exactly `arity` datums. */
export function row(arity: number): fc.Arbitrary<Row> {
  return fc.array(datum, { minLength: arity, maxLength: arity });
}

/** Any row (arity 0–4). */
export const anyRow = fc.integer({ min: 0, max: 4 }).chain(row);

// ---------------------------------------------------------------------------------------------
// Hello, errors

export const hello: fc.Arbitrary<Hello> = fc.record({
  nonce: uuid,
  generation: u64,
  protocolVersion: fc.integer({ min: 1, max: 0xffff_ffff }),
  buildVersion: fc.string({ minLength: 1, unit: "binary" }),
});

export function commandError(kinds: readonly string[]): fc.Arbitrary<CommandError> {
  return fc.record({
    objectId: fc.oneof(globalId, uuid, fc.constant("")),
    command: fc.constantFrom(...kinds),
    code: fc.constantFrom(...ERROR_CODES),
    message: fc.string({ minLength: 1, unit: "binary" }),
  });
}
