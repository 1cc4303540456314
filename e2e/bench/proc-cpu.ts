/**
 * CPU time of other processes from `/proc` (@internal, Linux): a bench reads it before and after
 * a loop to state the CPU per call of the processes that served it (steadier than latency on a
 * loaded machine: time spent waiting for a core is not in it).
 *
 * - `cpuTicks(pid)`: utime + stime of every thread (exited ones too), in clock ticks (`TICK_US` each: read over
 *   long phases only);
 * - `processUserSysUs(pid)`: the same split into user and system time (µs);
 * - `processCpuUs(pid)`: nanoseconds on CPU of every live thread (`schedstat`), in µs: fine enough
 *   for short phases, and the main thread alone with `mainOnly`.
 */
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";

/** Clock ticks per second of `/proc/<pid>/stat`'s times (`getconf CLK_TCK`; 100 on Linux). */
const CLK_TCK = (() => {
  try {
    return Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/** µs per clock tick of `/proc/<pid>/stat`. */
export const TICK_US = 1e6 / CLK_TCK;

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
 * User and system CPU time (µs) of process `pid` so far, every thread's (also exited ones'):
 * `utime` / `stime` of `/proc/<pid>/stat`, in clock ticks (10 ms: read over long phases only).
 * NaN where /proc is missing.
 */
export function processUserSysUs(pid: number | undefined): { user: number; sys: number } {
  if (pid === undefined) return { user: Number.NaN, sys: Number.NaN };
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Fields after the command name (which may hold spaces): state is field 3, utime 14, stime 15.
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return { user: Number(f[11]) * TICK_US, sys: Number(f[12]) * TICK_US };
  } catch {
    return { user: Number.NaN, sys: Number.NaN };
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
