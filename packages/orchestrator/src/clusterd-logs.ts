/**
 * A replica's clusterd log files: where they are (`<dataDir>/orchestrator/logs/<replica>.{out,err}.log`),
 * their rotation before each start (`.log` → `.log.1` → … → `.log.3`, older ones deleted, so a
 * restart never erases the stack trace of the crash that caused it) and the stderr tail that goes
 * into `ReplicaStartFailed` and the `offline` event (at most 20 lines / 4000 chars).
 */
import { closeSync, fstatSync, mkdirSync, openSync, readSync, renameSync, rmSync } from "node:fs";
import { join } from "node:path";
import { orchestratorDir } from "./replica-records.js";

/** Previous logs kept per replica and stream: `<name>.log.1` (newest) … `<name>.log.<n>`. */
export const KEPT_LOGS = 3;

/** The stdout and stderr log paths of a replica's clusterd. */
export interface ReplicaLogPaths {
  readonly out: string;
  readonly err: string;
}

/** The log paths of `replicaId`; with `create`, the logs directory is created first. */
export function replicaLogPaths(
  dataDir: string,
  replicaId: string,
  create = false,
): ReplicaLogPaths {
  const logs = join(orchestratorDir(dataDir), "logs");
  if (create) mkdirSync(logs, { recursive: true });
  return { out: join(logs, `${replicaId}.out.log`), err: join(logs, `${replicaId}.err.log`) };
}

/** The last lines of a log (at most `maxLines` and 4000 chars; reads at most 64 KiB). */
export function tail(path: string, maxLines = 20): string {
  let fd: number;
  try {
    fd = openSync(path, "r");
  } catch {
    return "";
  }
  try {
    const size = fstatSync(fd).size;
    const len = Math.min(size, 64 * 1024);
    const buf = Buffer.alloc(len);
    readSync(fd, buf, 0, len, size - len);
    const lines = buf.toString("utf8").trimEnd().split("\n");
    // A cut first line is partial: drop it unless it is all there is.
    if (len < size && lines.length > 1) lines.shift();
    return lines.slice(-maxLines).join("\n").slice(-4000);
  } catch {
    return "";
  } finally {
    closeSync(fd);
  }
}

/** Shifts `path` → `path.1` → … → `path.<keep>`; the oldest beyond `keep` is deleted. */
export function rotateLog(path: string, keep = KEPT_LOGS): void {
  rmSync(`${path}.${keep}`, { force: true });
  for (let i = keep - 1; i >= 0; i--) {
    const from = i === 0 ? path : `${path}.${i}`;
    try {
      renameSync(from, `${path}.${i + 1}`);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
    }
  }
}
