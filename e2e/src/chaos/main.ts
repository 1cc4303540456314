/**
 * `pnpm chaos --seed N --minutes M`: seeded kill -9 of replicas and environmentd under load (see
 * `chaos.ts`). Progress on stderr every 5 s, the summary on stdout; exit code 0 when every
 * invariant held, 1 when one did not, 2 on a usage error. Ctrl-C stops everything it started.
 *
 *   pnpm chaos --seed 7 --minutes 20
 *   pnpm chaos --seed 1 --seconds 75 --gap 3,8 --kinds replica,both
 *   pnpm chaos --seed 2371 --kills 6      (the suite's slice: six kills, every kind)
 */
import { parseArgs } from "node:util";
import { integerOption, positiveOption, usageExit } from "../harness/cli.js";
import { KILL_KINDS, type KillKind } from "./kinds.js";

const usage: (message: string) => never = usageExit(
  "chaos",
  "usage: pnpm chaos [--seed N] [--minutes M | --seconds S] [--kills N] [--gap MIN,MAX] [--max-blobs N] [--recovery S] [--kinds replica,both,environmentd,environmentd-ddl]",
);
const positive = (name: string, v: string | undefined, dflt: number) =>
  positiveOption(usage, name, v, dflt);

let values: Record<string, string | undefined>;
try {
  values = parseArgs({
    options: {
      seed: { type: "string" },
      minutes: { type: "string" },
      seconds: { type: "string" },
      kills: { type: "string" },
      gap: { type: "string" },
      "max-blobs": { type: "string" },
      recovery: { type: "string" },
      kinds: { type: "string" },
    },
    strict: true,
  }).values as Record<string, string | undefined>;
} catch (e) {
  usage((e as Error).message);
}
const seed = integerOption(usage, "seed", values.seed, Date.now() % 1_000_000, 0);
// With --kills the time is only a bound (default 10 minutes).
const seconds =
  values.seconds !== undefined
    ? positive("seconds", values.seconds, 0)
    : positive("minutes", values.minutes, values.kills === undefined ? 2 : 10) * 60;
const kills =
  values.kills === undefined ? undefined : integerOption(usage, "kills", values.kills, 0, 1);
const gap = (values.gap ?? "5,15").split(",").map(Number);
if (gap.length !== 2 || gap.some((g) => !(g > 0)) || (gap[0] as number) > (gap[1] as number))
  usage(`--gap: expected MIN,MAX seconds, got "${values.gap}"`);

const kinds = (values.kinds ?? KILL_KINDS.join(",")).split(",");
for (const k of kinds)
  if (!(KILL_KINDS as readonly string[]).includes(k))
    usage(`--kinds: unknown kind "${k}" (expected some of ${KILL_KINDS.join(", ")})`);

// Loaded only once the arguments are good: a usage error exits at once.
const { formatChaosSummary, runChaos } = await import("./chaos.js");
const summary = await runChaos({
  kinds: kinds as KillKind[],
  seed,
  seconds,
  ...(kills === undefined ? {} : { kills }),
  gapS: [gap[0] as number, gap[1] as number],
  maxBlobs: positive("max-blobs", values["max-blobs"], 400),
  recoveryS: positive("recovery", values.recovery, 10),
});
process.stdout.write(`${formatChaosSummary(summary).join("\n")}\n`);
process.exit(summary.problems.length === 0 ? 0 : 1);
