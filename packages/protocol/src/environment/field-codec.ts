/**
 * The environment API codec's field helpers, shared by its sub-codecs: object/cluster/replica
 * names (`isObjectName`), cluster ids (`u<n>`/`s<n>`), sizes ≥ 1, column references against a
 * width and the arity of every `get` in a plan. Each throws a `FieldError` naming the field path;
 * `codec.ts` turns it into `MalformedRequest`/`MalformedApiResponse` with the rpc.
 */
import type { Plan } from "@mzts/expr";
import { fail } from "../codec/field.js";
import { isObjectName, MAX_NAME_LENGTH } from "./api.js";

/** A cluster, replica or object name. */
export function decodeName(v: string, path: string): string {
  if (v === "") fail(path, "is empty; give a name like `my_view` ([a-z_][a-z0-9_]*)");
  if (!isObjectName(v)) {
    fail(
      path,
      `${JSON.stringify(v)} is not a valid name (lowercase letters, digits and _, not starting ` +
        `with a digit, at most ${MAX_NAME_LENGTH} characters)`,
    );
  }
  return v;
}

/** `{ cluster }` when a name is given, `{}` otherwise. */
export function optionalName(v: string | undefined, path: string): { cluster?: string } {
  return v === undefined ? {} : { cluster: decodeName(v, path) };
}

/** A cluster id: `u<n>` (user) or `s<n>` (system). */
const CLUSTER_ID = /^[us][0-9]{1,19}$/;
export function decodeClusterId(v: string, path: string): string {
  if (!CLUSTER_ID.test(v)) fail(path, `${JSON.stringify(v)} is not a cluster id (u<n> or s<n>)`);
  return v;
}

/** A size that must be ≥ 1; `what` names it in the error. */
export function positive(v: number, path: string, what: string): number {
  if (v < 1) fail(path, `is ${v}; ${what} must be at least 1`);
  return v;
}

/** Every column index is below `width`. */
export function checkColumns(
  cols: readonly number[],
  width: number,
  path: (i: number) => string,
): void {
  cols.forEach((c, i) => {
    if (c >= width) fail(path(i), `column ${c} out of range for ${width} columns`);
  });
}

/** Records the arity of the first `get` of each id (walking inputs only, never datums). */
export function collectGets(p: Plan, into: Map<string, number>): void {
  if (p.kind === "get") {
    if (!into.has(p.id)) into.set(p.id, p.arity);
    return;
  }
  if ("input" in p) collectGets(p.input, into);
  if ("inputs" in p) for (const q of p.inputs) collectGets(q, into);
}
