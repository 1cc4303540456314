import { defineProject } from "vitest/config";

export default defineProject({
  test: {
    name: "@mzts/environmentd",
    testTimeout: 30_000,
    hookTimeout: 30_000,
    include: ["src/**/*.test.ts", "test/**/*.test.ts"],
    // The files share one module cache per worker (the controllers, persist and protocol load
    // once, not once per file). Safe because no test mocks a module or fakes timers, every spy is
    // restored (`afterEach(vi.restoreAllMocks)` in sqlite-reuse, a test's own objects in
    // clusters-reseat), and every test stops what it starts; a file that needs a module mock must
    // get its own project with `isolate: true`.
    isolate: false,
  },
});
