/**
 * Error rows: how evaluation errors travel on a dataflow's error collection.
 *
 * An error row is `[code, message]` (both text). It carries the time and diff of the update that
 * caused it, so the error collection is an ordinary differential collection: retracting the bad
 * input retracts the error, and errors of equal text consolidate.
 */
import type { Row } from "@mzts/repr";
import { EvaluationError } from "../errors.js";

/** The error row for an evaluation error. Rethrows anything that is not an `EvaluationError`. */
export function errorRow(e: unknown): Row {
  if (e instanceof EvaluationError) return [e.code, e.detail];
  throw e;
}
