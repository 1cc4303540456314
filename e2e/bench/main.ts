/**
 * `pnpm bench` (the root script): with no option, every package's bench through turbo (as
 * before); `pnpm bench <name> [args]` one e2e bench (`e2e/bench/<name>.bench.ts`, e.g.
 * `state-scale`) after building what e2e imports; `--compare <git-ref>` the regression gate (`compare/compare.ts`); `--profile` CPU
 * profiles of the phase-1 and environment benches (`profile/profile.ts`). Exit codes: 0 pass,
 * 1 a regression (`--compare`), 2 a usage error (also an unknown ref), 3 a build or bench failed.
 */
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { usageExit } from "../src/harness/cli.js";
import { runCompare } from "./compare/compare.js";
import { BenchUsageError } from "./exec.js";
import { runProfile } from "./profile/profile.js";
import { BENCHES, DEFAULT_COMPARE_BENCHES, isBenchName } from "./runner.js";

const USAGE = `usage: pnpm bench                      every package's bench (turbo, one at a time)
       pnpm bench <name> [args]        one e2e bench, e2e/bench/<name>.bench.ts (e.g. state-scale;
                                       its own --help), after building what e2e imports
       pnpm bench --compare <git-ref> [--rounds N] [--max-rounds M] [--benches phase1,environment]
                  [--sections REGEX] [--threshold F]
       pnpm bench --profile [--top N]
  --compare     build <git-ref> in a temporary git worktree, run the same benches on it and on this
                tree interleaved, print medians and ratios; exit 1 when a tracked figure is more
                than --threshold (default 0.10) worse
  --rounds      interleaved rounds (default 3, at least 3)
  --max-rounds  rounds allowed when a tracked figure is inconclusive (default 2 × rounds)
  --benches     which benches (default ${DEFAULT_COMPARE_BENCHES.join(",")}; also ${Object.keys(
    BENCHES,
  )
    .filter((b) => !DEFAULT_COMPARE_BENCHES.includes(b as never))
    .join(",")})
  --sections    the environment bench's sections (regex over peek, replica-restart,
                environmentd-restart; default all)
  --profile     run the phase-1 and environment (peek) benches under --cpu-prof for the driver,
                environmentd and clusterd; profiles + top-N self-time summaries under
                bench-profiles/<date>/
  --top         functions per summary (default 30)
env: the benches' own knobs pass through (BENCH_LAT_N, BENCH_TPUT_N, …; see each bench's --help)`;

const usage = usageExit("bench", USAGE);
const repoRoot = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const argv = process.argv.slice(2);
// `pnpm bench <name> [args]`: one e2e bench, its arguments passed through.
const named = argv[0];
if (named !== undefined && !named.startsWith("-")) {
  const benchDir = join(repoRoot, "e2e", "bench");
  const script = join(benchDir, `${named}.bench.ts`);
  if (!/^[a-z0-9-]+$/.test(named) || !existsSync(script)) {
    const known = readdirSync(benchDir)
      .filter((f) => f.endsWith(".bench.ts"))
      .map((f) => f.slice(0, -".bench.ts".length));
    usage(`unknown bench "${named}" (${known.join(", ")})`);
  }
  const env = { ...process.env, TURBO_TELEMETRY_DISABLED: "1" };
  const built = spawnSync("turbo", ["run", "build", "--filter=@mzts/e2e^..."], {
    cwd: repoRoot,
    // Build output on stderr: the bench's stdout is its table and result lines.
    stdio: ["ignore", process.stderr, process.stderr],
    env,
  });
  if (built.status !== 0) process.exit(3);
  const r = spawnSync(process.execPath, ["--import", "tsx", script, ...argv.slice(1)], {
    cwd: join(repoRoot, "e2e"),
    stdio: "inherit",
  });
  process.exit(r.status ?? 3);
}

if (argv.includes("--help") || argv.includes("-h")) {
  console.log(USAGE);
  process.exit(0);
}

const opts = new Map<string, string>();
const flags = new Set<string>();
for (let i = 0; i < argv.length; i++) {
  const a = argv[i]!;
  if (a === "--profile") flags.add(a);
  else if (
    [
      "--compare",
      "--rounds",
      "--max-rounds",
      "--benches",
      "--sections",
      "--threshold",
      "--top",
    ].includes(a)
  ) {
    const v = argv[++i];
    if (v === undefined || v.startsWith("--")) usage(`${a} needs a value`);
    else opts.set(a, v);
  } else usage(`unknown argument "${a}"`);
}

const int = (name: string, dflt: number, min: number) => {
  const v = opts.get(name);
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < min)
    usage(`${name}: expected an integer ≥ ${min}, got "${v}"`);
  return n;
};

if (opts.has("--compare") && flags.has("--profile"))
  usage("--compare and --profile are separate runs; pick one");

if (opts.has("--compare")) {
  const rounds = int("--rounds", 3, 3);
  const maxRounds = int("--max-rounds", 2 * rounds, rounds);
  const benches = (opts.get("--benches") ?? DEFAULT_COMPARE_BENCHES.join(",")).split(",");
  for (const b of benches)
    if (!isBenchName(b))
      usage(`--benches: unknown bench "${b}" (${Object.keys(BENCHES).join(", ")})`);
  const threshold = Number(opts.get("--threshold") ?? 0.1);
  if (!(threshold > 0 && threshold < 1)) usage(`--threshold: expected a fraction in (0, 1)`);
  const sections = opts.get("--sections");
  try {
    process.exitCode = await runCompare({
      repoRoot,
      ref: opts.get("--compare")!,
      rounds,
      maxRounds,
      benches: benches.filter(isBenchName),
      threshold,
      ...(sections === undefined ? {} : { sections }),
    });
  } catch (e) {
    if (e instanceof BenchUsageError) usage(e.message);
    process.stderr.write(`bench --compare failed: ${(e as Error).message}\n`);
    process.exitCode = 3;
  }
} else if (flags.has("--profile")) {
  try {
    await runProfile({ repoRoot, top: int("--top", 30, 1) });
  } catch (e) {
    process.stderr.write(`bench --profile failed: ${(e as Error).message}\n`);
    process.exitCode = 3;
  }
} else {
  if (opts.size > 0) usage(`${[...opts.keys()].join(", ")} only go with --compare or --profile`);
  const r = spawnSync("turbo", ["run", "bench", "--concurrency=1"], {
    cwd: repoRoot,
    stdio: "inherit",
    env: { ...process.env, TURBO_TELEMETRY_DISABLED: "1" },
  });
  process.exitCode = r.status ?? 1;
}
