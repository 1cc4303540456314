/**
 * Running one bench of a tree as a child process (@internal), for `pnpm bench --compare` and
 * `--profile`: `node [nodeArgs] --import tsx <tree>/e2e/bench/<name>.bench.ts [args]` with its
 * working directory in `<tree>/e2e`, so it imports and spawns that tree's build. Its stderr
 * (progress) is passed on line by line; its stdout (tables and result lines) is returned.
 */
import { join } from "node:path";
import { run } from "./exec.js";

/** The benches the drivers know, and the arguments that make one run of each. */
export const BENCHES = {
  phase1: { script: "phase1.bench.ts", args: ["--runs", "1"] },
  environment: { script: "environment.bench.ts", args: ["--runs", "1"] },
  // Command throughput with batching (issue 16's 100k/s goal): opt in by --benches.
  commands: { script: "commands.bench.ts", args: ["--runs", "1"] },
  // Needs environmentd's `LegacyClusterController` on both sides (issue 14): opt in by --benches.
  "state-scale": { script: "state-scale.bench.ts", args: [] },
} as const;
export type BenchName = keyof typeof BENCHES;

/** What `--compare` runs without `--benches`. */
export const DEFAULT_COMPARE_BENCHES: readonly BenchName[] = ["phase1", "environment"];

export function isBenchName(s: string): s is BenchName {
  return Object.hasOwn(BENCHES, s);
}

export interface BenchRun {
  readonly tree: string;
  readonly bench: BenchName;
  /** Extra arguments after the bench's own (e.g. the environment bench's section regex). */
  readonly args?: readonly string[];
  /** Node.js options before the script (e.g. `--cpu-prof`). */
  readonly nodeArgs?: readonly string[];
  /** Extra environment (inherits the driver's). */
  readonly env?: NodeJS.ProcessEnv;
  readonly onLine?: (line: string) => void;
}

/** Runs the bench once; resolves with its stdout, rejects (with the output's tail) on failure. */
export function runBench(r: BenchRun): Promise<string> {
  const b = BENCHES[r.bench];
  const e2e = join(r.tree, "e2e");
  return run(
    process.execPath,
    [
      ...(r.nodeArgs ?? []),
      "--import",
      "tsx",
      join(e2e, "bench", b.script),
      ...b.args,
      ...(r.args ?? []),
    ],
    e2e,
    r.onLine,
    r.env,
  );
}
