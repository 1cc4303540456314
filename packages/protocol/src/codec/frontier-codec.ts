/**
 * Frontier codec: `@mzts/repr` `Frontier` (a timestamp or `null` for empty) ⇄ the antichain
 * message `mz.repr.v1.Frontier { repeated uint64 elements }`.
 *
 * Empty list = empty frontier; one element = that time; more than one is malformed (times are
 * totally ordered). An unset message field is either an error (`frontierFromProto`: required) or
 * "unchanged"/"absent" (`optionalFrontierFromProto`), as the field's comment says.
 */
import { create } from "@bufbuild/protobuf";
import type { Frontier } from "@mzts/repr";
import { type Frontier as FrontierProto, FrontierSchema } from "../gen/mz/repr/v1/repr_pb.js";
import { fail, required } from "./field.js";

/** The antichain message for `f`. */
export function frontierToProto(f: Frontier): FrontierProto {
  return create(FrontierSchema, { elements: f === null ? [] : [f] });
}

/** The antichain message for `f`, or unset when `f` is undefined. */
export function optionalFrontierToProto(f: Frontier | undefined): FrontierProto | undefined {
  return f === undefined ? undefined : frontierToProto(f);
}

/** Decodes a required frontier. @throws FieldError when unset or with more than one element. */
export function frontierFromProto(p: FrontierProto | undefined, path: string): Frontier {
  const f = required(p, path);
  if (f.elements.length > 1) {
    fail(
      `${path}.elements`,
      `has ${f.elements.length} elements; a frontier over totally ordered times has at most one`,
    );
  }
  return f.elements[0] ?? null;
}

/** Decodes an optional frontier (unset → undefined). @throws FieldError with more than one element. */
export function optionalFrontierFromProto(
  p: FrontierProto | undefined,
  path: string,
): Frontier | undefined {
  return p === undefined ? undefined : frontierFromProto(p, path);
}
