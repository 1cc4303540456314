import { defineProject } from "vitest/config";

export default defineProject({
  test: {
    name: "@mzts/storage-client",
    testTimeout: 30_000,
    hookTimeout: 30_000,
    include: ["src/**/*.test.ts", "test/**/*.test.ts"],
  },
});
