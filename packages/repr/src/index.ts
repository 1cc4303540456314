/**
 * @mzts/repr — the value types every package shares: timestamps, frontiers, datums, rows,
 * updates and ids. No dependencies.
 */

export {
  canonicalJson,
  Datum,
  type DatumType,
  type Jsonb,
  NUMERIC_MAX_SCALE,
  type Numeric,
  type TimestampDatum,
} from "./datum.js";
export {
  FrontierRegression,
  InvalidDatum,
  InvalidId,
  InvalidTimestamp,
  InvariantViolation,
  invariant,
  ReprError,
  RowDecodeError,
} from "./errors.js";
export { Frontier, MonotoneFrontier } from "./frontier.js";
export { GlobalId, ReplicaId } from "./global-id.js";
export { MutableFrontier, PartitionedFrontier } from "./mutable-frontier.js";
export { prng } from "./prng.js";
export {
  columnsKey,
  compareRows,
  datumKey,
  decodeRow,
  encodeRow,
  growBuffer,
  hashRow,
  hashString,
  type Row,
  RowPacker,
  RowReader,
  rowKey,
  rowsEqual,
  varintSize,
} from "./row.js";
export { Timestamp } from "./timestamp.js";
export { collectionAsOf, consolidateRows, consolidateUpdates, type Update } from "./update.js";
