import { defineProject } from "vitest/config";

export default defineProject({
  test: { name: "@mzts/repr", include: ["src/**/*.test.ts", "test/**/*.test.ts"] },
});
