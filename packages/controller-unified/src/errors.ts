/**
 * Error classes of `@mzts/controller-unified`: one root (`UnifiedControllerError`) and a narrow
 * class per failure, each with structured fields and a message that says what to do next.
 */

/** Root of every error thrown by `@mzts/controller-unified`. */
export class UnifiedControllerError extends Error {
  override name = "UnifiedControllerError";
}

/** A reconnect backoff with a field out of range (a caller's configuration error). */
export class InvalidBackoff extends UnifiedControllerError {
  override name = "InvalidBackoff";
  constructor(
    /** The offending field of `Backoff`. */
    readonly field: "initialMs" | "maxMs" | "jitter",
    readonly value: number,
    /** What the field must be. */
    readonly expected: string,
  ) {
    super(`invalid reconnect backoff: ${field} is ${value}; give ${expected}`);
  }
}
