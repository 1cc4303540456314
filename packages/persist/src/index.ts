/**
 * @mzts/persist — durable shards: an upper, a since and a list of batches per shard, kept in a
 * compare-and-set consensus store (SQLite by default, PostgreSQL for scale-out) with batch data
 * in a blob store (files by default). See README.md for usage and invariants.
 */

export type { Blob } from "./blob/blob.js";
export { createFileBlob } from "./blob/fs.js";
export { createMemoryBlob } from "./blob/memory.js";
export type { OpenShardOptions, PersistConfig } from "./client.js";
export { createPersist, DEFAULT_TUNING, PersistClient } from "./client.js";
// ---- internal — no semver -------------------------------------------------------------------
/** @internal */
export {
  BATCH_FORMAT_VERSION,
  decodeBatch,
  decodeState,
  encodeBatch,
  encodeState,
  STATE_FORMAT_VERSION,
} from "./codec.js";
export type { Consensus, SeqNo, VersionedData } from "./consensus/consensus.js";
export { createMemoryConsensus } from "./consensus/memory.js";
export type { PostgresConsensusOptions } from "./consensus/postgres.js";
export { createPostgresConsensus } from "./consensus/postgres.js";
export type { SqliteCommitMode, SqliteConsensusOptions } from "./consensus/sqlite.js";
export { createSqliteConsensus, SQLITE_CONSENSUS_SCHEMA_VERSION } from "./consensus/sqlite.js";
export type { PersistTuning } from "./context.js";
export {
  ContentionExceeded,
  CorruptBlob,
  InvalidBatchBounds,
  InvalidShardId,
  InvalidUpdate,
  MetricsAlreadyRegistered,
  PersistClosed,
  PersistError,
  ReaderExpired,
  ShardDropped,
  SinceBeyondUpper,
  SinceRegression,
  SinceViolation,
  SnapshotNotAvailable,
  StorageUnavailable,
  TimeOutOfBounds,
  UnknownShard,
  UnsupportedFormatVersion,
  UpperMismatch,
  WaitAborted,
} from "./errors.js";
export type { ListenEvent, ListenOptions } from "./listen.js";
export { Listener } from "./listen.js";
export type { PersistMetrics } from "./metrics.js";
export { loadPgPool } from "./pg-driver.js";
export type { MaintenanceReport, ShardInfo, SnapshotOptions } from "./shard.js";
export { Shard } from "./shard.js";
export { SinceHandle } from "./since-handle.js";
/** @internal */
export type { BatchMeta, ReaderState, ShardState } from "./state.js";
