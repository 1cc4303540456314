/**
 * The process orchestrator: one local clusterd process per replica, supervised, recorded on disk
 * and adopted by the next environmentd boot.
 *
 * ## Flow of a replica
 * 1. `ensureReplica(spec)` spawns `node <clusterd> --cluster-id … --replica-id … --workers <size>
 *    --*-listen <host>:0 --persist-dir … --phases <PhaseSet JSON> --controller-absent-timeout …
 *    --controller-secret-file <file>` (or `--insecure-no-auth` when configured without a secret),
 *    detached (own session) with stdout/stderr to `<dataDir>/orchestrator/logs/<replica>.{out,err}.log`,
 *    so it never depends on the orchestrator's pipes and outlives it. The previous incarnation's
 *    logs are rotated first (`.log` → `.log.1` → … → `.log.3`, older ones deleted), so a restart
 *    never erases the stack trace of the crash that caused it. Its record (pid, no ports yet) is
 *    written at once.
 * 2. The orchestrator reads the ports from the `"clusterd ready"` line of the stdout log, records
 *    them, emits `online` and resolves with the location. Exit before ready, or no ready line within
 *    `startTimeoutMs`, is a `ReplicaStartFailed` with clusterd's stderr tail and exit code.
 * 3. An exit we did not ask for (our child: the `exit` event; an adopted process: the poll sees
 *    the pid gone or `/health` failing three times) logs "replica offline" with the last lines of
 *    its stderr log (`stderrTail`, at most 20 lines / 4000 chars; also on the `offline` event),
 *    emits `offline`, then `restarting` with the
 *    backoff delay (`backoff.ts`), then `online` again. The restart asks for the **same ports**
 *    (node listens with SO_REUSEADDR), falling back to fresh ports when they are taken (EADDRINUSE),
 *    so controllers usually reconnect to the same address — but they must always use the latest
 *    reported location. Exit code 2 (bad configuration) is permanent: `failed`, no more restarts.
 * 4. `dropReplica` / `close()` / a mismatching spec: SIGTERM, SIGKILL after `stopGraceMs`, record
 *    removed.
 *
 * ## Adoption (next boot)
 * `createProcessOrchestrator` loads the records: a dead pid's record is removed; a live pid that is
 * not that replica's clusterd (`/proc/<pid>/cmdline`) is left alone and its record removed; a
 * clusterd that does not answer `/health` for its replica is terminated; the rest are `unclaimed`.
 * `ensureReplica` with the same cluster, workers, phases and clusterd entry adopts an unclaimed
 * process (same pid, no restart; its generation is bumped); any other spec terminates it and starts
 * afresh. `reconcile(wanted)` also terminates every unclaimed replica not wanted (the cleanup of a
 * past generation's replicas, Materialize §1.6).
 *
 * ## Invariants
 * - At most one process per replica id; operations on one replica are serialized.
 * - Every process whose pid is known and not seen dead is in `replicas.json` (written atomically).
 * - The orchestrator only ever signals a pid after checking it runs our clusterd for that replica,
 *   or because it is our own child.
 * - One orchestrator per dataDir at a time: environmentd has no lock, but generation fencing
 *   closes an older environmentd (abandoning its replicas to the newer one) within its fence check
 *   (2 s); until then both may supervise the same replicas.
 */
import { type ChildProcess, spawn } from "node:child_process";
import {
  closeSync,
  fstatSync,
  mkdirSync,
  openSync,
  readFileSync,
  readSync,
  renameSync,
  rmSync,
} from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { PhaseSet } from "@mzts/flags";
import { type Logger, pino } from "pino";
import { Registry } from "prom-client";
import {
  backoffDelay,
  DEFAULT_RESTART_BACKOFF,
  nextAttempt,
  type RestartBackoff,
} from "./backoff.js";
import {
  InvalidReplicaSpec,
  OrchestratorClosed,
  type OrchestratorError,
  ReplicaDropped,
  ReplicaStartFailed,
  StaleGeneration,
  UnknownReplica,
} from "./errors.js";
import { createMetrics, type OrchestratorMetrics } from "./metrics.js";
import type {
  Orchestrator,
  ReconcileResult,
  ReplicaEvent,
  ReplicaEventListener,
  ReplicaLocation,
  ReplicaSpec,
  ReplicaState,
  ReplicaStatus,
} from "./orchestrator.js";
import { isAlive, isClusterdFor, probeHealth, signal, terminatePid } from "./process-probe.js";
import {
  loadRecords,
  orchestratorDir,
  type ReplicaRecord,
  saveRecords,
} from "./replica-records.js";

export interface ProcessOrchestratorOptions {
  /** Environment data directory; the orchestrator owns `<dataDir>/orchestrator/`. */
  readonly dataDir: string;
  /** Passed to every clusterd as `--persist-dir` (the environment's shared persist location). */
  readonly persistDir: string;
  /** clusterd's entry script. Default: `@mzts/clusterd/main` as resolved from this package. */
  readonly clusterdPath?: string;
  /** Passed as `--controller-absent-timeout` (ms; 0 = never). Default 300 000. */
  readonly controllerAbsentTimeoutMs?: number;
  /** Default: a pino logger at info. */
  readonly logger?: Logger;
  /** Where the metrics go. Default: a fresh registry. */
  readonly registry?: Registry;
  readonly restartBackoff?: Partial<RestartBackoff>;
  /** SIGTERM → SIGKILL grace period. Default 10 000 ms. */
  readonly stopGraceMs?: number;
  /** How long a start may take to print its ready line. Default 30 000 ms. */
  readonly startTimeoutMs?: number;
  /** How often adopted and unclaimed processes are checked. Default 1000 ms. */
  readonly pollIntervalMs?: number;
  /** Interface clusterd listens on. Default 127.0.0.1 (loopback). */
  readonly listenHost?: string;
  /** clusterd's `--log-level`. Default info. */
  readonly clusterdLogLevel?: string;
  /**
   * The environment's replica secret file, passed as `--controller-secret-file` (a path: the
   * secret never appears in `ps`). `null` passes `--insecure-no-auth` instead (tests only).
   */
  readonly controllerSecretFile: string | null;
}

export interface ProcessOrchestrator extends Orchestrator {
  /** The registry the metrics are on. */
  readonly registry: Registry;
  /**
   * Test hook simulating an environmentd crash: forgets every process without stopping it and
   * without touching `replicas.json`, and stops all timers. The orchestrator is closed afterwards.
   * @internal
   */
  abandon(): void;
}

type Ports = { readonly compute: number; readonly storage: number; readonly http: number };

/** One process of a replica; replaced on restart. */
interface Running {
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
  readonly exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }> | null;
}

/** A replica this orchestrator manages (started or adopted). */
interface Entry {
  /** The latest spec asked for (its generation is the claiming generation). */
  spec: ReplicaSpec;
  state: ReplicaState;
  /** The current process, from spawn until it is seen dead. */
  running: Running | null;
  /** The clusterd entry the current process runs. */
  clusterdPath: string;
  /** Restarts since this orchestrator took the replica on. */
  restarts: number;
  /** Backoff attempt of the pending/last restart. */
  attempt: number;
  /** Ports the next restart asks for; null = any free port. */
  preferredPorts: Ports | null;
  adopted: boolean;
  restartTimer: NodeJS.Timeout | null;
  /** Set by drop/close/replacement: no restart may follow. */
  removed: boolean;
  /** `ensureReplica` calls waiting for the next `online`. */
  waiters: { resolve(l: ReplicaLocation): void; reject(e: OrchestratorError): void }[];
}

function defaultClusterdPath(): string {
  return fileURLToPath(import.meta.resolve("@mzts/clusterd/main"));
}

function locationOf(host: string, ports: Ports): ReplicaLocation {
  const h = host.includes(":") ? `[${host}]` : host;
  return {
    computeUrl: `http://${h}:${ports.compute}`,
    storageUrl: `http://${h}:${ports.storage}`,
    httpUrl: `http://${h}:${ports.http}`,
  };
}

function phasesOf(record: ReplicaRecord): PhaseSet | null {
  try {
    return PhaseSet.fromJSON(record.phases);
  } catch {
    return null;
  }
}

/** Previous logs kept per replica and stream: `<name>.log.1` (newest) … `<name>.log.<n>`. */
const KEPT_LOGS = 3;

/** The last lines of a log (at most `maxLines` and 4000 chars; reads at most 64 KiB). */
function tail(path: string, maxLines = 20): string {
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
function rotateLog(path: string, keep = KEPT_LOGS): void {
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

function findReadyPorts(stdout: string): Ports | null {
  for (const line of stdout.split("\n")) {
    if (!line.includes('"clusterd ready"')) continue;
    try {
      const j = JSON.parse(line) as Record<string, unknown>;
      if (
        j.msg === "clusterd ready" &&
        typeof j.computePort === "number" &&
        typeof j.storagePort === "number" &&
        typeof j.httpPort === "number"
      ) {
        return { compute: j.computePort, storage: j.storagePort, http: j.httpPort };
      }
    } catch {
      // a partial line: read again on the next poll
    }
  }
  return null;
}

/**
 * Creates a process orchestrator on `dataDir`, first reconciling what a previous one recorded:
 * dead records are removed, live clusterd processes are kept as `unclaimed` until
 * `ensureReplica`/`reconcile` adopts or terminates them.
 */
export async function createProcessOrchestrator(
  options: ProcessOrchestratorOptions,
): Promise<ProcessOrchestrator> {
  const o = new ProcessOrchestratorImpl(options);
  await o.boot();
  return o;
}

class ProcessOrchestratorImpl implements ProcessOrchestrator {
  readonly registry: Registry;
  readonly #dataDir: string;
  readonly #persistDir: string;
  readonly #clusterdPath: string;
  readonly #absentTimeoutMs: number;
  readonly #log: Logger;
  readonly #backoff: RestartBackoff;
  readonly #graceMs: number;
  readonly #startTimeoutMs: number;
  readonly #pollMs: number;
  readonly #host: string;
  readonly #clusterdLogLevel: string;
  readonly #secretFile: string | null;
  readonly #metrics: OrchestratorMetrics;
  /** Managed replicas, by replica id; an entry lives from ensure until drop/close. */
  readonly #replicas = new Map<string, Entry>();
  /** Live clusterd processes recorded by a previous orchestrator, not yet claimed. */
  readonly #unclaimed = new Map<string, ReplicaRecord>();
  /** Per-replica operation chain (serializes ensure/drop on one id). */
  readonly #locks = new Map<string, Promise<unknown>>();
  readonly #listeners = new Set<ReplicaEventListener>();
  #pollTimer: NodeJS.Timeout | null = null;
  #polling = false;
  #closed = false;
  #abandoned = false;

  constructor(options: ProcessOrchestratorOptions) {
    this.#dataDir = options.dataDir;
    this.#persistDir = options.persistDir;
    this.#clusterdPath = options.clusterdPath ?? defaultClusterdPath();
    this.#absentTimeoutMs = options.controllerAbsentTimeoutMs ?? 300_000;
    this.#log = (options.logger ?? pino()).child({ component: "orchestrator" });
    this.#backoff = { ...DEFAULT_RESTART_BACKOFF, ...options.restartBackoff };
    this.#graceMs = options.stopGraceMs ?? 10_000;
    this.#startTimeoutMs = options.startTimeoutMs ?? 30_000;
    this.#pollMs = options.pollIntervalMs ?? 1000;
    this.#host = options.listenHost ?? "127.0.0.1";
    this.#clusterdLogLevel = options.clusterdLogLevel ?? "info";
    this.#secretFile = options.controllerSecretFile;
    this.registry = options.registry ?? new Registry();
    this.#metrics = createMetrics(this.registry, () => this.list().map((s) => s.state));
  }

  /** Loads and checks the previous boot's records (see the file's doc block). */
  async boot(): Promise<void> {
    mkdirSync(join(orchestratorDir(this.#dataDir), "logs"), { recursive: true });
    const loaded = loadRecords(this.#dataDir);
    if (loaded.corrupt) {
      this.#log.error(
        { moved_to: loaded.corrupt.movedTo, problem: loaded.corrupt.problem },
        "replica records unreadable; moved aside — their processes exit after their controller-absent timeout",
      );
    }
    await Promise.all(
      loaded.records.map(async (rec) => {
        const fields = { replica_id: rec.replicaId, pid: rec.pid, generation: rec.generation };
        if (!isAlive(rec.pid)) {
          this.#log.info(fields, "stale replica record removed: its process is gone");
          return;
        }
        if (!isClusterdFor(rec.pid, rec.clusterdPath, rec.clusterId, rec.replicaId)) {
          this.#log.warn(fields, "replica record removed: its pid now belongs to another process");
          return;
        }
        const healthy =
          rec.ports !== null &&
          (await probeHealth(rec.host, rec.ports.http, rec.clusterId, rec.replicaId));
        if (!healthy) {
          this.#log.warn(fields, "recorded clusterd is not healthy; terminating it");
          await terminatePid(rec.pid, this.#graceMs);
          this.#metrics.terminations.inc({ reason: "unhealthy" });
          return;
        }
        this.#log.info(fields, "live replica found; unclaimed until ensureReplica or reconcile");
        this.#unclaimed.set(rec.replicaId, rec);
      }),
    );
    this.#save();
    this.#pollTimer = setInterval(() => void this.#poll(), this.#pollMs);
    this.#pollTimer.unref();
  }

  onEvent(listener: ReplicaEventListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  list(): ReplicaStatus[] {
    const out: ReplicaStatus[] = [];
    for (const [id, e] of this.#replicas) {
      const r = e.running;
      out.push({
        replicaId: id,
        clusterId: e.spec.clusterId,
        generation: e.spec.generation,
        workers: e.spec.workers,
        state: e.state,
        pid: r?.pid ?? null,
        location: r?.ports ? locationOf(this.#host, r.ports) : null,
        startedAt: r?.startedAt ?? null,
        restarts: e.restarts,
        adopted: e.adopted,
      });
    }
    for (const [id, rec] of this.#unclaimed) {
      out.push({
        replicaId: id,
        clusterId: rec.clusterId,
        generation: rec.generation,
        workers: rec.workers,
        state: "unclaimed",
        pid: rec.pid,
        location: rec.ports ? locationOf(rec.host, rec.ports) : null,
        startedAt: new Date(rec.startedAt),
        restarts: 0,
        adopted: false,
      });
    }
    return out.sort((a, b) => a.replicaId.localeCompare(b.replicaId));
  }

  async ensureReplica(spec: ReplicaSpec): Promise<ReplicaLocation> {
    this.#checkOpen("ensure a replica");
    this.#validate(spec);
    const wait = await this.#withLock(spec.replicaId, () => this.#ensureLocked(spec));
    return wait();
  }

  async dropReplica(replicaId: string): Promise<void> {
    this.#checkOpen("drop a replica");
    await this.#withLock(replicaId, async () => {
      const entry = this.#replicas.get(replicaId);
      if (entry) {
        await this.#stopEntry(entry, "dropped", new ReplicaDropped(replicaId));
        this.#replicas.delete(replicaId);
        this.#save();
        this.#log.info({ replica_id: replicaId }, "replica dropped");
        return;
      }
      const rec = this.#unclaimed.get(replicaId);
      if (rec) {
        await this.#terminateRecord(rec, "dropped");
        return;
      }
      throw new UnknownReplica(replicaId);
    });
  }

  async reconcile(wanted: readonly ReplicaSpec[]): Promise<ReconcileResult> {
    this.#checkOpen("reconcile");
    const ids = new Set(wanted.map((s) => s.replicaId));
    const unwanted = [...this.#unclaimed.keys(), ...this.#replicas.keys()].filter(
      (id) => !ids.has(id),
    );
    await Promise.all(
      unwanted.map((id) =>
        this.dropReplica(id).catch((e: unknown) => {
          if (!(e instanceof UnknownReplica)) throw e;
        }),
      ),
    );
    const locations = new Map<string, ReplicaLocation>();
    const failed = new Map<string, OrchestratorError>();
    const results = await Promise.allSettled(wanted.map((s) => this.ensureReplica(s)));
    results.forEach((r, i) => {
      const id = wanted[i]?.replicaId ?? "";
      if (r.status === "fulfilled") locations.set(id, r.value);
      else failed.set(id, r.reason as OrchestratorError);
    });
    return { locations, failed, terminated: unwanted };
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#pollTimer) clearInterval(this.#pollTimer);
    const entries = [...this.#replicas.values()];
    await Promise.all(
      entries.map((e) =>
        this.#stopEntry(e, "closed", new OrchestratorClosed("wait for a replica")),
      ),
    );
    this.#replicas.clear();
    this.#save();
    this.#log.info({ stopped: entries.length }, "orchestrator closed");
  }

  abandon(): void {
    this.#closed = true;
    this.#abandoned = true;
    if (this.#pollTimer) clearInterval(this.#pollTimer);
    for (const e of this.#replicas.values()) {
      e.removed = true;
      if (e.restartTimer) clearTimeout(e.restartTimer);
      e.running?.child?.unref();
      for (const w of e.waiters.splice(0)) w.reject(new OrchestratorClosed("wait for a replica"));
    }
    this.#replicas.clear();
    this.#unclaimed.clear();
  }

  // ---- ensure ----

  async #ensureLocked(spec: ReplicaSpec): Promise<() => Promise<ReplicaLocation>> {
    const id = spec.replicaId;
    const entry = this.#replicas.get(id);
    if (entry) {
      if (spec.generation < entry.spec.generation) {
        throw StaleGeneration.orchestrator(
          id,
          BigInt(spec.generation),
          BigInt(entry.spec.generation),
        );
      }
      if (this.#sameShape(spec, entry.spec, entry.clusterdPath) && entry.state !== "failed") {
        entry.spec = spec;
        this.#save();
        const r = entry.running;
        if (entry.state === "online" && r?.ports) {
          const location = locationOf(this.#host, r.ports);
          return async () => location;
        }
        const waiting = new Promise<ReplicaLocation>((resolve, reject) =>
          entry.waiters.push({ resolve, reject }),
        );
        return () => waiting;
      }
      this.#log.info({ replica_id: id }, "replica spec changed; replacing its process");
      await this.#stopEntry(entry, "replaced", new ReplicaDropped(id));
      this.#replicas.delete(id);
      this.#save();
    }
    const rec = this.#unclaimed.get(id);
    if (rec) {
      if (spec.generation < rec.generation) {
        throw StaleGeneration.orchestrator(id, BigInt(spec.generation), BigInt(rec.generation));
      }
      const adopted = await this.#tryAdopt(spec, rec);
      if (adopted) return async () => adopted;
    }
    const location = await this.#startFresh(spec);
    return async () => location;
  }

  async #tryAdopt(spec: ReplicaSpec, rec: ReplicaRecord): Promise<ReplicaLocation | null> {
    const id = spec.replicaId;
    const phases = phasesOf(rec);
    const shapeOk =
      phases !== null &&
      this.#sameShape(spec, { ...rec, phases }, rec.clusterdPath) &&
      rec.clusterdPath === this.#clusterdPath;
    const live =
      rec.ports !== null &&
      isAlive(rec.pid) &&
      isClusterdFor(rec.pid, rec.clusterdPath, rec.clusterId, id) &&
      (await probeHealth(rec.host, rec.ports.http, rec.clusterId, id));
    if (!shapeOk || !live || rec.ports === null || rec.host !== this.#host) {
      this.#log.info(
        { replica_id: id, pid: rec.pid, spec_matches: shapeOk, live },
        "recorded replica not adoptable; terminating it and starting a new process",
      );
      await this.#terminateRecord(rec, "mismatch");
      return null;
    }
    this.#unclaimed.delete(id);
    const running: Running = {
      pid: rec.pid,
      child: null,
      ports: rec.ports,
      startedAt: new Date(rec.startedAt),
      onlineSince: Date.now(),
      stopping: false,
      healthFailures: 0,
      exit: null,
    };
    const entry = this.#newEntry(spec);
    entry.running = running;
    entry.adopted = true;
    entry.state = "online";
    this.#replicas.set(id, entry);
    this.#save();
    this.#metrics.adoptions.inc();
    const location = locationOf(this.#host, rec.ports);
    this.#log.info(
      {
        replica_id: id,
        pid: rec.pid,
        from_generation: rec.generation,
        generation: spec.generation,
      },
      "replica adopted",
    );
    this.#emit({ kind: "online", replicaId: id, pid: rec.pid, location, adopted: true });
    return location;
  }

  async #startFresh(spec: ReplicaSpec): Promise<ReplicaLocation> {
    const entry = this.#newEntry(spec);
    this.#replicas.set(spec.replicaId, entry);
    let running: Running;
    try {
      running = await this.#launch(entry);
    } catch (e) {
      this.#replicas.delete(spec.replicaId);
      this.#save();
      if (this.#closed) throw new OrchestratorClosed("ensure a replica");
      const err = e as ReplicaStartFailed;
      this.#emit({
        kind: "failed",
        replicaId: spec.replicaId,
        reason: err.reason,
        error: err,
        permanent: true,
      });
      throw err;
    }
    return this.#online(entry, running);
  }

  #newEntry(spec: ReplicaSpec): Entry {
    return {
      spec,
      state: "starting",
      running: null,
      clusterdPath: this.#clusterdPath,
      restarts: 0,
      attempt: 0,
      preferredPorts: null,
      adopted: false,
      restartTimer: null,
      removed: false,
      waiters: [],
    };
  }

  #online(entry: Entry, running: Running): ReplicaLocation {
    const ports = running.ports;
    if (ports === null) throw new Error("invariant: online without ports");
    entry.state = "online";
    entry.adopted = false;
    const location = locationOf(this.#host, ports);
    this.#log.info(
      { replica_id: entry.spec.replicaId, pid: running.pid, ...location },
      "replica online",
    );
    this.#emit({
      kind: "online",
      replicaId: entry.spec.replicaId,
      pid: running.pid,
      location,
      adopted: false,
    });
    for (const w of entry.waiters.splice(0)) w.resolve(location);
    return location;
  }

  // ---- processes ----

  /** Spawns clusterd for `entry` and waits for its ready line. @throws ReplicaStartFailed */
  async #launch(entry: Entry): Promise<Running> {
    const spec = entry.spec;
    const id = spec.replicaId;
    const logs = join(orchestratorDir(this.#dataDir), "logs");
    mkdirSync(logs, { recursive: true });
    const outPath = join(logs, `${id}.out.log`);
    const errPath = join(logs, `${id}.err.log`);
    const p = entry.preferredPorts;
    const args = [
      this.#clusterdPath,
      "--cluster-id",
      spec.clusterId,
      "--replica-id",
      id,
      "--workers",
      String(spec.workers),
      "--compute-listen",
      `${this.#host}:${p?.compute ?? 0}`,
      "--storage-listen",
      `${this.#host}:${p?.storage ?? 0}`,
      "--http-listen",
      `${this.#host}:${p?.http ?? 0}`,
      "--persist-dir",
      this.#persistDir,
      "--phases",
      JSON.stringify(spec.phases),
      "--controller-absent-timeout",
      `${this.#absentTimeoutMs}ms`,
      "--log-level",
      this.#clusterdLogLevel,
      ...(this.#secretFile === null
        ? ["--insecure-no-auth"]
        : ["--controller-secret-file", this.#secretFile]),
    ];
    rotateLog(outPath);
    rotateLog(errPath);
    const out = openSync(outPath, "w");
    const err = openSync(errPath, "w");
    let child: ChildProcess;
    try {
      child = spawn(process.execPath, args, { detached: true, stdio: ["ignore", out, err] });
    } finally {
      closeSync(out);
      closeSync(err);
    }
    const pid = child.pid;
    if (pid === undefined) {
      const spawnError = await new Promise<Error>((resolve) => child.once("error", resolve));
      this.#metrics.startFailures.inc({ exit_code: "none" });
      throw new ReplicaStartFailed(id, null, null, "", `cannot spawn: ${spawnError.message}`);
    }
    child.on("error", (e) =>
      this.#log.error({ replica_id: id, pid, err: e.message }, "child error"),
    );
    const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      child.once("exit", (code, sig) => resolve({ code, signal: sig })),
    );
    const running: Running = {
      pid,
      child,
      ports: null,
      startedAt: new Date(),
      onlineSince: null,
      stopping: false,
      healthFailures: 0,
      exit,
    };
    entry.running = running;
    entry.clusterdPath = this.#clusterdPath;
    this.#metrics.starts.inc();
    this.#save();
    this.#log.info({ replica_id: id, pid, workers: spec.workers }, "clusterd spawned");

    let exited: { code: number | null; signal: NodeJS.Signals | null } | null = null;
    void exit.then((x) => {
      exited = x;
    });
    const deadline = Date.now() + this.#startTimeoutMs;
    let ports: Ports | null = null;
    let timedOut = false;
    while (ports === null) {
      let stdout = "";
      try {
        stdout = readFileSync(outPath, "utf8");
      } catch {
        // not there yet
      }
      ports = findReadyPorts(stdout);
      if (ports !== null) break;
      if (exited !== null) break;
      if (Date.now() >= deadline) {
        timedOut = true;
        running.stopping = true;
        signal(pid, "SIGKILL");
        await exit;
        break;
      }
      await Promise.race([sleep(50), exit]);
    }
    if (ports === null) {
      const x = await exit;
      if (entry.running === running) entry.running = null;
      this.#save();
      this.#metrics.startFailures.inc({ exit_code: x.code === null ? "none" : String(x.code) });
      const reason = timedOut
        ? `no "clusterd ready" line within ${this.#startTimeoutMs} ms`
        : running.stopping
          ? "stopped while starting"
          : `clusterd exited with ${x.code === null ? `signal ${x.signal}` : `code ${x.code}`} before it was ready`;
      throw new ReplicaStartFailed(id, x.code, x.signal, tail(errPath), reason);
    }
    running.ports = ports;
    running.onlineSince = Date.now();
    this.#save();
    void exit.then((x) => this.#onChildExit(entry, running, x));
    return running;
  }

  #onChildExit(
    entry: Entry,
    running: Running,
    x: { code: number | null; signal: NodeJS.Signals | null },
  ): void {
    if (this.#abandoned || running.stopping || entry.running !== running) return;
    const reason = `clusterd exited with ${x.code === null ? `signal ${x.signal}` : `code ${x.code}`}`;
    this.#handleDeath(entry, running, reason, x.code, x.signal);
  }

  /** A process died without being asked to: record it, emit offline, schedule the restart. */
  #handleDeath(
    entry: Entry,
    running: Running,
    reason: string,
    exitCode: number | null,
    sig: string | null,
  ): void {
    if (entry.running !== running) return;
    entry.running = null;
    this.#save();
    const id = entry.spec.replicaId;
    // The crash's evidence (a stack trace) into environmentd's log, before a restart rotates it.
    const errLog = join(orchestratorDir(this.#dataDir), "logs", `${id}.err.log`);
    const stderrTail = tail(errLog);
    this.#log.warn(
      { replica_id: id, pid: running.pid, reason, exitCode, signal: sig, stderrTail, errLog },
      "replica offline",
    );
    this.#emit({
      kind: "offline",
      replicaId: id,
      pid: running.pid,
      reason,
      exitCode,
      signal: sig,
      stderrTail,
    });
    const uptime = running.onlineSince === null ? 0 : Date.now() - running.onlineSince;
    entry.attempt = nextAttempt(this.#backoff, entry.attempt, uptime);
    entry.preferredPorts = running.ports;
    this.#scheduleRestart(entry, reason);
  }

  #scheduleRestart(entry: Entry, reason: string): void {
    if (this.#closed || entry.removed) return;
    entry.state = "restarting";
    const delayMs = backoffDelay(this.#backoff, entry.attempt);
    const id = entry.spec.replicaId;
    this.#log.info({ replica_id: id, attempt: entry.attempt, delay_ms: delayMs }, "restarting");
    this.#emit({ kind: "restarting", replicaId: id, attempt: entry.attempt, delayMs, reason });
    entry.restartTimer = setTimeout(() => void this.#restart(entry), delayMs);
  }

  async #restart(entry: Entry): Promise<void> {
    entry.restartTimer = null;
    if (this.#closed || entry.removed) return;
    const id = entry.spec.replicaId;
    let running: Running;
    try {
      running = await this.#launch(entry);
    } catch (e) {
      if (this.#closed || entry.removed) return;
      const err = e as ReplicaStartFailed;
      const permanent = err.exitCode === 2;
      this.#log.error(
        { replica_id: id, exit_code: err.exitCode, permanent, err: err.message },
        "replica restart failed",
      );
      this.#emit({ kind: "failed", replicaId: id, reason: err.reason, error: err, permanent });
      if (permanent) {
        entry.state = "failed";
        for (const w of entry.waiters.splice(0)) w.reject(err);
        return;
      }
      if (err.stderrTail.includes("EADDRINUSE")) entry.preferredPorts = null;
      entry.attempt += 1;
      this.#scheduleRestart(entry, err.reason);
      return;
    }
    if (this.#closed || entry.removed) return; // the stopper kills entry.running
    entry.restarts += 1;
    this.#metrics.restarts.inc();
    this.#online(entry, running);
  }

  /** Stops the entry's process (if any) for good; waiters are rejected with `why`. */
  async #stopEntry(entry: Entry, reason: string, why: OrchestratorError): Promise<void> {
    entry.removed = true;
    entry.state = "stopping";
    if (entry.restartTimer) clearTimeout(entry.restartTimer);
    entry.restartTimer = null;
    for (const w of entry.waiters.splice(0)) w.reject(why);
    const running = entry.running;
    if (running) {
      await this.#stopRunning(running);
      this.#metrics.terminations.inc({ reason });
      this.#log.info({ replica_id: entry.spec.replicaId, pid: running.pid, reason }, "stopped");
    }
    entry.running = null;
  }

  async #stopRunning(running: Running): Promise<void> {
    running.stopping = true;
    if (running.child === null || running.exit === null) {
      await terminatePid(running.pid, this.#graceMs);
      return;
    }
    const exit = running.exit;
    signal(running.pid, "SIGTERM");
    const done = await Promise.race([
      exit.then(() => true),
      sleep(this.#graceMs).then(() => false),
    ]);
    if (!done) {
      this.#log.warn({ pid: running.pid }, "clusterd ignored SIGTERM; sending SIGKILL");
      signal(running.pid, "SIGKILL");
      await exit;
    }
  }

  /** Terminates an unclaimed recorded process (if it is still ours) and forgets its record. */
  async #terminateRecord(rec: ReplicaRecord, reason: string): Promise<void> {
    this.#unclaimed.delete(rec.replicaId);
    if (
      isAlive(rec.pid) &&
      isClusterdFor(rec.pid, rec.clusterdPath, rec.clusterId, rec.replicaId)
    ) {
      await terminatePid(rec.pid, this.#graceMs);
      this.#metrics.terminations.inc({ reason });
      this.#log.info(
        { replica_id: rec.replicaId, pid: rec.pid, reason },
        "recorded replica terminated",
      );
    }
    this.#save();
  }

  /** Watches the processes that are not our children: adopted (restarted) and unclaimed (forgotten). */
  async #poll(): Promise<void> {
    if (this.#polling || this.#closed) return;
    this.#polling = true;
    try {
      let changed = false;
      for (const [id, rec] of this.#unclaimed) {
        if (!isAlive(rec.pid)) {
          this.#unclaimed.delete(id);
          changed = true;
          this.#log.info({ replica_id: id, pid: rec.pid }, "unclaimed replica exited on its own");
        }
      }
      if (changed) this.#save();
      for (const entry of this.#replicas.values()) {
        const r = entry.running;
        if (r === null || r.child !== null || r.stopping || r.ports === null) continue;
        const id = entry.spec.replicaId;
        if (
          !isAlive(r.pid) ||
          !isClusterdFor(r.pid, entry.clusterdPath, entry.spec.clusterId, id)
        ) {
          this.#handleDeath(entry, r, "adopted clusterd process is gone", null, null);
          continue;
        }
        const ok = await probeHealth(this.#host, r.ports.http, entry.spec.clusterId, id);
        if (this.#closed) return;
        r.healthFailures = ok ? 0 : r.healthFailures + 1;
        if (r.healthFailures >= 3 && entry.running === r && !r.stopping) {
          this.#log.warn({ replica_id: id, pid: r.pid }, "adopted clusterd failed 3 health checks");
          r.stopping = true;
          await terminatePid(r.pid, this.#graceMs);
          this.#handleDeath(entry, r, "adopted clusterd failed its health checks", null, null);
        }
      }
    } finally {
      this.#polling = false;
    }
  }

  // ---- helpers ----

  #sameShape(
    spec: ReplicaSpec,
    other: { clusterId: string; workers: number; phases: PhaseSet },
    clusterdPath: string,
  ): boolean {
    return (
      spec.clusterId === other.clusterId &&
      spec.workers === other.workers &&
      spec.phases.equals(other.phases) &&
      clusterdPath === this.#clusterdPath
    );
  }

  #validate(spec: ReplicaSpec): void {
    const id = spec.replicaId;
    if (!/^[A-Za-z0-9_.-]+$/.test(id)) {
      throw new InvalidReplicaSpec(id, "replicaId", "must be letters, digits, '_', '.' or '-'");
    }
    if (spec.clusterId === "") throw new InvalidReplicaSpec(id, "clusterId", "must not be empty");
    if (spec.phases.clusterId !== spec.clusterId) {
      throw new InvalidReplicaSpec(
        id,
        "phases",
        `is the PhaseSet of cluster ${spec.phases.clusterId}, not of ${spec.clusterId}`,
      );
    }
    if (!Number.isSafeInteger(spec.generation) || spec.generation < 0) {
      throw new InvalidReplicaSpec(id, "generation", "must be a non-negative integer");
    }
  }

  #checkOpen(operation: string): void {
    if (this.#closed) throw new OrchestratorClosed(operation);
  }

  async #withLock<T>(id: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.#locks.get(id) ?? Promise.resolve();
    const next = prev.then(fn, fn);
    const settled = next.catch(() => {});
    this.#locks.set(id, settled);
    void settled.then(() => {
      if (this.#locks.get(id) === settled) this.#locks.delete(id);
    });
    return next;
  }

  #records(): ReplicaRecord[] {
    const out: ReplicaRecord[] = [...this.#unclaimed.values()];
    for (const e of this.#replicas.values()) {
      const r = e.running;
      if (r === null) continue;
      out.push({
        replicaId: e.spec.replicaId,
        clusterId: e.spec.clusterId,
        workers: e.spec.workers,
        phases: e.spec.phases.toJSON(),
        generation: e.spec.generation,
        pid: r.pid,
        clusterdPath: e.clusterdPath,
        ports: r.ports,
        host: this.#host,
        startedAt: r.startedAt.toISOString(),
      });
    }
    return out;
  }

  #save(): void {
    if (this.#abandoned) return;
    saveRecords(this.#dataDir, this.#records());
  }

  #emit(event: ReplicaEvent): void {
    for (const l of this.#listeners) {
      try {
        l(event);
      } catch (e) {
        this.#log.error({ err: (e as Error).message, event: event.kind }, "event listener threw");
      }
    }
  }
}
