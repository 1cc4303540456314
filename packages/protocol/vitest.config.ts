import { defineProject } from "vitest/config";

export default defineProject({
  test: { name: "@mzts/protocol", include: ["src/**/*.test.ts", "test/**/*.test.ts"] },
});
