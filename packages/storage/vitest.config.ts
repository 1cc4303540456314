import { defineProject } from "vitest/config";

export default defineProject({
  test: {
    name: "@mzts/storage",
    testTimeout: 30_000,
    hookTimeout: 30_000,
    include: ["src/**/*.test.ts", "test/**/*.test.ts"],
    // The files share one module cache per worker (persist, protocol and mz-cluster load once, not
    // per file). Safe because no test mocks modules or timers and every test stops what it starts
    // (`afterEach`); a file that needs either must get its own project with `isolate: true`.
    isolate: false,
  },
});
