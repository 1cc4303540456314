/**
 * Peek checks environmentd runs before it sends a peek to any replica (after `checkPeekColumns`
 * of `@mzts/protocol` checked the map/filter/project and finishing columns and expressions,
 * whose depth and node limits `validateExpr` enforces).
 *
 * `validatePeekKeys(rows, index)`: at most `MAX_KEY_ROWS` key rows; each row has exactly the
 * index key's width (an empty row used to crash every replica, a wider one was silently
 * truncated); each non-null datum has the type of its key column when that type is known (a
 * datum of another type used to match nothing). `validatePeekSize(req)`: the request's encoded
 * size against `MAX_ENCODED_BYTES` (a request of names and scalars only is bounded without
 * encoding it: `scalarPeekSizeBound`). Refusals are `InvalidObjectRequest`s naming the field
 * (→ InvalidArgument).
 */
import { toBinary } from "@bufbuild/protobuf";
import { type ColumnType, MAX_ENCODED_BYTES, MAX_KEY_ROWS } from "@mzts/expr";
import { environmentCodecs, type PeekRequest } from "@mzts/protocol";
import { Datum, type Row } from "@mzts/repr";
import { InvalidObjectRequest } from "../errors.js";

/** The index a peek reads: its name, key columns and the indexed object's column types. */
export interface PeekIndex {
  readonly name: string;
  readonly key: readonly number[];
  /** Column types of the indexed object (undefined or an undefined entry = unknown). */
  readonly types: readonly ColumnType[] | undefined;
}

/**
 * Checks a peek's key rows against the index it reads.
 * @throws InvalidObjectRequest naming the row or datum.
 */
export function validatePeekKeys(rows: readonly Row[] | undefined, index: PeekIndex): void {
  if (rows === undefined) return;
  if (rows.length > MAX_KEY_ROWS) {
    throw new InvalidObjectRequest(
      "literalConstraints.rows",
      `has ${rows.length} key rows, beyond MAX_KEY_ROWS = ${MAX_KEY_ROWS}; split the peek`,
    );
  }
  const width = index.key.length;
  const columns = `column${width === 1 ? "" : "s"} ${index.key.join(", ")}`;
  rows.forEach((row, i) => {
    const field = `literalConstraints.rows[${i}]`;
    if (row.length !== width) {
      throw new InvalidObjectRequest(
        field,
        `has ${row.length} datums; the key of ${index.name} has ${width} (${columns}): ` +
          "give one datum per key column",
      );
    }
    row.forEach((d, j) => {
      if (d === null) return;
      const column = index.key[j]!;
      const want = index.types?.[column];
      const got = Datum.typeOf(d);
      if (want !== undefined && got !== want) {
        throw new InvalidObjectRequest(
          `${field}.datums[${j}]`,
          `is ${got}; key column ${column} of ${index.name} is ${want}: send a datum of type ${want}`,
        );
      }
    });
  });
}

/**
 * Checks a peek request's encoded size.
 * @throws InvalidObjectRequest beyond `MAX_ENCODED_BYTES`.
 */
export function validatePeekSize(req: PeekRequest): void {
  // A request of names and scalars only (every API peek of the demo) cannot reach the limit
  // below a name of ~350,000 characters: no encode needed (issue 16: ~3 µs a peek).
  const bound = scalarPeekSizeBound(req);
  if (bound !== undefined && bound <= MAX_ENCODED_BYTES) return;
  const c = environmentCodecs.peekRequest;
  const bytes = toBinary(c.schema, c.toProto(req)).length;
  if (bytes > MAX_ENCODED_BYTES) {
    throw new InvalidObjectRequest(
      "peek",
      `encodes to ${bytes} bytes, beyond MAX_ENCODED_BYTES = ${MAX_ENCODED_BYTES}; ` +
        "send fewer key rows or a smaller map/filter/project",
    );
  }
}

/** The most bytes one string field can take: tag, length varint (≤ 5), ≤ 3 UTF-8 bytes a unit. */
const stringBound = (s: string | undefined) => (s === undefined ? 0 : 6 + 3 * s.length);
/** The most bytes a 64-bit scalar field can take: tag and a 10-byte varint. */
const SCALAR_BOUND = 11;

/**
 * An upper bound of `req`'s encoded size when it has no key rows, map/filter/project or
 * finishing (names and scalars only); undefined otherwise (the caller encodes it).
 */
export function scalarPeekSizeBound(req: PeekRequest): number | undefined {
  if (
    req.literalConstraints !== undefined ||
    req.mapFilterProject !== undefined ||
    req.finishing !== undefined
  ) {
    return undefined;
  }
  return (
    stringBound(req.object) +
    stringBound(req.replica) +
    stringBound(req.cluster) +
    (req.timestamp === undefined ? 0 : SCALAR_BOUND) +
    (req.timeoutMs === undefined ? 0 : SCALAR_BOUND)
  );
}
