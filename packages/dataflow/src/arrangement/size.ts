/**
 * Memory estimates of what an `Arrangement` holds (introspection's `arrangement_sizes.size_bytes`).
 *
 * An honest estimate, not a measurement: the figures are V8's object layouts on 64-bit with
 * pointer compression off (the common server build), counted once per row entry, per key bucket
 * and per held update, so the arrangement keeps the total up to date in O(1) per change:
 * - a datum: a heap bigint 24 B, a heap number 16 B, a string 16 B header + 1 B per UTF-16 unit
 *   (one-byte strings; two-byte strings are undercounted by their length), bytes 64 B + length,
 *   tagged objects (numeric, timestamp, jsonb) 48 B + their parts; null/booleans are shared (0);
 * - a row: its array (16 B + 8 B per slot) plus its datums;
 * - an entry: the entry object (72 B), its two history arrays (2 × 32 B), its slot in the key
 *   bucket's map (40 B) and its row-key string;
 * - a key bucket: a map (80 B), its slot in the index (40 B) and the key string (a key with one
 *   entry has no map: counted the same, so the estimate does not move when a key gets its second);
 * - a held update (one time of one entry): 8 B in each history array and a heap bigint time (24 B).
 */
import type { Datum, Row } from "@mzts/repr";
import type { Key } from "../operators/key.js";

const STRING_HEADER = 16;
const BIGINT = 24;
const HEAP_NUMBER = 16;
const TAGGED = 48;
const ENTRY = 72 + 2 * 32 + 40;
const BUCKET = 80 + 40;

/** Bytes of one held update (a time in an entry's history). */
export const UPDATE_BYTES = 8 + 8 + BIGINT;

function datumBytes(d: Datum): number {
  if (d === null) return 0;
  switch (typeof d) {
    case "boolean":
      return 0;
    case "bigint":
      return BIGINT;
    case "number":
      return HEAP_NUMBER;
    case "string":
      return STRING_HEADER + d.length;
    default:
      break;
  }
  if (d instanceof Uint8Array) return 64 + d.byteLength;
  switch (d.kind) {
    case "numeric":
      return TAGGED + BIGINT;
    case "timestamp":
      return TAGGED + BIGINT;
    case "jsonb":
      return TAGGED + STRING_HEADER + d.text.length;
  }
}

/** Bytes of a row entry: its row, its row key and the entry's fixed parts. */
export function entryBytes(row: Row, rowKey: Key): number {
  let n = ENTRY + keyBytes(rowKey) + 16 + 8 * row.length;
  for (let i = 0; i < row.length; i++) n += datumBytes(row[i]!);
  return n;
}

/** Bytes of a key bucket. */
export function bucketBytes(key: Key): number {
  return BUCKET + keyBytes(key);
}

/** Bytes of a key or row key: a string, or a number (counted as a heap number). */
function keyBytes(k: Key): number {
  return typeof k === "string" ? STRING_HEADER + k.length : HEAP_NUMBER;
}
