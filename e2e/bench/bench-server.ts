/**
 * The servers of the command-path benches (@internal; `phase1.bench.ts`, `commands.bench.ts`),
 * each run around a measurement and stopped after it:
 * - `withBenchServer`: mz-cluster's bench server as a baseline, `echo` (a Connect stream whose
 *   handler answers peeks itself) or `hop` (the same, handing each message's commands to W bare
 *   worker threads), in its own process;
 * - `withClusterd`: a real clusterd on a fresh temp data dir; a measurement that fails (e.g. a
 *   peek never answered) prints what clusterd last logged.
 */
import type { ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  type ClusterdHandle,
  type ClusterdOptions,
  startClusterd,
} from "../src/harness/clusterd.js";
import { stopAll } from "../src/harness/processes.js";
import { spawnListening } from "./raw-h2.js";

const SERVER = fileURLToPath(
  new URL("../../packages/mz-cluster/dist/testing/bench-server.js", import.meta.url),
);

/** Runs `f` against a fresh bench server (URL and pid), then stops the server. */
export async function withBenchServer<T>(
  mode: "echo" | "hop",
  workers: number,
  f: (url: string, pid: number | undefined) => Promise<T>,
): Promise<T> {
  const children: ChildProcess[] = [];
  try {
    const port = await spawnListening(SERVER, [mode, String(workers)], children);
    return await f(`http://127.0.0.1:${port}`, children[0]?.pid);
  } finally {
    for (const c of children) c.kill("SIGKILL");
  }
}

/** Runs `f` against a fresh clusterd (`opts` as `startClusterd`'s, data dir made here), then stops it. */
export async function withClusterd<T>(
  opts: Omit<ClusterdOptions, "persistDir">,
  f: (c: ClusterdHandle) => Promise<T>,
): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), "mzts-bench-"));
  try {
    const c = await startClusterd({ ...opts, persistDir: dir });
    return await f(c).catch((e: unknown) => {
      process.stderr.write(
        `clusterd's last log lines:\n${c.process.lines.slice(-200).join("\n")}\n`,
      );
      throw e;
    });
  } finally {
    await stopAll();
    rmSync(dir, { recursive: true, force: true });
  }
}
