import { defineProject } from "vitest/config";

export default defineProject({
  test: {
    name: "@mzts/e2e",
    include: ["tests/**/*.test.ts"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Suites start real processes: one file at a time keeps the 2-core CI machine responsive.
    fileParallelism: false,
    // The files share one module graph: the packages' dist and the harness load once, not once
    // per file (~3 s of imports per file on the 2-core machine). Nothing here keeps state across
    // files: every file stops what it starts (afterAll: liveCount() 0, which now also sees a
    // process another file left behind) and no test mocks modules or timers.
    isolate: false,
  },
});
