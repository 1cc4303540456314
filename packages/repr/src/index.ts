/**
 * @mzts/repr — the value types every package shares: timestamps, frontiers, datums, rows,
 * updates and ids. No dependencies.
 */
export { Timestamp } from "./timestamp.js";
export { Frontier, MonotoneFrontier } from "./frontier.js";
export { MutableFrontier, PartitionedFrontier } from "./mutable-frontier.js";
export {
  Datum,
  type DatumType,
  type Numeric,
  type TimestampDatum,
  type Jsonb,
  canonicalJson,
  NUMERIC_MAX_SCALE,
} from "./datum.js";
export {
  type Row,
  RowPacker,
  RowReader,
  encodeRow,
  decodeRow,
  compareRows,
  rowsEqual,
  datumKey,
  rowKey,
  columnsKey,
  hashString,
  hashRow,
} from "./row.js";
export { type Update, consolidateUpdates, consolidateRows, collectionAsOf } from "./update.js";
export { GlobalId, ReplicaId } from "./global-id.js";
export {
  ReprError,
  FrontierRegression,
  InvalidTimestamp,
  InvalidDatum,
  RowDecodeError,
  InvalidId,
  InvariantViolation,
  invariant,
} from "./errors.js";
