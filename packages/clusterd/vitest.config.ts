import { defineProject } from "vitest/config";

export default defineProject({
  test: { name: "@mzts/clusterd", include: ["src/**/*.test.ts", "test/**/*.test.ts"] },
});
