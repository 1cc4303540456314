/**
 * Keys of keyed operators: an injective `Key` (a JS Map key) per key-column tuple, and a stable
 * hash of it for routing between workers.
 *
 * A one-column key whose value is an int64 in the safe-integer range is the JS number of that
 * value (Map lookups on small numbers are about 5× cheaper than on strings); every other key is
 * the `@mzts/repr` `datumKey`/`columnsKey` string. Strings never equal numbers, and only int64
 * values become numbers, so the mapping stays injective (float 1.0 keys as the string "f1;").
 * `hashKey` is a pure function of the key, identical on every worker and process.
 */
import { columnsKey, type Datum, datumKey, hashString, type Row } from "@mzts/repr";

/** An injective key: a number for a safe int64 single-column key, else a string. */
export type Key = string | number;

/** The key of one datum. */
export function datumToKey(d: Datum): Key {
  if (typeof d === "bigint") {
    // Exact below 2^53 in magnitude; larger values convert to non-safe numbers and fall through.
    const n = Number(d);
    if (Number.isSafeInteger(n)) return n;
  }
  return datumKey(d);
}

/** A function from a row to the key of `columns` (null: the whole row). */
export function keyFunction(columns: readonly number[] | null): (row: Row) => Key {
  if (columns === null) {
    return (row) =>
      row.length === 1 ? datumToKey(row[0] as Datum) : columnsKey(row, allColumns(row.length));
  }
  if (columns.length === 0) return () => "";
  if (columns.length === 1) {
    const c = columns[0]!;
    return (row) => datumToKey(row[c] as Datum);
  }
  const cols = columns.slice();
  return (row) => columnsKey(row, cols);
}

const ALL: number[][] = [];
function allColumns(n: number): number[] {
  let a = ALL[n];
  if (!a) ALL[n] = a = Array.from({ length: n }, (_, i) => i);
  return a;
}

/** A stable 32-bit hash of a key (for routing between workers). */
export function hashKey(k: Key): number {
  if (typeof k === "string") return hashString(k);
  // Mix the low and high 32-bit halves of a safe integer (murmur3 finaliser).
  const lo = k | 0;
  const hi = Math.floor(k / 4294967296) | 0;
  let h = Math.imul(lo ^ 0x9e3779b9, 0x85ebca6b) ^ hi;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** The key columns' values of `row`. */
export function keyDatums(row: Row, columns: readonly number[]): Datum[] {
  const out = new Array<Datum>(columns.length);
  for (let i = 0; i < columns.length; i++) out[i] = row[columns[i]!] as Datum;
  return out;
}
