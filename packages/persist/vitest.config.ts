import { defineProject } from "vitest/config";

export default defineProject({
  test: {
    name: "@mzts/persist",
    testTimeout: 30_000,
    hookTimeout: 30_000,
    include: ["src/**/*.test.ts", "test/**/*.test.ts"],
    // The files share one module cache per worker (dependencies load once, not once per file).
    // Safe because no test mocks a module or fakes timers, change-watch's spies are restored in
    // `finally`, and every test closes what it opens; a file that needs a module mock must get its
    // own project with `isolate: true`.
    isolate: false,
  },
});
