/**
 * One clusterd process of a replica: its command line, the detached spawn with stdout/stderr to
 * the replica's log files (rotated first, `clusterd-logs.ts`), the wait for the `"clusterd ready"`
 * line that reports its ports, and the SIGTERM → SIGKILL stop. The orchestrator
 * (`process-orchestrator.ts`) owns what happens around a process (records, restarts, events);
 * this module knows nothing of replicas beyond their spec.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { closeSync, type FSWatcher, openSync, readSync, watch } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import type { Logger } from "pino";
import { type ReplicaLogPaths, rotateLog, tail } from "./clusterd-logs.js";
import { ReplicaStartFailed } from "./errors.js";
import type { ReplicaLocation, ReplicaSpec } from "./orchestrator.js";
import { signal, terminatePid } from "./process-probe.js";
import { type ReplicaLayout, replicaLayout } from "./replica-layout.js";

/**
 * A ready replica's ports: the one-port layout's `cluster` port, or (`PHASE(client)`) the
 * two-port layout's `compute` and `storage` ports; `http` either way.
 */
export type Ports =
  | { readonly cluster: number; readonly http: number }
  | { readonly compute: number; readonly storage: number; readonly http: number };

/** The layout `ports` belong to. */
export function layoutOfPorts(ports: Ports): ReplicaLayout {
  return "cluster" in ports ? "one-port" : "two-port";
}

/** How a child exited. */
export type ExitStatus = { code: number | null; signal: NodeJS.Signals | null };

/** One process of a replica; replaced on restart. */
export interface Running {
  readonly pid: number;
  /** Our child, or null for an adopted process (watched by polling). */
  readonly child: ChildProcess | null;
  /** Null until ready. */
  ports: Ports | null;
  readonly startedAt: Date;
  /** Set when ready (ms since epoch); the uptime that resets the backoff counts from here. */
  onlineSince: number | null;
  /** Set once we asked it to stop: its exit is then not a crash. */
  stopping: boolean;
  /** Consecutive failed health checks (adopted processes). */
  healthFailures: number;
  /** Resolves when our child exits. */
  readonly exit: Promise<ExitStatus> | null;
}

/** What every clusterd of an orchestrator is started with. */
export interface ClusterdConfig {
  readonly clusterdPath: string;
  readonly host: string;
  readonly persistDir: string;
  readonly absentTimeoutMs: number;
  readonly logLevel: string;
  /** `--controller-secret-file`, or null for `--insecure-no-auth`. */
  readonly secretFile: string | null;
  readonly startTimeoutMs: number;
  /** Node.js options before the script (profiling); usually empty. */
  readonly nodeArgs: readonly string[];
}

/**
 * The URLs of a replica listening on `host` with `ports`. One-port: both controllers' URLs are
 * the cluster port's (`clusterUrl`), where the one stream carries both.
 */
export function locationOf(host: string, ports: Ports): ReplicaLocation {
  const h = host.includes(":") ? `[${host}]` : host;
  const httpUrl = `http://${h}:${ports.http}`;
  if ("cluster" in ports) {
    const clusterUrl = `http://${h}:${ports.cluster}`;
    return { computeUrl: clusterUrl, storageUrl: clusterUrl, clusterUrl, httpUrl };
  }
  // PHASE(client): legacy — delete when cluster-unification-client is retired
  return {
    computeUrl: `http://${h}:${ports.compute}`,
    storageUrl: `http://${h}:${ports.storage}`,
    httpUrl,
  };
}

/** The listen flags of a replica of `layout` (port 0 = any free one; `preferred` when it fits). */
function listenArgs(host: string, layout: ReplicaLayout, preferred: Ports | null): string[] {
  if (layout === "one-port") {
    const port = preferred !== null && "cluster" in preferred ? preferred.cluster : 0;
    return ["--cluster-listen", `${host}:${port}`];
  }
  // PHASE(client): legacy — delete when cluster-unification-client is retired
  const two = preferred !== null && "compute" in preferred ? preferred : null;
  return [
    "--compute-listen",
    `${host}:${two?.compute ?? 0}`,
    "--storage-listen",
    `${host}:${two?.storage ?? 0}`,
  ];
}

/** clusterd's arguments (after `node`): the entry script and its flags; port 0 = any free port. */
export function clusterdArgs(
  config: ClusterdConfig,
  spec: ReplicaSpec,
  preferred: Ports | null,
): string[] {
  const host = config.host;
  return [
    config.clusterdPath,
    "--cluster-id",
    spec.clusterId,
    "--replica-id",
    spec.replicaId,
    "--workers",
    String(spec.workers),
    ...listenArgs(host, replicaLayout(spec.phases), preferred),
    "--http-listen",
    `${host}:${preferred?.http ?? 0}`,
    "--persist-dir",
    config.persistDir,
    "--phases",
    JSON.stringify(spec.phases),
    "--controller-absent-timeout",
    `${config.absentTimeoutMs}ms`,
    "--log-level",
    config.logLevel,
    ...(config.secretFile === null
      ? ["--insecure-no-auth"]
      : ["--controller-secret-file", config.secretFile]),
  ];
}

/**
 * The ports of the `"clusterd ready"` line in `stdout`, or null while there is none: one-port
 * `{clusterPort, httpPort}`, two-port `{computePort, storagePort, httpPort}`.
 */
export function findReadyPorts(stdout: string): Ports | null {
  for (const line of stdout.split("\n")) {
    if (!line.includes('"clusterd ready"')) continue;
    try {
      const j = JSON.parse(line) as Record<string, unknown>;
      if (j.msg !== "clusterd ready" || typeof j.httpPort !== "number") continue;
      if (typeof j.clusterPort === "number") return { cluster: j.clusterPort, http: j.httpPort };
      // PHASE(client): legacy — delete when cluster-unification-client is retired
      if (typeof j.computePort === "number" && typeof j.storagePort === "number") {
        return { compute: j.computePort, storage: j.storagePort, http: j.httpPort };
      }
    } catch {
      // a partial line: read again on the next poll
    }
  }
  return null;
}

/**
 * Rotates the replica's logs and spawns clusterd detached (own session, stdio to the log files),
 * so it never depends on the orchestrator's pipes and outlives it. Not ready yet: see
 * `awaitReady`. @throws ReplicaStartFailed when the process cannot be spawned at all
 */
export async function spawnClusterd(
  config: ClusterdConfig,
  spec: ReplicaSpec,
  preferred: Ports | null,
  logs: ReplicaLogPaths,
): Promise<Running> {
  const args = clusterdArgs(config, spec, preferred);
  rotateLog(logs.out);
  rotateLog(logs.err);
  const out = openSync(logs.out, "w");
  const err = openSync(logs.err, "w");
  let child: ChildProcess;
  try {
    child = spawn(process.execPath, [...config.nodeArgs, ...args], {
      detached: true,
      stdio: ["ignore", out, err],
    });
  } finally {
    closeSync(out);
    closeSync(err);
  }
  const pid = child.pid;
  if (pid === undefined) {
    const spawnError = await new Promise<Error>((resolve) => child.once("error", resolve));
    throw new ReplicaStartFailed(
      spec.replicaId,
      null,
      null,
      "",
      `cannot spawn: ${spawnError.message}`,
    );
  }
  const exit = new Promise<ExitStatus>((resolve) =>
    child.once("exit", (code, sig) => resolve({ code, signal: sig })),
  );
  return {
    pid,
    child,
    ports: null,
    startedAt: new Date(),
    onlineSince: null,
    stopping: false,
    healthFailures: 0,
    exit,
  };
}

/** Fallback poll of a starting replica's stdout when no change event arrives, ms. */
const READY_POLL_MS = 50;

/**
 * Reads a starting replica's stdout incrementally: each `poll` reads only the bytes written since
 * the last one and looks for the ready line among the complete lines (a partial last line waits
 * for the next poll), so a chatty start costs O(its output) in total, not O(output) per poll.
 */
export class ReadyLineReader {
  readonly #path: string;
  #fd: number | null = null;
  #offset = 0;
  #partial = "";
  readonly #chunk = Buffer.alloc(64 * 1024);
  readonly #decoder = new TextDecoder();

  constructor(path: string) {
    this.#path = path;
  }

  /** The ports of the ready line if it has been written by now. */
  poll(): Ports | null {
    if (this.#fd === null) {
      try {
        this.#fd = openSync(this.#path, "r");
      } catch {
        return null; // not there yet
      }
    }
    for (;;) {
      const n = readSync(this.#fd, this.#chunk, 0, this.#chunk.length, this.#offset);
      if (n === 0) return null;
      this.#offset += n;
      const text =
        this.#partial + this.#decoder.decode(this.#chunk.subarray(0, n), { stream: true });
      const end = text.lastIndexOf("\n");
      this.#partial = end < 0 ? text : text.slice(end + 1);
      if (end >= 0) {
        const ports = findReadyPorts(text.slice(0, end));
        if (ports !== null) return ports;
      }
    }
  }

  close(): void {
    if (this.#fd !== null) closeSync(this.#fd);
    this.#fd = null;
  }
}

/** `fs.watch` of a file, or null where watching is not possible (the poll still runs). */
function watchQuietly(path: string, onChange: () => void): FSWatcher | null {
  try {
    const w = watch(path, { persistent: false }, onChange);
    w.on("error", () => {});
    return w;
  } catch {
    return null;
  }
}

/**
 * Waits for the ready line of a process `spawnClusterd` started: its ports, or (the process has
 * exited; killed when no ready line came within `startTimeoutMs`) the `ReplicaStartFailed` to
 * throw, with the stderr tail and exit code.
 */
export async function awaitReady(
  config: ClusterdConfig,
  replicaId: string,
  running: Running,
  logs: ReplicaLogPaths,
): Promise<Ports | ReplicaStartFailed> {
  const exit = running.exit;
  if (exit === null) throw new Error("invariant: awaitReady on a process that is not our child");
  let exited: ExitStatus | null = null;
  void exit.then((x) => {
    exited = x;
  });
  const deadline = Date.now() + config.startTimeoutMs;
  const stdout = new ReadyLineReader(logs.out);
  // A write to stdout wakes the loop at once; the poll below is the fallback (a watch can miss
  // events, e.g. on network file systems) and the deadline's clock.
  let wake: (() => void) | null = null;
  const watcher = watchQuietly(logs.out, () => wake?.());
  let ports: Ports | null = null;
  let timedOut = false;
  try {
    while (ports === null) {
      ports = stdout.poll();
      if (ports !== null) return ports;
      if (exited !== null) break;
      if (Date.now() >= deadline) {
        timedOut = true;
        running.stopping = true;
        signal(running.pid, "SIGKILL");
        await exit;
        break;
      }
      const woken = new Promise<void>((resolve) => {
        wake = resolve;
      });
      await Promise.race([sleep(READY_POLL_MS), exit, woken]);
      wake = null;
    }
  } finally {
    watcher?.close();
    stdout.close();
  }
  const x = await exit;
  const reason = timedOut
    ? `no "clusterd ready" line within ${config.startTimeoutMs} ms`
    : running.stopping
      ? "stopped while starting"
      : `clusterd exited with ${x.code === null ? `signal ${x.signal}` : `code ${x.code}`} before it was ready`;
  return new ReplicaStartFailed(replicaId, x.code, x.signal, tail(logs.err), reason);
}

/** Stops a process: SIGTERM, SIGKILL after `graceMs` (an adopted one through `terminatePid`). */
export async function stopProcess(running: Running, graceMs: number, log: Logger): Promise<void> {
  running.stopping = true;
  if (running.child === null || running.exit === null) {
    await terminatePid(running.pid, graceMs);
    return;
  }
  const exit = running.exit;
  signal(running.pid, "SIGTERM");
  const done = await Promise.race([exit.then(() => true), sleep(graceMs).then(() => false)]);
  if (!done) {
    log.warn({ pid: running.pid }, "clusterd ignored SIGTERM; sending SIGKILL");
    signal(running.pid, "SIGKILL");
    await exit;
  }
}
