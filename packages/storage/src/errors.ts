/**
 * Error classes of `@mzts/storage`: one root (`StorageError`) and a narrow class per failure.
 *
 * Every class carries a `name`, structured fields and a message that says what to do next. Bad
 * input (a malformed source spec, a negative tick, a worker index out of range) is an error of
 * this package; internal bugs are not input errors and throw `InvariantViolation` from
 * `@mzts/repr`.
 */

/** Root of every error thrown by `@mzts/storage`. */
export class StorageError extends Error {
  override name = "StorageError";
}

/** A source spec (or the tick clock that drives it) has a missing, unknown or invalid field. */
export class InvalidSourceSpec extends StorageError {
  override name = "InvalidSourceSpec";
  constructor(
    /** The offending field, e.g. `"maxCardinality"` or `"clock.intervalMs"`. */
    readonly field: string,
    /** The value found (undefined when the field is missing). */
    readonly value: unknown,
    /** What a valid value looks like. */
    readonly expected: string,
  ) {
    super(`invalid source spec: field "${field}" is ${show(value)}; expected ${expected}`);
  }
}

/** A tick (or the time it maps to) is outside the range a load generator can produce. */
export class InvalidTick extends StorageError {
  override name = "InvalidTick";
  constructor(
    readonly tick: unknown,
    readonly reason: string,
  ) {
    super(`invalid tick ${show(tick)}: ${reason}`);
  }
}

/** A worker partition `(worker, workers)` is not a valid share of the data. */
export class InvalidPartition extends StorageError {
  override name = "InvalidPartition";
  constructor(
    readonly worker: number,
    readonly workers: number,
  ) {
    super(
      `invalid partition: worker ${worker} of ${workers}; pass an integer workers >= 1 and an ` +
        "integer worker in [0, workers)",
    );
  }
}

function show(v: unknown): string {
  if (v === undefined) return "missing";
  if (typeof v === "bigint") return `${v}n`;
  try {
    return JSON.stringify(v, (_k, x) => (typeof x === "bigint" ? `${x}n` : x)) ?? String(v);
  } catch {
    return String(v);
  }
}
