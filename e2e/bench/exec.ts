/**
 * Running commands from the bench drivers (@internal): `run` spawns one (a build, git, a bench),
 * passes its output on line by line and resolves with its stdout; `signalChildren` hands a signal
 * to every command still running (the driver is being interrupted); `BenchUsageError` is a
 * command-line mistake (exit code 2).
 */
import { type ChildProcess, spawn } from "node:child_process";

/** A mistake in the command line (e.g. a ref that is no commit): exit code 2. */
export class BenchUsageError extends Error {
  override readonly name = "BenchUsageError";
}

/** The commands `run` has running (a bench, a build), for `signalChildren`. */
const running = new Set<ChildProcess>();

/** Passes a signal on to every running command (the driver is being interrupted). */
export function signalChildren(signal: NodeJS.Signals): void {
  for (const c of running) c.kill(signal);
}

/** Runs a command; resolves with its stdout, rejects with its exit code and output's tail. */
export function run(
  cmd: string,
  args: readonly string[],
  cwd: string,
  onLine?: (line: string) => void,
  env?: NodeJS.ProcessEnv,
): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      cwd,
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, ...env },
    });
    running.add(child);
    let out = "";
    let err = "";
    const lines = (chunk: string, pending: { s: string }) => {
      pending.s += chunk;
      for (let i = pending.s.indexOf("\n"); i >= 0; i = pending.s.indexOf("\n")) {
        onLine?.(pending.s.slice(0, i));
        pending.s = pending.s.slice(i + 1);
      }
    };
    const po = { s: "" };
    const pe = { s: "" };
    child.stdout.setEncoding("utf8").on("data", (d: string) => {
      out += d;
      lines(d, po);
    });
    child.stderr.setEncoding("utf8").on("data", (d: string) => {
      err += d;
      lines(d, pe);
    });
    child.once("error", reject);
    child.once("close", (code, signal) => {
      running.delete(child);
      if (code === 0) resolve(out);
      else
        reject(
          new Error(
            `${cmd} ${args.join(" ")} (in ${cwd}) failed (${code ?? signal}):\n${(out + err).slice(-3000)}`,
          ),
        );
    });
  });
}
