/**
 * `@mzts/clusterd/testing`: starting a real clusterd process from a test (`startTestClusterd`,
 * loopback, port 0, a temp dir, stopped by the test's cleanup) and `waitUntil`, for the tests of
 * clusterd and of the controllers that drive it (not used by the running system).
 */
export {
  startTestClusterd,
  type TestClusterd,
  type TestClusterdOptions,
  TestClusterdStartFailed,
  waitUntil,
} from "./start-clusterd.js";
