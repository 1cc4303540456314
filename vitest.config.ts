// Root vitest config: runs every package's vitest project from the repository root
// (`pnpm exec vitest run`). Each package also has its own vitest.config.ts (defineProject) so that
// `turbo run test` runs them one package at a time; `e2e/` starts real clusterd processes.
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    projects: ["packages/*", "e2e"],
  },
});
