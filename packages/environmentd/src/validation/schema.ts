/**
 * Column types of the objects environmentd resolves, for the checks of `peek.ts`.
 *
 * Subsources take theirs from the load generator's outputs (the same specs as storage's
 * `AUCTION_OUTPUTS` / `COUNTER_OUTPUTS`, like `GENERATOR_OUTPUTS`' names and arities: environmentd
 * does not depend on `@mzts/storage`, so a change there must be made here too); materialized
 * views infer theirs from their plan (`planColumnTypes` of `@mzts/expr`); an index has the types
 * of the object it is on. `undefined` = not known (any datum passes).
 */
import type { DatumType } from "@mzts/repr";

/** Per generator, per output (in output order), the column types. */
export const GENERATOR_COLUMN_TYPES: {
  readonly [k in "counter" | "auction"]: ReadonlyArray<readonly DatumType[]>;
} = {
  counter: [["int64"]],
  auction: [
    ["int64", "text"],
    ["int64", "int64", "text"],
    ["int64", "int64", "int64"],
    ["int64", "int64", "text", "timestamp"],
    ["int64", "int64", "int64", "int64", "timestamp"],
  ],
};
