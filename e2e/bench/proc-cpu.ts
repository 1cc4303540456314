/**
 * CPU time of other processes from `/proc` (@internal, Linux): a bench reads it before and after
 * a loop to state the CPU per call of the processes that served it (steadier than latency on a
 * loaded machine: time spent waiting for a core is not in it).
 *
 * - `cpuTicks(pid)`: utime + stime of every thread (exited ones too), in clock ticks (`TICK_US` each: read over
 *   long phases only);
 * - `processCpuUs(pid)`: nanoseconds on CPU of every live thread (`schedstat`), in µs: fine enough
 *   for short phases, and the main thread alone with `mainOnly`.
 */
import { readdirSync, readFileSync } from "node:fs";

/** µs per clock tick of `/proc/<pid>/stat` (USER_HZ is 100 on Linux). */
export const TICK_US = 10_000;

/**
 * utime + stime of `pid` so far in clock ticks: every thread's, also those that exited
 * (`/proc/<pid>/stat`); 0 for a process that is gone.
 */
export function cpuTicks(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return Number(f[11]) + Number(f[12]);
  } catch {
    return 0;
  }
}

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
