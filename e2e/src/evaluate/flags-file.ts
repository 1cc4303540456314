/**
 * The flags file of an evaluation: full LaunchDarkly flag definitions (the SDK's file data
 * source) with a rule on the `cluster` context, so one environmentd runs the baseline cluster
 * with some phases and the candidate cluster with more.
 *
 * For each phase: on for both sides → `fallthrough` true; on for the candidate only → a rule
 * `cluster.key in [candidate id]` serving true (or the migration stage of `--stage`, e.g.
 * `"shadow"`), fallthrough false; off for both → fallthrough false. Every phase flag is present (an absent flag would be off anyway; present, the file says
 * what the run did). The text is checked with `@mzts/flags`' own parser before it is written.
 */
import { writeFileSync } from "node:fs";
import { FLAG_KEYS, PHASES, type Phase, parseFlagsFile, type Stage } from "@mzts/flags";

/** The flags file text for the two sides. */
export function evaluationFlags(opts: {
  readonly candidateClusterId: string;
  readonly baseline: readonly Phase[];
  readonly candidate: readonly Phase[];
  /**
   * A migration stage the candidate's own phases are served as, instead of `true`
   * (`pnpm evaluate <phase> --stage shadow|live`).
   */
  readonly stage?: Stage;
}): string {
  const flags: Record<string, unknown> = {};
  for (const phase of PHASES) {
    const key = FLAG_KEYS[phase];
    const both = opts.baseline.includes(phase);
    const candidateOnly = !both && opts.candidate.includes(phase);
    flags[key] = {
      key,
      on: true,
      variations: [candidateOnly && opts.stage !== undefined ? opts.stage : true, false],
      offVariation: 1,
      fallthrough: { variation: both ? 0 : 1 },
      rules: candidateOnly
        ? [
            {
              id: `evaluate-${phase}-candidate`,
              variation: 0,
              clauses: [
                {
                  contextKind: "cluster",
                  attribute: "key",
                  op: "in",
                  values: [opts.candidateClusterId],
                  negate: false,
                },
              ],
            },
          ]
        : [],
      salt: `evaluate-${phase}`,
      version: 1,
    };
  }
  const text = `${JSON.stringify({ flags }, null, 2)}\n`;
  parseFlagsFile("<evaluation flags>", text);
  return text;
}

/** Writes `evaluationFlags(opts)` to `file`. */
export function writeEvaluationFlags(
  file: string,
  opts: Parameters<typeof evaluationFlags>[0],
): void {
  writeFileSync(file, evaluationFlags(opts));
}
