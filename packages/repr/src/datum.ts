/**
 * Datums: the values a row holds.
 *
 * | SQL type    | JS representation                                  |
 * |-------------|----------------------------------------------------|
 * | null        | `null`                                             |
 * | boolean     | `true` / `false`                                   |
 * | int64       | `bigint` in [-2^63, 2^63)                          |
 * | float64     | `number`                                           |
 * | numeric     | `Numeric` `{kind:"numeric", unscaled, scale}`      |
 * | text        | `string`                                           |
 * | bytes       | `Uint8Array`                                       |
 * | timestamp   | `TimestampDatum` `{kind:"timestamp", ms}`          |
 * | jsonb       | `Jsonb` `{kind:"jsonb", text}` (canonical JSON)    |
 *
 * The tagged kinds are frozen plain objects, not class instances, so they survive
 * `structuredClone`/`postMessage` and compare structurally. Numerics are kept canonical (no
 * trailing fractional zeros) so equal values have one representation; jsonb keeps canonical text
 * (object keys sorted, no whitespace) for the same reason.
 *
 * Datums are totally ordered: first by type rank (null < boolean < numbers < text < bytes <
 * timestamp < jsonb), then by value. int64, float64 and numeric compare by numeric value with
 * each other (NaN sorts after every number, as in PostgreSQL).
 */
import { InvalidDatum } from "./errors.js";

export interface Numeric {
  readonly kind: "numeric";
  /** The value is `unscaled / 10^scale`. Canonical: `unscaled % 10n !== 0n` unless scale is 0. */
  readonly unscaled: bigint;
  readonly scale: number;
}

export interface TimestampDatum {
  readonly kind: "timestamp";
  /** Milliseconds since the Unix epoch (may be negative for dates before 1970). */
  readonly ms: bigint;
}

export interface Jsonb {
  readonly kind: "jsonb";
  /** Canonical JSON text: keys sorted, no insignificant whitespace. */
  readonly text: string;
}

export type Datum =
  | null
  | boolean
  | bigint
  | number
  | string
  | Uint8Array
  | Numeric
  | TimestampDatum
  | Jsonb;

export type DatumType =
  | "null"
  | "boolean"
  | "int64"
  | "float64"
  | "numeric"
  | "text"
  | "bytes"
  | "timestamp"
  | "jsonb";

const INT64_MIN = -(1n << 63n);
const INT64_MAX = (1n << 63n) - 1n;
/** Largest scale a numeric may carry (PostgreSQL allows 16383; we keep it small and exact). */
export const NUMERIC_MAX_SCALE = 39;

export const Datum = {
  /** The SQL type of a datum. @throws InvalidDatum for a value that is not a datum. */
  typeOf(d: Datum): DatumType {
    if (d === null) return "null";
    switch (typeof d) {
      case "boolean":
        return "boolean";
      case "bigint":
        if (d < INT64_MIN || d > INT64_MAX) throw new InvalidDatum(d, "out of int64 range");
        return "int64";
      case "number":
        return "float64";
      case "string":
        if (!d.isWellFormed()) throw new InvalidDatum(d, "text with a lone UTF-16 surrogate");
        return "text";
      case "object":
        if (d instanceof Uint8Array) return "bytes";
        if (d.kind === "numeric" || d.kind === "timestamp" || d.kind === "jsonb") return d.kind;
    }
    throw new InvalidDatum(d, "not a datum (see @mzts/repr datum.ts for the representations)");
  },

  /** An int64 datum. @throws InvalidDatum when out of the int64 range. */
  int64(v: bigint | number): bigint {
    const b = typeof v === "number" ? BigInt(checkInteger(v)) : v;
    if (b < INT64_MIN || b > INT64_MAX) throw new InvalidDatum(b, "out of int64 range");
    return b;
  },

  /** A numeric datum from a decimal string such as "-12.340" or a bigint/number. */
  numeric(v: string | bigint | number): Numeric {
    if (typeof v === "bigint") return makeNumeric(v, 0);
    if (typeof v === "number") {
      if (!Number.isFinite(v)) throw new InvalidDatum(v, "numeric must be finite");
      return Datum.numeric(String(v));
    }
    const m = /^([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/.exec(v.trim());
    if (!m || (m[2] === "" && (m[3] ?? "") === "")) {
      throw new InvalidDatum(v, "not a decimal number (expected digits with an optional point)");
    }
    const frac = m[3] ?? "";
    let unscaled = BigInt(`${m[1] === "-" ? "-" : ""}${m[2] || "0"}${frac}`);
    let scale = frac.length - Number(m[4] ?? 0);
    if (scale < 0) {
      unscaled *= 10n ** BigInt(-scale);
      scale = 0;
    }
    return makeNumeric(unscaled, scale);
  },

  /** A numeric from its parts, canonicalised. */
  numericFromParts(unscaled: bigint, scale: number): Numeric {
    return makeNumeric(unscaled, scale);
  },

  /** A timestamp datum. */
  timestamp(ms: bigint | number | Date): TimestampDatum {
    const v =
      ms instanceof Date
        ? BigInt(ms.getTime())
        : typeof ms === "number"
          ? BigInt(checkInteger(ms))
          : ms;
    if (v < INT64_MIN || v > INT64_MAX)
      throw new InvalidDatum(v, "timestamp out of the int64 range");
    return Object.freeze({ kind: "timestamp", ms: v });
  },

  /** A jsonb datum from a JS value (a JS string becomes a JSON string). */
  jsonb(value: unknown): Jsonb {
    return Object.freeze({ kind: "jsonb", text: canonicalJson(value) });
  },

  /** A jsonb datum from JSON text, canonicalised. @throws InvalidDatum on invalid JSON. */
  jsonbFromText(text: string): Jsonb {
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (e) {
      throw new InvalidDatum(text, `not valid JSON (${(e as Error).message})`);
    }
    return Datum.jsonb(value);
  },

  /** Total order over datums (see the file doc). Returns <0, 0 or >0. */
  compare(a: Datum, b: Datum): number {
    return compareDatums(a, b);
  },

  /** Structural equality. */
  equal(a: Datum, b: Datum): boolean {
    return compareDatums(a, b) === 0;
  },

  /** A numeric's decimal text, e.g. "-12.34". */
  numericToString(n: Numeric): string {
    return numericToString(n);
  },

  /** A human-readable rendering (used by peeks' text output and logs). */
  format(d: Datum): string {
    if (d === null) return "NULL";
    switch (typeof d) {
      case "boolean":
      case "bigint":
      case "number":
        return String(d);
      case "string":
        return d;
    }
    if (d instanceof Uint8Array) return `\\x${Buffer.from(d).toString("hex")}`;
    switch (d.kind) {
      case "numeric":
        return numericToString(d);
      case "timestamp":
        return new Date(Number(d.ms)).toISOString();
      case "jsonb":
        return d.text;
    }
  },
} as const;

function checkInteger(v: number): number {
  if (!Number.isSafeInteger(v)) throw new InvalidDatum(v, "not a safe integer");
  return v;
}

function makeNumeric(unscaled: bigint, scale: number): Numeric {
  if (!Number.isInteger(scale) || scale < 0)
    throw new InvalidDatum(scale, "numeric scale must be a non-negative integer");
  while (scale > 0 && unscaled % 10n === 0n) {
    unscaled /= 10n;
    scale--;
  }
  if (scale > NUMERIC_MAX_SCALE)
    throw new InvalidDatum(scale, `numeric scale above ${NUMERIC_MAX_SCALE}`);
  return Object.freeze({ kind: "numeric", unscaled, scale });
}

function numericToString(n: Numeric): string {
  const neg = n.unscaled < 0n;
  const digits = (neg ? -n.unscaled : n.unscaled).toString();
  if (n.scale === 0) return (neg ? "-" : "") + digits;
  const padded = digits.padStart(n.scale + 1, "0");
  const cut = padded.length - n.scale;
  return `${neg ? "-" : ""}${padded.slice(0, cut)}.${padded.slice(cut)}`;
}

/** Canonical JSON: object keys sorted; rejects values JSON cannot hold. */
export function canonicalJson(v: unknown): string {
  if (v === null) return "null";
  switch (typeof v) {
    case "boolean":
      return v ? "true" : "false";
    case "number":
      if (!Number.isFinite(v)) throw new InvalidDatum(v, "JSON numbers must be finite");
      return JSON.stringify(v);
    case "string":
      return JSON.stringify(v);
    case "object": {
      if (Array.isArray(v)) return `[${v.map(canonicalJson).join(",")}]`;
      const o = v as Record<string, unknown>;
      const keys = Object.keys(o)
        .filter((k) => o[k] !== undefined)
        .sort();
      return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(o[k])}`).join(",")}}`;
    }
    default:
      throw new InvalidDatum(v, `a ${typeof v} cannot be stored in jsonb`);
  }
}

const RANK: Record<DatumType, number> = {
  null: 0,
  boolean: 1,
  int64: 2,
  float64: 2,
  numeric: 2,
  text: 3,
  bytes: 4,
  timestamp: 5,
  jsonb: 6,
};

function compareDatums(a: Datum, b: Datum): number {
  // Fast paths for the common same-type cases.
  const ta = typeof a;
  if (ta === typeof b) {
    if (ta === "bigint" || ta === "string") return a! < b! ? -1 : a! > b! ? 1 : 0;
    if (ta === "number") return compareFloats(a as number, b as number);
    if (ta === "boolean") return a === b ? 0 : a ? 1 : -1;
  }
  const ka = Datum.typeOf(a);
  const kb = Datum.typeOf(b);
  const ra = RANK[ka];
  const rb = RANK[kb];
  if (ra !== rb) return ra - rb;
  switch (ra) {
    case 0:
      return 0;
    case 2:
      return compareNumbers(a as bigint | number | Numeric, b as bigint | number | Numeric);
    case 4:
      return compareBytes(a as Uint8Array, b as Uint8Array);
    case 5: {
      const x = (a as TimestampDatum).ms;
      const y = (b as TimestampDatum).ms;
      return x < y ? -1 : x > y ? 1 : 0;
    }
    case 6: {
      const x = (a as Jsonb).text;
      const y = (b as Jsonb).text;
      return x < y ? -1 : x > y ? 1 : 0;
    }
  }
  return 0;
}

function compareFloats(a: number, b: number): number {
  if (Number.isNaN(a)) return Number.isNaN(b) ? 0 : 1;
  if (Number.isNaN(b)) return -1;
  return a < b ? -1 : a > b ? 1 : 0;
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const d = a[i]! - b[i]!;
    if (d !== 0) return d;
  }
  return a.length - b.length;
}

/** Compares int64 / float64 / numeric by value; exact for int64 and numeric. */
function compareNumbers(a: bigint | number | Numeric, b: bigint | number | Numeric): number {
  if (typeof a === "number" || typeof b === "number") {
    const x = typeof a === "number" ? a : toFloat(a);
    const y = typeof b === "number" ? b : toFloat(b);
    const c = compareFloats(x, y);
    if (c !== 0 || typeof a === typeof b) return c;
    // Equal as floats but different types: order by type so the order stays total and antisymmetric.
    return typeof a === "number" ? 1 : -1;
  }
  const [ua, sa] = typeof a === "bigint" ? [a, 0] : [a.unscaled, a.scale];
  const [ub, sb] = typeof b === "bigint" ? [b, 0] : [b.unscaled, b.scale];
  const s = Math.max(sa, sb);
  const x = ua * 10n ** BigInt(s - sa);
  const y = ub * 10n ** BigInt(s - sb);
  if (x !== y) return x < y ? -1 : 1;
  // Same value: int64 before numeric, for a total order.
  if (typeof a === typeof b) return 0;
  return typeof a === "bigint" ? -1 : 1;
}

function toFloat(v: bigint | Numeric): number {
  return typeof v === "bigint" ? Number(v) : Number(numericToString(v));
}
