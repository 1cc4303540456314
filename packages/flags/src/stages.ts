/**
 * Migration stages (docs/design/20261207_migration_stages.md): a phase flag may be a boolean or a
 * LaunchDarkly migration stage. `false` is `off` and `true` is `complete`; the middle stages run
 * both paths of the phase side by side, one of them authoritative.
 *
 * | stage | both paths run | authoritative | compared |
 * |---|---|---|---|
 * | `off` (= false) | no | legacy | — |
 * | `dualwrite` | yes | legacy | no |
 * | `shadow` | yes | legacy | yes |
 * | `live` | yes | unified | yes |
 * | `rampdown` | yes | unified | no |
 * | `complete` (= true) | no | unified | — |
 *
 * LaunchDarkly's six-stage order is kept, so a six-stage migration flag evaluates; the four-stage
 * form (`off`, `shadow`, `live`, `complete`) is the one this project's rollouts use.
 */

/** The stages, in rollout order. */
export const STAGES = ["off", "dualwrite", "shadow", "live", "rampdown", "complete"] as const;

/** One migration stage. */
export type Stage = (typeof STAGES)[number];

/** What a phase flag may evaluate to: a boolean or a stage. */
export type PhaseFlagValue = boolean | Stage;

/** The path of a phase that a composition root runs. */
export type PhasePath = "legacy" | "unified";

/** Whether `value` names a stage. */
export function isStage(value: unknown): value is Stage {
  return typeof value === "string" && (STAGES as readonly string[]).includes(value);
}

/** Whether `value` is a valid phase flag value (a boolean or a stage). */
export function isPhaseFlagValue(value: unknown): value is PhaseFlagValue {
  return typeof value === "boolean" || isStage(value);
}

/** The stage a flag value means: `false` → `off`, `true` → `complete`, a stage → itself. */
export function stageOf(value: PhaseFlagValue): Stage {
  if (value === true) return "complete";
  if (value === false) return "off";
  return value;
}

/** Whether both paths run in `stage` (the four middle stages). */
export function isMigrating(stage: Stage): boolean {
  return stage !== "off" && stage !== "complete";
}

/** The path whose answers count in `stage`. */
export function authoritativePath(stage: Stage): PhasePath {
  return stage === "live" || stage === "rampdown" || stage === "complete" ? "unified" : "legacy";
}

/** Whether the other path's answers are compared with the authoritative one's in `stage`. */
export function comparesPaths(stage: Stage): boolean {
  return stage === "shadow" || stage === "live";
}
