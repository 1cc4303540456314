import { defineProject } from "vitest/config";

export default defineProject({
  test: {
    name: "@mzts/protocol",
    testTimeout: 30_000,
    hookTimeout: 30_000,
    include: ["src/**/*.test.ts", "test/**/*.test.ts"],
    // The files share one module cache per worker: most import the generated protobuf registry,
    // which an isolated run re-imported per file (~3/4 of the suite's time). Safe because no test
    // mocks modules or timers, and the one spy (`partitioned-state.test.ts`) is restored in
    // `finally`; a file that needs either must get its own project with `isolate: true`.
    isolate: false,
  },
});
