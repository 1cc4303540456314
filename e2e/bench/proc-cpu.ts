/**
 * CPU time of a bench's server process from `/proc` (@internal): figures that the machine's load
 * does not inflate the way it inflates wall time.
 */
import { readdirSync, readFileSync } from "node:fs";

/**
 * CPU time (µs) of every live thread of process `pid` so far (`/proc/<pid>/task/<t>/schedstat`,
 * nanoseconds on CPU), or of its main thread only. NaN where /proc is missing.
 */
export function processCpuUs(pid: number | undefined, mainOnly = false): number {
  if (pid === undefined) return Number.NaN;
  try {
    let ns = 0;
    for (const t of mainOnly ? [String(pid)] : readdirSync(`/proc/${pid}/task`)) {
      try {
        ns += Number(readFileSync(`/proc/${pid}/task/${t}/schedstat`, "utf8").split(" ")[0]);
      } catch {
        // The thread exited between the listing and the read.
      }
    }
    return ns / 1000;
  } catch {
    return Number.NaN;
  }
}
