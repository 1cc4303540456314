import { defineProject } from "vitest/config";

export default defineProject({
  test: { name: "@mzts/dataflow", include: ["src/**/*.test.ts", "test/**/*.test.ts"] },
});
