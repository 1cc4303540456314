import { defineProject } from "vitest/config";

export default defineProject({
  test: { name: "@mzts/flags", include: ["src/**/*.test.ts", "test/**/*.test.ts"] },
});
