/**
 * `startTestClusterd`: one clusterd process for a test — loopback, port 0 for every port, a temp
 * persist dir, the replica secret in a 0600 file — resolved once its `"clusterd ready"` line is
 * out, with the ports it chose. The test registers `stop()` in its cleanup (it SIGTERMs, then
 * SIGKILLs after 5 s, and removes the dir the process created), so nothing outlives the test even
 * when it fails. `reuse` restarts a replica over another one's persist dir and secret (a
 * restarted replica on new ports); the dir is then removed by the first one's `stop()`.
 *
 * Layouts: `two-port` listens `--compute-listen` and `--storage-listen`, `one-port`
 * `--cluster-listen` (the `cluster-unification-client` layout); pass the `PhaseSet` that matches,
 * since clusterd refuses the other layout's flags.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import type { PhaseSet } from "@mzts/flags";
import { formatReplicaSecret, generateReplicaSecret } from "@mzts/protocol";

/** clusterd's entry point, next to this module in `dist/`. */
const MAIN = fileURLToPath(new URL("../main.js", import.meta.url));

/** Options of `startTestClusterd`. */
export interface TestClusterdOptions {
  readonly phases: PhaseSet;
  /** The controller port layout (default `two-port`). */
  readonly layout?: "two-port" | "one-port";
  readonly clusterId?: string;
  readonly replicaId?: string;
  /** `--controller-absent-timeout` (default `60s`). */
  readonly absentTimeout?: string;
  /** Start over this replica's persist dir and secret (a restart on new ports). */
  readonly reuse?: TestClusterd;
  /** How long to wait for the ready line (ms; default 20 000). */
  readonly readyTimeoutMs?: number;
}

/** A running test clusterd. */
export interface TestClusterd {
  /** The `"clusterd ready"` log line (`computePort`/`storagePort` or `clusterPort`, `httpPort`). */
  readonly ready: Readonly<Record<string, unknown>>;
  readonly secret: Uint8Array;
  /** Its data dir (the persist dir is `<dir>/persist`). */
  readonly dir: string;
  readonly pid: number;
  /** The exit code once it exited (null: killed by a signal). */
  readonly exited: Promise<number | null>;
  /** `http://127.0.0.1:<port>` of a port in its ready line. @throws Error if it has no such port */
  url(port: "compute" | "storage" | "cluster" | "http"): string;
  /** SIGKILLs it (a crash); resolves once it exited. */
  kill(): Promise<void>;
  /** Stops it (SIGTERM, SIGKILL after 5 s) and removes the dir it created. Idempotent. */
  stop(): Promise<void>;
}

/** clusterd exited, or did not print its ready line in time; nothing of it is left behind. */
export class TestClusterdStartFailed extends Error {
  override name = "TestClusterdStartFailed";
  constructor(
    /** The data dir it was given (removed unless it was a `reuse`). */
    readonly dir: string,
    /** Its exit code; undefined when it timed out (it was stopped then). */
    readonly exitCode: number | null | undefined,
    readonly stderr: string,
  ) {
    super(
      exitCode === undefined
        ? `clusterd printed no ready line in time; its stderr: ${stderr}`
        : `clusterd exited (${String(exitCode)}) before ready; its stderr: ${stderr}`,
    );
  }
}

/** Starts clusterd (see the file comment). @throws TestClusterdStartFailed */
export async function startTestClusterd(opts: TestClusterdOptions): Promise<TestClusterd> {
  const owned = opts.reuse === undefined;
  const dir = opts.reuse?.dir ?? mkdtempSync(join(tmpdir(), "mzts-test-clusterd-"));
  const secret = opts.reuse?.secret ?? generateReplicaSecret();
  const secretFile = join(dir, "replica-secret");
  if (owned) writeFileSync(secretFile, formatReplicaSecret(secret), { mode: 0o600 });
  const listen =
    (opts.layout ?? "two-port") === "two-port"
      ? ["--compute-listen", "127.0.0.1:0", "--storage-listen", "127.0.0.1:0"]
      : ["--cluster-listen", "127.0.0.1:0"];
  const child: ChildProcess = spawn(
    process.execPath,
    [
      MAIN,
      ...["--cluster-id", opts.clusterId ?? "u1", "--replica-id", opts.replicaId ?? "u1"],
      ...["--workers", "1", "--persist-dir", join(dir, "persist")],
      ...["--controller-secret-file", secretFile, "--phases", JSON.stringify(opts.phases)],
      ...["--http-listen", "127.0.0.1:0", ...listen],
      ...["--controller-absent-timeout", opts.absentTimeout ?? "60s", "--log-level", "info"],
    ],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  const exited = new Promise<number | null>((resolve) =>
    child.once("exit", (code) => resolve(code)),
  );
  const running = () => child.exitCode === null && child.signalCode === null;
  let stopped: Promise<void> | undefined;
  const stop = () => {
    stopped ??= (async () => {
      if (running()) {
        child.kill("SIGTERM");
        const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
        await exited;
        clearTimeout(timer);
      }
      if (owned) rmSync(dir, { recursive: true, force: true });
    })();
    return stopped;
  };
  let stderr = "";
  child.stderr?.on("data", (d: Buffer) => {
    stderr += d.toString();
  });
  let ready: Record<string, unknown>;
  try {
    ready = await new Promise<Record<string, unknown>>((resolve, reject) => {
      const ms = opts.readyTimeoutMs ?? 20_000;
      const timer = setTimeout(
        () => reject(new TestClusterdStartFailed(dir, undefined, stderr)),
        ms,
      );
      createInterface({ input: child.stdout! }).on("line", (line) => {
        let j: Record<string, unknown>;
        try {
          j = JSON.parse(line) as Record<string, unknown>;
        } catch {
          return; // not a log line
        }
        if (j.msg === "clusterd ready") {
          clearTimeout(timer);
          resolve(j);
        }
      });
      void exited.then((code) => {
        clearTimeout(timer);
        reject(new TestClusterdStartFailed(dir, code, stderr));
      });
    });
  } catch (e) {
    await stop();
    throw e;
  }
  return {
    ready,
    secret,
    dir,
    pid: child.pid!,
    exited,
    url(port) {
      const p = ready[`${port}Port`];
      if (typeof p !== "number")
        throw new Error(`clusterd has no ${port} port in its ready line (layout?)`);
      return `http://127.0.0.1:${p}`;
    },
    async kill() {
      if (running()) child.kill("SIGKILL");
      await exited;
    },
    stop,
  };
}

/** Polls `cond` every 20 ms until it holds. @throws Error naming `what` after `ms` */
export async function waitUntil(what: string, cond: () => boolean, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
