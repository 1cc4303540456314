/**
 * Error classes of `@mzts/repr`: one root (`ReprError`) and a narrow class per failure.
 *
 * Every error carries structured fields and a message that says what to do next. Bugs are not
 * input errors: `invariant()` throws `InvariantViolation` and is never used to reject bad input.
 */

/** Root of every error thrown by `@mzts/repr`. */
export class ReprError extends Error {
  override name = "ReprError";
}

/** A frontier writer was asked to move backward (frontiers only move forward). */
export class FrontierRegression extends ReprError {
  override name = "FrontierRegression";
  constructor(
    /** What the frontier belongs to (a collection id, "worker 2", …). */
    readonly what: string,
    /** The frontier in force. */
    readonly current: bigint | null,
    /** The rejected, earlier frontier. */
    readonly proposed: bigint | null,
  ) {
    super(
      `frontier of ${what} cannot move backward from ${fmt(current)} to ${fmt(proposed)}; ` +
        "frontiers only advance — send a frontier at or beyond the current one",
    );
  }
}

/** A value is not a valid timestamp (an unsigned 64-bit integer of milliseconds). */
export class InvalidTimestamp extends ReprError {
  override name = "InvalidTimestamp";
  constructor(readonly value: unknown) {
    super(
      `invalid timestamp ${String(value)}: a timestamp is a bigint in [0, 2^64) (milliseconds since the Unix epoch)`,
    );
  }
}

/** A value is not a datum of the expected type, or cannot be represented as one. */
export class InvalidDatum extends ReprError {
  override name = "InvalidDatum";
  constructor(
    readonly value: unknown,
    readonly reason: string,
  ) {
    super(`invalid datum ${safeString(value)}: ${reason}`);
  }
}

/** Bytes that do not decode as a row (truncated, unknown tag, bad version). */
export class RowDecodeError extends ReprError {
  override name = "RowDecodeError";
  constructor(
    readonly offset: number,
    readonly reason: string,
  ) {
    super(
      `cannot decode row at byte ${offset}: ${reason}; the bytes are not a row written by @mzts/repr`,
    );
  }
}

/** A malformed id (for example a GlobalId that is not `u<n>`, `s<n>` or `t<n>`). */
export class InvalidId extends ReprError {
  override name = "InvalidId";
  constructor(
    readonly kind: string,
    readonly value: unknown,
    readonly expected: string,
  ) {
    super(`invalid ${kind} ${safeString(value)}: expected ${expected}`);
  }
}

/** An internal bug: a condition the code relies on did not hold. Never used for bad input. */
export class InvariantViolation extends Error {
  override name = "InvariantViolation";
}

/** Throws `InvariantViolation` when `cond` is false (Materialize's `assert!`). */
export function invariant(cond: unknown, msg: string | (() => string)): asserts cond {
  if (!cond) throw new InvariantViolation(typeof msg === "string" ? msg : msg());
}

function fmt(f: bigint | null): string {
  return f === null ? "[] (empty)" : `[${f}]`;
}

function safeString(v: unknown): string {
  try {
    if (typeof v === "bigint") return `${v}n`;
    if (typeof v === "string") return JSON.stringify(v);
    return String(JSON.stringify(v, (_k, x) => (typeof x === "bigint" ? `${x}n` : x)) ?? String(v));
  } catch {
    return String(v);
  }
}
