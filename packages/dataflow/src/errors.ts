/**
 * Errors of `@mzts/dataflow`: one root (`DataflowError`) and a narrow class per failure.
 *
 * Two kinds of failure exist in a differential dataflow and they travel differently:
 * - **Misuse of the engine** (reading an arrangement outside `[since, upper)`, sending an update
 *   behind an input's frontier, rendering a plan with an unknown import) throws one of the
 *   classes below at the call site.
 * - **Evaluation errors** (division by zero, int64 overflow, a type mismatch inside an
 *   expression, a negative multiplicity reaching `reduce`/`topK`) do *not* throw out of
 *   `step()`. They become rows of the dataflow's **error collection** (Materialize's `errs`
 *   stream): `[code, message]` with the diff of the update that caused them, so a retraction of
 *   the bad input retracts the error. `EvaluationError` is the in-process form used while evaluating.
 *
 * Bugs are not input errors: they throw `InvariantViolation` from `@mzts/repr`.
 */
import type { Frontier, Timestamp } from "@mzts/repr";

/** Root of every error thrown by `@mzts/dataflow`. */
export class DataflowError extends Error {
  override name = "DataflowError";
}

/** A read asked for a time that has been compacted away (`t < since`). */
export class SinceViolation extends DataflowError {
  override name = "SinceViolation";
  constructor(
    /** What was read (an arrangement's name). */
    readonly what: string,
    readonly asOf: Timestamp,
    readonly since: Frontier,
  ) {
    super(
      `cannot read ${what} as of ${asOf}: its since is ${fmt(since)} and earlier times were compacted; ` +
        "read at a time at or beyond the since, or hold the since back before it advances",
    );
  }
}

/** A read asked for a time that is not complete yet (`t >= upper`). */
export class NotYetAvailable extends DataflowError {
  override name = "NotYetAvailable";
  constructor(
    readonly what: string,
    readonly asOf: Timestamp,
    readonly upper: Frontier,
  ) {
    super(
      `cannot read ${what} as of ${asOf}: its upper is ${fmt(upper)}, so that time may still change; ` +
        "wait until the upper passes the time (step the dataflow) and read again",
    );
  }
}

/** An update sent to an input at a time its frontier has already passed. */
export class UpdateBeforeFrontier extends DataflowError {
  override name = "UpdateBeforeFrontier";
  constructor(
    readonly input: string,
    readonly time: Timestamp,
    readonly frontier: Frontier,
  ) {
    super(
      `update at time ${time} sent to input ${input} whose frontier is ${fmt(frontier)}; ` +
        "times below the frontier are final — send updates at or beyond the frontier",
    );
  }
}

/** An update that is not `(row, time, diff)` with a u64 bigint time and a safe-integer diff. */
export class InvalidUpdate extends DataflowError {
  override name = "InvalidUpdate";
  constructor(
    readonly input: string,
    readonly reason: string,
  ) {
    super(`invalid update sent to input ${input}: ${reason}`);
  }
}

/** A plan refers to an import (`get`) that the caller did not provide. */
export class UnknownImport extends DataflowError {
  override name = "UnknownImport";
  constructor(readonly id: string) {
    super(`plan reads import ${id}, but render() got no stream for it; pass it in \`imports\``);
  }
}

/** Workers of one exchange disagree (a message from a worker index outside `[0, peers)`). */
export class ExchangeMisuse extends DataflowError {
  override name = "ExchangeMisuse";
  constructor(readonly reason: string) {
    super(`exchange misuse: ${reason}; every worker must build the same graph over the same peers`);
  }
}

/** Machine-readable class of an evaluation error (the first column of an error row). */
export type EvalErrorCode =
  | "division_by_zero"
  | "out_of_range"
  | "type_mismatch"
  | "invalid_input"
  | "negative_multiplicity";

/**
 * An expression or aggregate could not be evaluated for one row or group. Caught by the operator
 * and turned into an error row `[code, message]` on the dataflow's error collection.
 */
export class EvaluationError extends DataflowError {
  override name = "EvaluationError";
  constructor(
    readonly code: EvalErrorCode,
    readonly detail: string,
  ) {
    super(detail);
  }
}

function fmt(f: Frontier): string {
  return f === null ? "[] (empty)" : `[${f}]`;
}
