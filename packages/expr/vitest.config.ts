import { defineProject } from "vitest/config";

export default defineProject({
  test: { name: "@mzts/expr", include: ["src/**/*.test.ts", "test/**/*.test.ts"] },
});
