import { defineProject } from "vitest/config";

export default defineProject({
  test: {
    name: "@mzts/e2e",
    include: ["tests/**/*.test.ts"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Suites start real processes: one file at a time keeps the 2-core CI machine responsive.
    fileParallelism: false,
  },
});
