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

/**
 * A replica ended its `Control` stream (it should never: a replica serves until the controller
 * goes away). The incarnation fails; the instance starts the next one, whose replay reconciles.
 */
export class ReplicaStreamEnded extends UnifiedControllerError {
  override name = "ReplicaStreamEnded";
  constructor(
    /** The workload whose stream ended. */
    readonly stream: string,
  ) {
    super(`the replica ended the ${stream} stream; the next incarnation reconnects and replays`);
  }
}
