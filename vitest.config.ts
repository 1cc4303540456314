// Root vitest config: runs every package's project and the e2e suite from the repository root
// (`pnpm vitest run`). Each package also has its own vitest.config.ts (defineProject) so that
// `turbo run test` can run them one package at a time.
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    projects: ["packages/*", "e2e"],
  },
});
