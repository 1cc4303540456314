/**
 * `pnpm fuzz --seed N [--iterations K]`: random and mutated frames at a standalone clusterd (both
 * paths), then random plans and peeks at the environment API (see `fuzz.ts`). Progress on
 * stderr, the counts on stdout; exit code 0 when every invariant held, 1 when one did not, 2 on
 * a usage error. Ctrl-C stops everything it started.
 *
 *   pnpm fuzz --seed 1 --iterations 300
 *   pnpm fuzz --seed 1 --only clusterd
 */
import { parseArgs } from "node:util";
import { integerOption, usageExit } from "../harness/cli.js";
import { formatFuzzSummary, runFuzz } from "./fuzz.js";

const usage: (message: string) => never = usageExit(
  "fuzz",
  "usage: pnpm fuzz [--seed N] [--iterations K] [--only clusterd|api] [--bomb-mb MB] [--max-rss-growth-mb MB]",
);

let values: Record<string, string | undefined>;
try {
  values = parseArgs({
    options: {
      seed: { type: "string" },
      iterations: { type: "string" },
      only: { type: "string" },
      "bomb-mb": { type: "string" },
      "max-rss-growth-mb": { type: "string" },
    },
    strict: true,
  }).values as Record<string, string | undefined>;
} catch (e) {
  usage((e as Error).message);
}
const int = (name: string, v: string | undefined, dflt: number, min: number) =>
  integerOption(usage, name, v, dflt, min);
const seed = int("seed", values.seed, Date.now() % 1_000_000, 0);
const iterations = int("iterations", values.iterations, 200, 1);
if (values.only !== undefined && values.only !== "clusterd" && values.only !== "api")
  usage(`--only: expected clusterd or api, got "${values.only}"`);

const summary = await runFuzz({
  seed,
  iterations,
  parts: { clusterd: values.only !== "api", api: values.only !== "clusterd" },
  bombMb: int("bomb-mb", values["bomb-mb"], 256, 0),
  maxRssGrowthMb: int("max-rss-growth-mb", values["max-rss-growth-mb"], 200, 1),
});
process.stdout.write(`${formatFuzzSummary(summary).join("\n")}\n`);
process.exit(summary.problems.length === 0 ? 0 : 1);
