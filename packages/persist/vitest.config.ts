import { defineProject } from "vitest/config";

export default defineProject({
  test: { name: "@mzts/persist", include: ["src/**/*.test.ts", "test/**/*.test.ts"] },
});
