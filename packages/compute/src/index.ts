/**
 * @mzts/compute — compute on a replica: dataflows, indexes, peeks, subscribes and persist sinks
 * per worker (`ComputeState`), run by mz-cluster's unified runtime (`createComputeSpec`) or by
 * legacy compute's own runtime (`createLegacyComputeRuntime`), with the process-level
 * response merge (`ComputeResponseMerger`).
 *
 * Every export marked `@internal` is internal — no semver (the per-worker machinery, exported for
 * tests and benchmarks). Legacy exports (phase 1, `cluster-unification-servers`) are each marked
 * with the servers phase marker: retiring the phase deletes them with `src/legacy/`.
 */

/** @internal */
export { ComputeState, type ComputeStateDeps, type WorkerResponse } from "./compute-state.js";
export { type ComputeConfig, parseComputeConfig } from "./config.js";
export {
  CommandRefused,
  ComputeError,
  InvalidComputeConfig,
  // PHASE(servers): legacy — delete when cluster-unification-servers is retired
  RuntimeClosed,
} from "./errors.js";
// PHASE(servers): legacy — delete when cluster-unification-servers is retired
export {
  createLegacyComputeRuntime,
  type LegacyComputeRuntimeOptions,
} from "./legacy/legacy-runtime.js";
// PHASE(logging): legacy — delete when cluster-unification-logging is retired
export {
  LegacyComputeLogging,
  type LegacyLoggingIgnored,
  type LegacyLoggingOptions,
} from "./legacy/logging/legacy-logging.js";
/** @internal */
export { ComputeLogging } from "./logging/compute-logging.js";
export {
  type ComputeMergerOptions,
  ComputeResponseMerger,
  computeMergerFactory,
  OVERDUE_DETAILS,
  type OverduePeeks,
} from "./merge.js";
/** @internal */
export {
  ComputeMetrics,
  isWorkerStats,
  METRIC,
  type WorkerStats,
  type WorkerStatsMessage,
} from "./metrics.js";
export { OVERDUE_PEEK_MS } from "./overdue-peeks.js";
/** @internal */
export { applyFinishing, preLimit } from "./peek/finishing.js";
export { sinceErrorMessage } from "./peek/peek.js";
/** @internal */
export { compatibility, deepEqual, exportKey } from "./reconciliation.js";
export { type ComputeSpecOptions, createComputeSpec } from "./spec.js";
