/**
 * @mzts/storage — storage on a replica: ingestions appending to persist shards, and sinks.
 *
 * Exported so far: the deterministic load generators (`source/load-generator/`), their tick clock
 * and rendering helpers, and the package's error classes.
 */

export {
  InvalidPartition,
  InvalidSourceSpec,
  InvalidTick,
  StorageError,
} from "./errors.js";
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
