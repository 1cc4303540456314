/**
 * mz-cluster's command-path bench server as a bench baseline (@internal; `phase1.bench.ts`,
 * `commands.bench.ts`): `echo` (a Connect stream whose handler answers peeks itself) or `hop`
 * (the same, handing each message's commands to W bare worker threads), in its own process.
 */
import type { ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
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
