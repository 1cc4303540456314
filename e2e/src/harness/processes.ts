/**
 * Child processes started by e2e tests: every process is registered here and killed when the
 * test that started it ends (`stopAll()` in afterEach), when the test process exits, or on
 * SIGINT/SIGTERM — so a failing or interrupted suite leaves no orphans. clusterd's own
 * `--controller-absent-timeout` (short in tests) is the last line of defence.
 */
import { type ChildProcess, spawn } from "node:child_process";

const live = new Set<ChildProcess>();

function killAll(signal: NodeJS.Signals): void {
  for (const c of live) {
    if (c.exitCode === null && c.signalCode === null) c.kill(signal);
  }
}

process.once("exit", () => killAll("SIGKILL"));
for (const sig of ["SIGINT", "SIGTERM"] as const) {
  process.once(sig, () => {
    killAll("SIGKILL");
    process.exit(130);
  });
}

export interface Started {
  readonly child: ChildProcess;
  /** Lines of stdout so far (clusterd logs JSON lines). */
  readonly lines: string[];
  /** Resolves with the first stdout line matching `pred` (parsed JSON when possible). */
  waitForLine(pred: (line: string) => boolean, timeoutMs?: number): Promise<string>;
  /** Resolves when the process exits. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stderr(): string;
}

/** Spawns `node [nodeArgs] <script> ...args` and tracks it. */
export function startNode(
  script: string,
  args: readonly string[],
  env: NodeJS.ProcessEnv = {},
  nodeArgs: readonly string[] = [],
): Started {
  const child = spawn(process.execPath, [...nodeArgs, script, ...args], {
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, ...env },
  });
  live.add(child);
  const lines: string[] = [];
  const waiters: Array<{ pred: (l: string) => boolean; resolve: (l: string) => void }> = [];
  let buf = "";
  let err = "";
  child.stdout!.setEncoding("utf8").on("data", (d: string) => {
    buf += d;
    for (let i = buf.indexOf("\n"); i >= 0; i = buf.indexOf("\n")) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      lines.push(line);
      for (const w of [...waiters]) {
        if (w.pred(line)) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve(line);
        }
      }
    }
  });
  child.stderr!.setEncoding("utf8").on("data", (d: string) => {
    err += d;
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once("exit", (code, signal) => {
      live.delete(child);
      resolve({ code, signal });
    });
  });
  return {
    child,
    lines,
    exited,
    stderr: () => err,
    waitForLine(pred, timeoutMs = 30_000) {
      const found = lines.find(pred);
      if (found !== undefined) return Promise.resolve(found);
      return new Promise((resolve, reject) => {
        const t = setTimeout(
          () =>
            reject(
              new Error(
                `timed out after ${timeoutMs} ms waiting for a log line; stderr: ${err.slice(-2000)}`,
              ),
            ),
          timeoutMs,
        );
        exited.then(({ code, signal }) =>
          reject(
            new Error(
              `process exited (code ${code}, signal ${signal}) before the expected line; stderr: ${err.slice(-2000)}`,
            ),
          ),
        );
        waiters.push({
          pred,
          resolve: (l) => {
            clearTimeout(t);
            resolve(l);
          },
        });
      });
    },
  };
}

/** Kills every process still running (SIGKILL) and waits for them to exit. */
export async function stopAll(): Promise<void> {
  const waits = [...live].map(
    (c) =>
      new Promise<void>((resolve) =>
        c.exitCode !== null || c.signalCode !== null ? resolve() : c.once("exit", () => resolve()),
      ),
  );
  killAll("SIGKILL");
  await Promise.all(waits);
}

/** Number of tracked processes still running (tests assert 0 at the end). */
export function liveCount(): number {
  return live.size;
}
