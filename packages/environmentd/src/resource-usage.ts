/**
 * Resource figures read from the operating system, shared by `pnpm soak`, `pnpm chaos` and
 * `pnpm fuzz`: a process's resident set size and its peak (from `/proc/<pid>/status`, Linux
 * only: undefined elsewhere or when the process is gone) and the bytes and file count under a
 * directory (the data directory, persist's blob directory).
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";

function statusKb(pid: number, field: "VmRSS" | "VmHWM"): number | undefined {
  try {
    const m = new RegExp(`${field}:\\s+(\\d+) kB`).exec(
      readFileSync(`/proc/${pid}/status`, "utf8"),
    );
    return m === null ? undefined : Number(m[1]);
  } catch {
    return undefined;
  }
}

/** Resident set size of a process in MB, or undefined when it is gone (or not on Linux). */
export function rssMb(pid: number): number | undefined {
  const kb = statusKb(pid, "VmRSS");
  return kb === undefined ? undefined : kb / 1024;
}

/** The peak resident set size of a process so far (VmHWM) in MB, or undefined. */
export function peakRssMb(pid: number): number | undefined {
  const kb = statusKb(pid, "VmHWM");
  return kb === undefined ? undefined : kb / 1024;
}

/** Bytes and file count under `path` (0 when absent; files removed while walking are skipped). */
export function diskUsage(path: string): { bytes: number; files: number } {
  let bytes = 0;
  let files = 0;
  const walk = (p: string) => {
    let st: ReturnType<typeof statSync>;
    try {
      st = statSync(p);
    } catch {
      return; // removed while walking (compaction)
    }
    if (st.isDirectory()) {
      let names: string[] = [];
      try {
        names = readdirSync(p);
      } catch {
        return;
      }
      for (const n of names) walk(join(p, n));
    } else {
      bytes += st.size;
      files++;
    }
  };
  walk(path);
  return { bytes, files };
}
