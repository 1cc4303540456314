/**
 * What the environment bench started, and how it is stopped whatever happens (its own file so the
 * bench stays readable): the data directories, echo servers and environmentds it started are
 * killed on exit (`reapAllSync`, also when the harness exits on SIGINT/SIGTERM), and `teardown`
 * stops one data directory's processes — kill -9, or under profiling SIGTERM first so CPU
 * profiles are written.
 */
import type { ChildProcess } from "node:child_process";
import { rmSync } from "node:fs";
import {
  isOurClusterd,
  type ReplicaRecordView,
  readReplicaRecords,
} from "../src/harness/environment.js";
import type { Started } from "../src/harness/processes.js";
import { profiling } from "../src/harness/profile.js";

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export const dataDirs = new Set<string>();
export const echoServers = new Set<ChildProcess>();
export const environmentds = new Set<Started>();

export type ReplicaRecord = ReplicaRecordView;
export const readRecords = readReplicaRecords;

export function killPid(pid: number): void {
  try {
    process.kill(pid, "SIGKILL");
  } catch {
    // already gone
  }
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** Synchronous, for the `exit` handler: environmentds first (no more restarts), then replicas. */
function reapAllSync(): void {
  for (const c of echoServers) c.kill("SIGKILL");
  for (const e of environmentds) if (e.child.pid !== undefined) killPid(e.child.pid);
  // An orchestrator may have been spawning a replica as it died: give the kill a moment.
  if (environmentds.size > 0) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 150);
  for (const dir of dataDirs) {
    for (const r of readRecords(dir)) if (isOurClusterd(r.pid, dir)) killPid(r.pid);
    rmSync(dir, { recursive: true, force: true });
  }
}
// The harness (imported above) kills its children and exits on SIGINT/SIGTERM; this runs then.
process.once("exit", reapAllSync);

export async function stopEnvironmentd(
  e: Started,
  signal: NodeJS.Signals = "SIGKILL",
): Promise<void> {
  if (e.child.exitCode === null && e.child.signalCode === null) e.child.kill(signal);
  if (signal !== "SIGKILL") {
    // Graceful (profiles): give it 10 s to write its profile, then kill it.
    const t = setTimeout(() => e.child.kill("SIGKILL"), 10_000);
    await e.exited;
    clearTimeout(t);
  }
  await e.exited;
  environmentds.delete(e);
}

/**
 * Stops processes that are not our children (replicas outlive their environmentd): when
 * `graceful`, SIGTERM and up to 10 s to exit (a process run with --cpu-prof writes its profile
 * on a graceful exit); then SIGKILL, and up to 5 s for them to be gone.
 */
export async function stopPids(pids: readonly number[], graceful: boolean): Promise<void> {
  if (graceful) {
    for (const pid of pids) {
      try {
        process.kill(pid, "SIGTERM");
      } catch {
        // already gone
      }
    }
    const deadline = Date.now() + 10_000;
    while (pids.some(alive) && Date.now() < deadline) await sleep(50);
  }
  for (const pid of pids) killPid(pid);
  const deadline = Date.now() + 5000;
  while (pids.some(alive) && Date.now() < deadline) await sleep(20);
}

/**
 * Stops everything of one data dir and removes it: kill -9, or under profiling SIGTERM first
 * (environmentd, then its replicas) so their CPU profiles are written.
 */
export async function teardown(dir: string, envs: Iterable<Started>): Promise<void> {
  const graceful = profiling();
  for (const e of [...envs]) await stopEnvironmentd(e, graceful ? "SIGTERM" : "SIGKILL");
  const pids = readRecords(dir)
    .map((r) => r.pid)
    .filter((pid) => isOurClusterd(pid, dir));
  await stopPids(pids, graceful);
  rmSync(dir, { recursive: true, force: true });
  dataDirs.delete(dir);
}
