/**
 * Index key checks environmentd runs before it commits an index.
 *
 * `validateIndexKey(key, on, arity)`: every column is in range of the indexed object and the key
 * is at most `MAX_ROW_WIDTH` columns; an empty key means the whole row (as `CreateIndexRequest`
 * documents) and is stored as every column, so a peek's key rows always have the stored key's
 * width (`peek.ts`). Refusals are `InvalidObjectRequest`s naming the column (→ InvalidArgument).
 */
import { MAX_ROW_WIDTH } from "@mzts/expr";
import { InvalidObjectRequest } from "../errors.js";

/**
 * The key to store for an index on `on` (of `arity` columns).
 * @throws InvalidObjectRequest naming the offending key column.
 */
export function validateIndexKey(key: readonly number[], on: string, arity: number): number[] {
  if (key.length > MAX_ROW_WIDTH) {
    throw new InvalidObjectRequest(
      "key",
      `has ${key.length} columns, beyond MAX_ROW_WIDTH = ${MAX_ROW_WIDTH}; index fewer columns`,
    );
  }
  for (const [i, k] of key.entries()) {
    if (k >= arity) {
      throw new InvalidObjectRequest(
        `key[${i}]`,
        `column ${k} is out of range for ${on} (${arity} columns)`,
      );
    }
  }
  return key.length === 0 ? Array.from({ length: arity }, (_, i) => i) : [...key];
}
