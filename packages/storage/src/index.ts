/**
 * @mzts/storage — storage on a replica: ingestions appending to persist shards, and sinks.
 *
 * Public: the storage runtimes — unified (`createStorageRuntime`, `createStorageSpec`, for
 * `@mzts/mz-cluster`) and legacy (`createLegacyStorageRuntime`), which `clusterd` selects with
 * `cluster-unification-servers` — their options and metrics, the preparation task, the
 * deterministic load generators (`source/load-generator/`) with their tick clock and rendering
 * helpers, and the package's error classes.
 *
 * Exports marked `@internal` are internal — no semver: the per-worker state both worker loops drive
 * (`StorageState`) and its parts, for tests and benchmarks. The legacy runtime's export is marked
 * with the servers phase marker.
 */

export { clockAnchorShardId, readIngestionResume } from "./async-storage-worker.js";
export {
  InvalidPartition,
  InvalidSourceSpec,
  InvalidTick,
  StorageError,
} from "./errors.js";
export {
  generatorSpec,
  type IngestionResume,
  type PreparedRunIngestion,
  sameDescription,
  validateDescription,
} from "./ingestion.js";
// PHASE(servers): legacy — delete when cluster-unification-servers is retired
export { createLegacyStorageRuntime } from "./legacy/legacy-runtime.js";
/** @internal */
export { STORAGE_CHANNEL, type StorageMeshMessage } from "./mesh-messages.js";
export { registerStorageMetrics, SLOT, StorageCounters } from "./metrics.js";
/** @internal */
export { SINCE_READER_ID, writerOf } from "./shard-writer.js";
export {
  AUCTION_OUTPUTS,
  AuctionGenerator,
  AuctionOutput,
  type AuctionPlan,
  ITEMS as AUCTION_ITEMS,
} from "./source/load-generator/auction.js";
export { COUNTER_OUTPUTS, CounterGenerator } from "./source/load-generator/counter.js";
export {
  type ColumnSpec,
  type GeneratedUpdate,
  type LoadGenerator,
  type LoadGeneratorKind,
  type LoadGeneratorOutput,
  outputIndex,
} from "./source/load-generator/load-generator.js";
export {
  type RenderOptions,
  updatesBetween,
  type WorkerPartition,
  workerForRow,
} from "./source/load-generator/render.js";
export {
  type AuctionSpec,
  type CounterSpec,
  createLoadGenerator,
  type LoadGeneratorSpec,
  type SeedSpec,
  type ValidatedSpec,
  validateLoadGeneratorSpec,
} from "./source/load-generator/spec.js";
export { TickClock, type TickClockSpec } from "./source/load-generator/tick-clock.js";
export {
  createStorageRuntime,
  createStorageSpec,
  type StorageClusterSpec,
  type StorageOptions,
  type StorageRuntime,
  type StorageRuntimeOptions,
} from "./spec.js";
/** @internal */
export { type DataflowAction, StorageState } from "./storage-state.js";
/** @internal */
export {
  DEFAULT_STATE_OPTIONS,
  type StorageStateDeps,
  type StorageStateOptions,
} from "./storage-state-deps.js";
/** @internal */
export type { StorageTuning, StorageWorkerConfig } from "./worker-config.js";
