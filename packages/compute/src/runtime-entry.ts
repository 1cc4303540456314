/**
 * `@mzts/compute/runtime` — what starts compute's worker threads, without the rest of the
 * package: the unified spec (`createComputeSpec`, for mz-cluster's runtime) and the legacy
 * runtime. A (re)starting clusterd imports this entry first and spawns its workers before it
 * loads anything else (the root also loads rendering, peeks, logging and persist: work the
 * worker threads do, not the main thread), so the workers' module loading overlaps the main
 * thread's (issue 16, rehydration).
 */
export {
  // PHASE(servers): legacy — delete when cluster-unification-servers is retired
  createLegacyComputeRuntime,
  type LegacyComputeRuntimeOptions,
} from "./legacy/legacy-runtime.js";
export { type ComputeSpecOptions, createComputeSpec } from "./spec.js";
