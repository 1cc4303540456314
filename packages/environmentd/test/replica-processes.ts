/**
 * Helpers of the tests that run real replicas: the PhaseSet a clusterd process was started with
 * (read from its command line, Linux), and polling until a condition holds.
 */
import { readFileSync } from "node:fs";
import { PhaseSet } from "@mzts/flags";

/** The `--phases` PhaseSet a replica process was started with (Linux: its command line). */
export function phasesOfProcess(pid: number): PhaseSet {
  const argv = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
  return PhaseSet.parse(argv[argv.indexOf("--phases") + 1] ?? "");
}

/** Polls `f` every 50 ms until it holds; throws naming `what` after `timeoutMs`. */
export async function until(
  what: string,
  f: () => boolean | Promise<boolean>,
  timeoutMs = 60_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await f())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
