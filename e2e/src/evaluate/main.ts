/**
 * `pnpm evaluate <phase|all> [--minutes M | --seconds S] [--out DIR]`: the phase off and on side
 * by side on one environmentd (`evaluate.ts`); the report goes to
 * `<out>/<phase>-<date>/report.{json,html}` (default out: `evaluation`).
 * `pnpm evaluate consistency [--seed N] [--steps K]`: a seeded random workload on two clusters,
 * every built phase off and on, must answer alike (`consistency.ts`).
 * `pnpm evaluate <phase> --stage shadow|live [--seconds S]`: the workload with the candidate's
 * phase in that migration stage on two replicas; environmentd's comparison counts are the
 * verdict (`stage-run.ts`; `report.{json,html}`).
 *
 * Progress goes to stderr, the verdict line and the report's path to stdout. Exit code: 0 pass
 * (or nothing to evaluate: the phase is not built, which is said), 1 fail, 2 usage error.
 * Ctrl-C stops everything it started (`harness/processes.ts`, `session.ts`).
 *
 *   pnpm evaluate servers --minutes 5
 *   pnpm evaluate consistency --seed 7 --steps 200
 *   pnpm evaluate servers --stage shadow --seconds 30
 */
import { parseArgs } from "node:util";
import { PHASES } from "@mzts/flags";
import { integerOption, positiveOption, usageExit } from "../harness/cli.js";
import { isTarget } from "./target.js";

const USAGE = `usage: pnpm evaluate <${PHASES.join("|")}|all> [--minutes M | --seconds S] [--out DIR]
       pnpm evaluate <${PHASES.join("|")}> --stage shadow|live [--minutes M | --seconds S] [--out DIR]
       pnpm evaluate consistency [--seed N] [--steps K]`;

const usage: (message: string) => never = usageExit("evaluate", USAGE);
const positive = (name: string, v: string | undefined, dflt: number) =>
  positiveOption(usage, name, v, dflt);

let parsed: { values: Record<string, string | undefined>; positionals: string[] };
try {
  parsed = parseArgs({
    options: {
      minutes: { type: "string" },
      seconds: { type: "string" },
      out: { type: "string" },
      seed: { type: "string" },
      steps: { type: "string" },
      stage: { type: "string" },
    },
    allowPositionals: true,
    strict: true,
  }) as typeof parsed;
} catch (e) {
  usage((e as Error).message);
}
const { values, positionals } = parsed;
const [what, ...extra] = positionals;
if (what === undefined) usage("say what to evaluate");
if (extra.length > 0) usage(`unexpected arguments: ${extra.join(" ")}`);

if (what === "consistency") {
  for (const k of ["minutes", "seconds", "out", "stage"]) {
    if (values[k] !== undefined) usage(`--${k} is not an option of consistency`);
  }
  const seed = integerOption(usage, "seed", values.seed, Date.now() % 1_000_000, 0);
  const steps = integerOption(usage, "steps", values.steps, 60, 1);
  const { runConsistency } = await import("./consistency.js");
  const r = await runConsistency({ seed, steps });
  process.stdout.write(`${r.summary.join("\n")}\n`);
  process.exit(r.problems.length === 0 ? 0 : 1);
}

if (!isTarget(what))
  usage(`unknown phase "${what}" (expected one of ${PHASES.join(", ")}, all, consistency)`);
for (const k of ["seed", "steps"]) {
  if (values[k] !== undefined) usage(`--${k} is an option of consistency only`);
}
if (values.minutes !== undefined && values.seconds !== undefined) {
  usage("give --minutes or --seconds, not both");
}
const seconds =
  values.seconds !== undefined
    ? positive("seconds", values.seconds, 0)
    : positive("minutes", values.minutes, 2) * 60;
if (values.stage !== undefined) {
  const stage = values.stage;
  if (what === "all") usage("--stage takes one phase, not all");
  if (stage !== "shadow" && stage !== "live") {
    usage(`--stage must be shadow or live (the stages that compare), got "${stage}"`);
  }
  const { runStageEvaluation } = await import("./stage-run.js");
  const r = await runStageEvaluation({
    phase: what,
    stage,
    seconds,
    ...(values.out === undefined ? {} : { outDir: values.out }),
  });
  if (r.skipped !== undefined) {
    process.stdout.write(
      `evaluate ${what} --stage ${stage}: nothing to evaluate (${r.skipped}); skipped\n`,
    );
    process.exit(0);
  }
  process.stdout.write(
    `evaluate ${what} --stage ${stage}: ${r.report.verdict.toUpperCase()} — ${r.dir}/report.html\n`,
  );
  process.exit(r.report.verdict === "pass" ? 0 : 1);
}
// Imported once the arguments are good, so usage errors answer at once.
const { runEvaluation } = await import("./evaluate.js");
const result = await runEvaluation({
  target: what,
  seconds,
  ...(values.out === undefined ? {} : { outDir: values.out }),
});
if (result.skipped !== undefined) {
  process.stdout.write(
    `evaluate ${what}: nothing to evaluate (${result.skipped.skipped.map((s) => s.reason).join("; ")}); skipped\n`,
  );
  process.exit(0);
}
process.stdout.write(
  `evaluate ${what}: ${result.report.verdict.toUpperCase()} — ${result.dir}/report.html\n`,
);
process.exit(result.report.verdict === "pass" ? 0 : 1);
