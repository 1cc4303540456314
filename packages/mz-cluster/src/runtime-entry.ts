/**
 * `@mzts/mz-cluster/runtime` — the runtime without the serving side: worker threads (the mesh),
 * the unified runtime's main-thread half, and what a worker thread builds on (the exchange
 * router, response batching, the maintenance timer).
 *
 * Worker threads and a replica's first moments import this entry, not the package root: the root
 * also serves controllers (Connect over HTTP/2, the protobuf codecs of `@mzts/protocol`), about
 * 140 modules that a worker never runs and that each worker thread would load again (its own
 * module cache) before a restarted replica can serve (issue 16, rehydration).
 * `runtime-imports.test.ts` guards it.
 */

export type { ClusterSpec, ClusterWorker, WorkerContext, WorkerSpec } from "./cluster-spec.js";
export {
  type ExchangeAllocator,
  type ExchangeChannel,
  type ExchangeMesh,
  ExchangeRouter,
} from "./communication/exchange-router.js";
export {
  joinMesh,
  MAIN,
  type MainMesh,
  type MeshEnvelope,
  spawnMesh,
  type WorkerMesh,
} from "./communication/mesh.js";
export { ResponseBatcher } from "./communication/response-batcher.js";
export { ClusterError } from "./errors.js";
export type { RuntimeLogging } from "./logging/runtime-logging.js";
export {
  type ClusterRuntime,
  type ClusterRuntimeOptions,
  createClusterRuntime,
  WorkerFailed,
} from "./runtime.js";
export { MaintenanceTimer, type MaintenanceTimerOptions } from "./worker/maintenance-timer.js";
export { forwardRuns, type RuntimeLoggingInit } from "./worker/messages.js";
