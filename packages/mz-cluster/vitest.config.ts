import { defineProject } from "vitest/config";

export default defineProject({
  test: { name: "@mzts/mz-cluster", include: ["src/**/*.test.ts", "test/**/*.test.ts"] },
});
