/**
 * Column types of the objects environmentd resolves, for the checks of `peek.ts`.
 *
 * Subsources take theirs from the load generator's outputs (`LOAD_GENERATOR_OUTPUTS` of
 * `@mzts/protocol`, the schemas storage's generators write); materialized views infer theirs from
 * their plan (`planColumnTypes` of `@mzts/expr`); an index has the types of the object it is on.
 * `undefined` = not known (any datum passes).
 */
import { LOAD_GENERATOR_OUTPUTS, type LoadGeneratorKind } from "@mzts/protocol";
import type { DatumType } from "@mzts/repr";

/** The column types of output `outputIndex` of a generator (empty for an unknown output). */
export function generatorColumnTypes(kind: LoadGeneratorKind, outputIndex: number): DatumType[] {
  return LOAD_GENERATOR_OUTPUTS[kind][outputIndex]?.columns.map((c) => c.type) ?? [];
}
