import { defineProject } from "vitest/config";

export default defineProject({
  test: { name: "@mzts/compute-client", include: ["src/**/*.test.ts", "test/**/*.test.ts"] },
});
