/**
 * CPU profiles of the processes the harness starts (`pnpm bench --profile`): when
 * `MZ_E2E_PROFILE_DIR` is set, every clusterd and environmentd the harness spawns runs with
 * `--cpu-prof --cpu-prof-dir=<dir>/<role>` (Node.js refuses `--cpu-prof` in `NODE_OPTIONS`, so the
 * options go on the command line), and environmentd passes the same to the replicas it starts
 * through its `MZ_CLUSTERD_NODE_ARGS`. A profile is written when the process exits normally
 * (SIGTERM for clusterd and environmentd), not after a SIGKILL.
 */
import { join } from "node:path";

export type ProfiledRole = "clusterd" | "environmentd";

/** The Node.js options that profile a process of `role`; none when profiling is off. */
export function profileNodeArgs(role: ProfiledRole): string[] {
  const dir = process.env.MZ_E2E_PROFILE_DIR;
  return dir === undefined || dir === "" ? [] : ["--cpu-prof", `--cpu-prof-dir=${join(dir, role)}`];
}

/** Whether the harness is profiling (callers then stop processes with SIGTERM, not SIGKILL). */
export const profiling = (): boolean => profileNodeArgs("clusterd").length > 0;
