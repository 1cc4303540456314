/**
 * Spawning fixture scripts as child processes (`node --import tsx`, so they run the current
 * sources), reading their stdout line by line, and making sure none outlives its test.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const packageDir = join(here, "..");

/** Children started by `startFixture` that may still be running. */
const running = new Set<ChildProcess>();

export interface Fixture {
  readonly child: ChildProcess;
  /** Every stdout line so far. */
  readonly lines: string[];
  /** Resolves with the first line matching `pred` (rejects if the child exits first). */
  waitForLine(pred: (line: string) => boolean, timeoutMs?: number): Promise<string>;
  /** Resolves with the exit code (or signal name) once the child has exited. */
  readonly exited: Promise<number | string>;
  /** Collected stderr, for failure messages. */
  stderr(): string;
}

/** Starts `test/fixtures/<name>` with `args`. */
export function startFixture(name: string, args: readonly string[]): Fixture {
  const child = spawn(
    process.execPath,
    ["--import", "tsx", join(here, "fixtures", name), ...args],
    {
      cwd: packageDir,
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  running.add(child);
  const lines: string[] = [];
  let partial = "";
  let err = "";
  const listeners = new Set<() => void>();
  child.stdout!.setEncoding("utf8").on("data", (chunk: string) => {
    partial += chunk;
    const parts = partial.split("\n");
    partial = parts.pop()!;
    lines.push(...parts);
    for (const l of listeners) l();
  });
  child.stderr!.setEncoding("utf8").on("data", (chunk: string) => {
    err += chunk;
  });
  const exited = new Promise<number | string>((resolve) => {
    child.on("exit", (code, signal) => {
      running.delete(child);
      for (const l of listeners) l();
      resolve(code ?? signal ?? "unknown");
    });
  });
  return {
    child,
    lines,
    exited,
    stderr: () => err,
    waitForLine(pred, timeoutMs = 20_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const hit = lines.find(pred);
          if (hit !== undefined) {
            cleanup();
            resolve(hit);
          } else if (child.exitCode !== null || child.signalCode !== null) {
            cleanup();
            reject(new Error(`fixture ${name} exited before the expected line; stderr:\n${err}`));
          }
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(
            new Error(`fixture ${name}: no expected line after ${timeoutMs} ms; stderr:\n${err}`),
          );
        }, timeoutMs);
        const cleanup = () => {
          clearTimeout(timer);
          listeners.delete(check);
        };
        listeners.add(check);
        check();
      });
    },
  };
}

/** SIGKILLs every child still running (call from afterEach). */
export async function killAllFixtures(): Promise<void> {
  const waits: Array<Promise<void>> = [];
  for (const c of running) {
    waits.push(new Promise((r) => c.once("exit", () => r())));
    c.kill("SIGKILL");
  }
  await Promise.all(waits);
}
