/**
 * Scalar functions of the expression language, on non-null arguments.
 *
 * `compile.ts` handles nulls, three-valued logic and laziness, then calls these. Each function
 * throws `EvaluationError` for an argument it cannot handle; the operator turns that into an error row.
 *
 * ## Semantics (decisions documented here and in the README)
 * - int64 (`bigint`) arithmetic is checked: a result outside `[-2^63, 2^63)` is `out_of_range`.
 * - Division and modulo by zero are an error (`division_by_zero`) for int64, float64 and numeric,
 *   as in PostgreSQL and Materialize. int64 division truncates toward zero; `mod` takes the sign
 *   of the dividend.
 * - Mixed numeric types promote: int64 with numeric → numeric, anything with float64 → float64.
 * - numeric division keeps `max(scale(a), scale(b), 16)` fractional digits (at most 39), rounded
 *   half away from zero; a result needing more than 39 fractional digits is `out_of_range`.
 * - Comparisons use `@mzts/repr`'s total order, except that numbers of different types compare by
 *   value (`1 = 1.0` is true). NaN equals NaN and sorts above every number (PostgreSQL).
 * - Casts: float64 → int64 rounds half to even (PostgreSQL `rint`); numeric → int64 rounds half
 *   away from zero; text → number parses after trimming, `invalid_input` otherwise.
 * - A wrong argument type (e.g. `not 3`, `lower(1)`) is `type_mismatch`: plans are not typed
 *   here, so the check happens at run time.
 */

import type { BinaryOp, UnaryOp } from "@mzts/expr";
import { Datum, NUMERIC_MAX_SCALE, type Numeric } from "@mzts/repr";
import { EvaluationError } from "../errors.js";

const INT64_MIN = -(1n << 63n);
const INT64_MAX = (1n << 63n) - 1n;
const NUMERIC_DIV_MIN_SCALE = 16;

/** Checks an int64 result. @throws EvaluationError out_of_range */
export function checkInt64(v: bigint, what: string): bigint {
  if (v < INT64_MIN || v > INT64_MAX)
    throw new EvaluationError("out_of_range", `int64 out of range in ${what}`);
  return v;
}

function typeMismatch(fn: string, ...args: Datum[]): EvaluationError {
  return new EvaluationError(
    "type_mismatch",
    `${fn} does not accept ${args.map((a) => Datum.typeOf(a)).join(", ")}`,
  );
}

function isNumeric(d: Datum): d is Numeric {
  return typeof d === "object" && d !== null && !(d instanceof Uint8Array) && d.kind === "numeric";
}

/** 0 int64, 1 numeric, 2 float64, -1 not a number. */
function numRank(d: Datum): number {
  switch (typeof d) {
    case "bigint":
      return 0;
    case "number":
      return 2;
    case "object":
      return isNumeric(d) ? 1 : -1;
    default:
      return -1;
  }
}

/** A number datum as float64. */
export function toFloat(d: bigint | number | Numeric): number {
  if (typeof d === "number") return d;
  if (typeof d === "bigint") return Number(d);
  return Number(Datum.numericToString(d));
}

function toNumeric(d: bigint | Numeric): Numeric {
  return typeof d === "bigint" ? Datum.numericFromParts(d, 0) : d;
}

/** A numeric from parts. @throws EvaluationError out_of_range when the scale is too large. */
export function makeNumeric(unscaled: bigint, scale: number): Numeric {
  // Strip trailing zeros first so the scale check applies to the canonical value.
  while (scale > 0 && unscaled % 10n === 0n) {
    unscaled /= 10n;
    scale--;
  }
  if (scale > NUMERIC_MAX_SCALE) {
    throw new EvaluationError(
      "out_of_range",
      `numeric result needs more than ${NUMERIC_MAX_SCALE} fractional digits`,
    );
  }
  return Datum.numericFromParts(unscaled, scale);
}

function pow10(n: number): bigint {
  return 10n ** BigInt(n);
}

/** Both numerics as unscaled values at a common scale. */
function align(a: Numeric, b: Numeric): [bigint, bigint, number] {
  const s = Math.max(a.scale, b.scale);
  return [a.unscaled * pow10(s - a.scale), b.unscaled * pow10(s - b.scale), s];
}

/** `n / d` rounded half away from zero (d !== 0). */
function divRound(n: bigint, d: bigint): bigint {
  let q = n / d;
  const r = n % d;
  const twice = (r < 0n ? -r : r) * 2n;
  if (twice >= (d < 0n ? -d : d)) q += n < 0n !== d < 0n ? -1n : 1n;
  return q;
}

/** Arithmetic on two non-null datums. */
export function arith(op: "add" | "sub" | "mul" | "div" | "mod", a: Datum, b: Datum): Datum {
  if (typeof a === "bigint" && typeof b === "bigint") return intArith(op, a, b);
  const ra = numRank(a);
  const rb = numRank(b);
  if (ra < 0 || rb < 0) throw typeMismatch(op, a, b);
  const x = a as bigint | number | Numeric;
  const y = b as bigint | number | Numeric;
  if (ra === 2 || rb === 2) return floatArith(op, toFloat(x), toFloat(y));
  return numericArith(op, toNumeric(x as bigint | Numeric), toNumeric(y as bigint | Numeric));
}

function intArith(op: string, a: bigint, b: bigint): bigint {
  switch (op) {
    case "add":
      return checkInt64(a + b, "add");
    case "sub":
      return checkInt64(a - b, "sub");
    case "mul":
      return checkInt64(a * b, "mul");
    case "div":
      if (b === 0n) throw new EvaluationError("division_by_zero", "division by zero");
      return checkInt64(a / b, "div");
    default:
      if (b === 0n) throw new EvaluationError("division_by_zero", "division by zero");
      return a % b;
  }
}

function floatArith(op: string, a: number, b: number): number {
  switch (op) {
    case "add":
      return a + b;
    case "sub":
      return a - b;
    case "mul":
      return a * b;
    case "div":
      if (b === 0) throw new EvaluationError("division_by_zero", "division by zero");
      return a / b;
    default:
      if (b === 0) throw new EvaluationError("division_by_zero", "division by zero");
      return a % b;
  }
}

function numericArith(op: string, a: Numeric, b: Numeric): Numeric {
  switch (op) {
    case "add": {
      const [x, y, s] = align(a, b);
      return makeNumeric(x + y, s);
    }
    case "sub": {
      const [x, y, s] = align(a, b);
      return makeNumeric(x - y, s);
    }
    case "mul":
      return makeNumeric(a.unscaled * b.unscaled, a.scale + b.scale);
    case "div": {
      if (b.unscaled === 0n) throw new EvaluationError("division_by_zero", "division by zero");
      const s = Math.min(NUMERIC_MAX_SCALE, Math.max(a.scale, b.scale, NUMERIC_DIV_MIN_SCALE));
      // a/b = (ua / 10^sa) / (ub / 10^sb); unscaled result at scale s.
      const num = a.unscaled * pow10(b.scale + s);
      const den = b.unscaled * pow10(a.scale);
      return makeNumeric(divRound(num, den), s);
    }
    default: {
      if (b.unscaled === 0n) throw new EvaluationError("division_by_zero", "division by zero");
      const [x, y, s] = align(a, b);
      return makeNumeric(x % y, s);
    }
  }
}

/**
 * Compares two non-null datums: by value across number types, else `@mzts/repr`'s total order.
 */
export function compareValues(a: Datum, b: Datum): number {
  const ta = typeof a;
  if (ta === typeof b && ta !== "object") return Datum.compare(a, b);
  const ra = numRank(a);
  const rb = numRank(b);
  if (ra >= 0 && rb >= 0 && ra !== rb) {
    const x = a as bigint | number | Numeric;
    const y = b as bigint | number | Numeric;
    if (ra === 2 || rb === 2) {
      const fx = toFloat(x);
      const fy = toFloat(y);
      if (Number.isNaN(fx)) return Number.isNaN(fy) ? 0 : 1;
      if (Number.isNaN(fy)) return -1;
      return fx < fy ? -1 : fx > fy ? 1 : 0;
    }
    const [u, v] = align(toNumeric(x as bigint | Numeric), toNumeric(y as bigint | Numeric));
    return u < v ? -1 : u > v ? 1 : 0;
  }
  return Datum.compare(a, b);
}

/** A comparison on two non-null datums. */
export function compare(
  op: "eq" | "neq" | "lt" | "lte" | "gt" | "gte",
  a: Datum,
  b: Datum,
): boolean {
  const c = compareValues(a, b);
  switch (op) {
    case "eq":
      return c === 0;
    case "neq":
      return c !== 0;
    case "lt":
      return c < 0;
    case "lte":
      return c <= 0;
    case "gt":
      return c > 0;
    default:
      return c >= 0;
  }
}

/** Text (or bytes) concatenation of two non-null datums. */
export function concat2(a: Datum, b: Datum): Datum {
  if (a instanceof Uint8Array && b instanceof Uint8Array) {
    const out = new Uint8Array(a.length + b.length);
    out.set(a);
    out.set(b, a.length);
    return out;
  }
  return asText(a) + asText(b);
}

function asText(d: Datum): string {
  return typeof d === "string" ? d : Datum.format(d);
}

const likeCache = new Map<string, RegExp>();

/** SQL `LIKE`: `%` any run, `_` one character, `\` escapes the next character. */
export function like(text: Datum, pattern: Datum): boolean {
  if (typeof text !== "string" || typeof pattern !== "string")
    throw typeMismatch("like", text, pattern);
  let re = likeCache.get(pattern);
  if (!re) {
    re = likeToRegExp(pattern);
    if (likeCache.size > 1000) likeCache.clear();
    likeCache.set(pattern, re);
  }
  return re.test(text);
}

/** Translates a LIKE pattern into an anchored regular expression. */
export function likeToRegExp(pattern: string): RegExp {
  let src = "^";
  const chars = [...pattern];
  for (let i = 0; i < chars.length; i++) {
    const c = chars[i]!;
    if (c === "\\" && i + 1 < chars.length) src += escapeRe(chars[++i]!);
    else if (c === "%") src += "[\\s\\S]*";
    else if (c === "_") src += "[\\s\\S]";
    else src += escapeRe(c);
  }
  return new RegExp(`${src}$`, "u");
}

function escapeRe(c: string): string {
  return /[\\^$.*+?()[\]{}|/-]/.test(c) ? `\\${c}` : c;
}

/** A strict binary function (not and/or) on two non-null datums. */
export function applyBinary(op: BinaryOp, a: Datum, b: Datum): Datum {
  switch (op) {
    case "add":
    case "sub":
    case "mul":
    case "div":
    case "mod":
      return arith(op, a, b);
    case "eq":
    case "neq":
    case "lt":
    case "lte":
    case "gt":
    case "gte":
      return compare(op, a, b);
    case "concat":
      return concat2(a, b);
    case "like":
      return like(a, b);
    default:
      throw typeMismatch(op, a, b);
  }
}

/** A strict unary function (not isNull/isNotNull/isTrue) on a non-null datum. */
export function applyUnary(op: UnaryOp, a: Datum): Datum {
  switch (op) {
    case "not":
      if (typeof a !== "boolean") throw typeMismatch("not", a);
      return !a;
    case "neg":
      if (typeof a === "bigint") return checkInt64(-a, "neg");
      if (typeof a === "number") return -a;
      if (isNumeric(a)) return Datum.numericFromParts(-a.unscaled, a.scale);
      throw typeMismatch("neg", a);
    case "abs":
      if (typeof a === "bigint") return checkInt64(a < 0n ? -a : a, "abs");
      if (typeof a === "number") return Math.abs(a);
      if (isNumeric(a)) return a.unscaled < 0n ? Datum.numericFromParts(-a.unscaled, a.scale) : a;
      throw typeMismatch("abs", a);
    case "lower":
      if (typeof a !== "string") throw typeMismatch("lower", a);
      return a.toLowerCase();
    case "upper":
      if (typeof a !== "string") throw typeMismatch("upper", a);
      return a.toUpperCase();
    case "length":
      if (typeof a === "string") return BigInt(codePoints(a));
      if (a instanceof Uint8Array) return BigInt(a.length);
      throw typeMismatch("length", a);
    case "castInt64":
      return castInt64(a);
    case "castFloat64":
      return castFloat64(a);
    case "castNumeric":
      return castNumeric(a);
    case "castText":
      return asText(a);
    case "isNull":
      return false;
    case "isNotNull":
    case "isTrue":
      return op === "isNotNull" ? true : a === true;
    default:
      throw typeMismatch(String(op), a);
  }
}

function codePoints(s: string): number {
  let n = s.length;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        n--;
        i++;
      }
    }
  }
  return n;
}

function castInt64(a: Datum): bigint {
  if (typeof a === "bigint") return a;
  if (typeof a === "boolean") return a ? 1n : 0n;
  if (typeof a === "number") {
    if (!Number.isFinite(a)) throw new EvaluationError("out_of_range", `${a} out of int64 range`);
    let r = Math.round(a);
    if (Math.abs(a % 1) === 0.5) r = 2 * Math.round(a / 2);
    if (r < -(2 ** 63) || r >= 2 ** 63)
      throw new EvaluationError("out_of_range", `${a} out of int64 range`);
    return BigInt(r);
  }
  if (typeof a === "string") {
    const t = a.trim();
    if (!/^[+-]?\d+$/.test(t))
      throw new EvaluationError("invalid_input", `invalid int64 ${JSON.stringify(a)}`);
    return checkInt64(BigInt(t), "cast to int64");
  }
  if (isNumeric(a)) return checkInt64(divRound(a.unscaled, pow10(a.scale)), "cast to int64");
  throw typeMismatch("castInt64", a);
}

function castFloat64(a: Datum): number {
  if (typeof a === "number") return a;
  if (typeof a === "bigint") return Number(a);
  if (typeof a === "boolean") return a ? 1 : 0;
  if (isNumeric(a)) return toFloat(a);
  if (typeof a === "string") {
    const t = a.trim();
    if (/^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i.test(t)) return Number(t);
    const l = t.toLowerCase();
    if (l === "nan") return Number.NaN;
    if (l === "infinity" || l === "+infinity" || l === "inf") return Number.POSITIVE_INFINITY;
    if (l === "-infinity" || l === "-inf") return Number.NEGATIVE_INFINITY;
    throw new EvaluationError("invalid_input", `invalid float64 ${JSON.stringify(a)}`);
  }
  throw typeMismatch("castFloat64", a);
}

function castNumeric(a: Datum): Numeric {
  if (isNumeric(a)) return a;
  if (typeof a === "bigint") return Datum.numericFromParts(a, 0);
  if (typeof a === "number") {
    if (!Number.isFinite(a)) throw new EvaluationError("out_of_range", `${a} cannot be a numeric`);
    return parseNumeric(String(a));
  }
  if (typeof a === "string") return parseNumeric(a);
  throw typeMismatch("castNumeric", a);
}

function parseNumeric(s: string): Numeric {
  try {
    return Datum.numeric(s);
  } catch (e) {
    throw new EvaluationError(
      "invalid_input",
      `invalid numeric ${JSON.stringify(s)}: ${(e as Error).message}`,
    );
  }
}
