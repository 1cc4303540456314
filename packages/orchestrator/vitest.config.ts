import { defineProject } from "vitest/config";

export default defineProject({
  test: { name: "@mzts/orchestrator", include: ["src/**/*.test.ts", "test/**/*.test.ts"] },
});
