/**
 * `pnpm evaluate`'s first argument: a phase or `all`. Its own module so that the command line
 * can check its arguments (and exit 2 on a usage error) before loading the checks and the harness.
 */
import { isPhase, type Phase } from "@mzts/flags";

/** `pnpm evaluate`'s first argument. */
export type Target = Phase | "all";

export function isTarget(value: string): value is Target {
  return value === "all" || isPhase(value);
}
