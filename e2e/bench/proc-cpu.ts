/**
 * CPU time of other processes from `/proc` (@internal, Linux): a bench reads it before and after
 * a loop to state CPU per call of the processes that served it (steadier than latency on a
 * loaded machine: time spent waiting for a core is not in it).
 */
import { readdirSync, readFileSync } from "node:fs";

/** µs per clock tick of `/proc/<pid>/stat` (USER_HZ is 100 on Linux). */
export const TICK_US = 10_000;

/** utime + stime (ticks) of one task's stat line. */
function ticksOf(stat: string): number {
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return Number(f[11]) + Number(f[12]);
}

/** CPU ticks of `pid` so far, all its threads (0 for a process that is gone). */
export function cpuTicks(pid: number): number {
  let tasks: string[];
  try {
    tasks = readdirSync(`/proc/${pid}/task`);
  } catch {
    return 0;
  }
  let sum = 0;
  for (const tid of tasks) {
    try {
      sum += ticksOf(readFileSync(`/proc/${pid}/task/${tid}/stat`, "utf8"));
    } catch {
      // the thread ended meanwhile
    }
  }
  return sum;
}
