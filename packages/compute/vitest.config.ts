import { defineProject } from "vitest/config";

export default defineProject({
  test: {
    name: "@mzts/compute",
    testTimeout: 30_000,
    hookTimeout: 30_000,
    include: ["src/**/*.test.ts", "test/**/*.test.ts"],
    // The files share one module cache per worker (dependencies load once, not once per file).
    // Safe because no test mocks a module (subscribe-sink observes sorts instead), a test that
    // fakes timers restores them in `afterEach` (overdue-peeks), every spy is restored
    // (`afterEach(vi.restoreAllMocks)` or on a test's own object), and every test stops what it
    // starts; a file that needs a module mock must get its own project with
    // `isolate: true`.
    isolate: false,
  },
});
