import { defineProject } from "vitest/config";

export default defineProject({
  test: {
    name: "@mzts/clusterd",
    testTimeout: 30_000,
    hookTimeout: 30_000,
    include: ["src/**/*.test.ts", "test/**/*.test.ts"],
    // The files share one module cache per worker (dependencies load once, not once per file).
    // Safe because no test mocks a module, fakes timers or spies, and every test stops the
    // processes it starts; a file that needs a module mock must get its own project with
    // `isolate: true`.
    isolate: false,
  },
});
