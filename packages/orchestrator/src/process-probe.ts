/**
 * Looking at processes that are not (or no longer) our children: is a pid alive, is it really a
 * given replica's clusterd, does its `/health` answer for that replica, and stopping it.
 *
 * A pid alone proves nothing after a reboot or a long outage (pids are reused), so adoption needs
 * all three: alive (and not a zombie), `/proc/<pid>/cmdline` naming the clusterd entry with the
 * replica's `--replica-id` and `--cluster-id`, and `/health` answering 200 with the same ids.
 */
import { readFileSync } from "node:fs";
import http from "node:http";
import { setTimeout as sleep } from "node:timers/promises";

/** Whether `pid` exists and is not a zombie. */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
  try {
    // "pid (comm) S ..." — the state follows the last ')'.
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const state = stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
    return state !== "Z" && state !== "X";
  } catch {
    return true; // no procfs: trust kill(0)
  }
}

/** The argv of `pid`, or null when it cannot be read (gone, or no procfs). */
export function readCmdline(pid: number): string[] | null {
  try {
    const raw = readFileSync(`/proc/${pid}/cmdline`, "utf8");
    return raw.split("\0").filter((s) => s !== "");
  } catch {
    return null;
  }
}

function flagValue(argv: readonly string[], flag: string): string | undefined {
  const i = argv.indexOf(flag);
  return i >= 0 ? argv[i + 1] : undefined;
}

/**
 * Whether `pid` runs `clusterdPath` for that replica. Without procfs (not Linux) the command line
 * cannot be read and the health check alone decides.
 */
export function isClusterdFor(
  pid: number,
  clusterdPath: string,
  clusterId: string,
  replicaId: string,
): boolean {
  const argv = readCmdline(pid);
  if (argv === null) return process.platform !== "linux";
  return (
    argv.includes(clusterdPath) &&
    flagValue(argv, "--replica-id") === replicaId &&
    flagValue(argv, "--cluster-id") === clusterId
  );
}

/** GET `/health`; true when it answers 200 for that cluster and replica. */
export function probeHealth(
  host: string,
  port: number,
  clusterId: string,
  replicaId: string,
  timeoutMs = 1000,
): Promise<boolean> {
  return new Promise((resolve) => {
    const req = http.get({ host, port, path: "/health", timeout: timeoutMs }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => {
        body += chunk;
      });
      res.on("end", () => {
        try {
          const json = JSON.parse(body) as { replicaId?: unknown; clusterId?: unknown };
          resolve(
            res.statusCode === 200 && json.replicaId === replicaId && json.clusterId === clusterId,
          );
        } catch {
          resolve(false);
        }
      });
      res.on("error", () => resolve(false));
    });
    req.on("timeout", () => req.destroy());
    req.on("error", () => resolve(false));
  });
}

/** Polls until `pid` is gone; false if it is still alive after `timeoutMs`. */
export async function waitForExit(pid: number, timeoutMs: number, pollMs = 25): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (isAlive(pid)) {
    if (Date.now() >= deadline) return false;
    await sleep(pollMs);
  }
  return true;
}

/**
 * Stops a process that is not our child: SIGTERM, then SIGKILL after `graceMs`. Resolves once it
 * is gone (or after SIGKILL did not take within 5 s, which only happens for an unkillable process).
 */
export async function terminatePid(pid: number, graceMs: number): Promise<"term" | "kill"> {
  if (!signal(pid, "SIGTERM")) return "term";
  if (await waitForExit(pid, graceMs)) return "term";
  signal(pid, "SIGKILL");
  await waitForExit(pid, 5000);
  return "kill";
}

/** Sends a signal; false when the process is already gone. */
export function signal(pid: number, sig: NodeJS.Signals): boolean {
  try {
    process.kill(pid, sig);
    return true;
  } catch {
    return false;
  }
}
