/**
 * `@mzts/mz-cluster/testing`: helpers for the tests of the workloads that run on the runtime
 * (@internal — no semver; not used by the running system): `TestWorkerLoop`, a worker thread's
 * step and maintenance loop around one workload state in the test's thread, `until`, and `prng`
 * (seeded model tests), `loadedModules` (what an import loads: startup-import tests).
 */

export { prng } from "@mzts/repr";
export { loadedModules } from "./loaded-modules.js";
export { TestWorkerLoop, type TestWorkerLoopOptions, until } from "./worker-loop.js";
