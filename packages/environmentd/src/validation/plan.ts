/**
 * Plan checks environmentd runs before it commits a materialized view to the catalog (and before
 * it installs one it reads back from the catalog at boot).
 *
 * - `validateViewPlan(plan, arityOf)`: `validatePlan` against the inputs' arities — columns,
 *   arities, functions and the limits of `@mzts/expr` `limits.ts` (nesting depth, nodes, row
 *   width, constant rows) — then the plan's encoded size against `MAX_ENCODED_BYTES`. Returns the
 *   output arity. Every refusal is an `InvalidObjectRequest` naming the field (the path to the
 *   node) and the limit, so the API answers InvalidArgument and nothing reaches the catalog.
 * - `checkStoredPlan(read, arityOf)`: the same checks for a definition read back from the catalog; a
 *   view stored before a limit existed is reported failed (status) instead of failing the boot or
 *   crash-looping the replicas.
 */
import {
  type ImportArity,
  MAX_ENCODED_BYTES,
  MalformedPlan,
  type Plan,
  validatePlan,
} from "@mzts/expr";
import { MalformedRequest, planEncodedBytes } from "@mzts/protocol";
import { InvalidObjectRequest } from "../errors.js";

/**
 * Checks a view's plan; returns its arity.
 * @throws InvalidObjectRequest naming the offending node or the size limit.
 */
export function validateViewPlan(plan: Plan, arityOf: ImportArity): number {
  let arity: number;
  try {
    arity = validatePlan(plan, arityOf);
  } catch (e) {
    if (e instanceof MalformedPlan) throw new InvalidObjectRequest(e.path, e.reason);
    throw e;
  }
  const bytes = planEncodedBytes(plan);
  if (bytes > MAX_ENCODED_BYTES) {
    throw new InvalidObjectRequest(
      "plan",
      `encodes to ${bytes} bytes, beyond MAX_ENCODED_BYTES = ${MAX_ENCODED_BYTES}; split it into smaller views`,
    );
  }
  return arity;
}

/** A view's definition read back from the catalog: its plan and arity, or why it failed. */
export type StoredPlan =
  | { readonly plan: Plan; readonly arity: number }
  | { readonly failed: string };

/**
 * Decodes (`read`) and checks a stored view's plan; a refusal becomes `failed`, not a throw.
 * `inputFailed` (an input that failed) fails it without a look.
 */
export function checkStoredPlan(
  read: () => Plan,
  arityOf: ImportArity,
  inputFailed?: string,
): StoredPlan {
  if (inputFailed !== undefined) return { failed: inputFailed };
  try {
    const plan = read();
    return { plan, arity: validateViewPlan(plan, arityOf) };
  } catch (e) {
    if (
      e instanceof InvalidObjectRequest ||
      e instanceof MalformedPlan ||
      e instanceof MalformedRequest
    ) {
      return {
        failed: `its stored definition is invalid (${e.message}); drop it and create a fixed version`,
      };
    }
    throw e;
  }
}
