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
 *    backoff delay less the run's uptime (`backoff.ts`; none after a run of at least `resetAfterMs`), then `online` again. The restart asks for the **same ports**
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
 *
 * ## Modules
 * This file is the composition. A process (arguments, spawn, ready line, stop) is
 * `clusterd-process.ts`, its log files `clusterd-logs.ts`, the boot and adoption checks of the
 * records `adoption.ts`, a managed replica's state and spec checks `replica-entry.ts`.
 */
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { type Logger, pino } from "pino";
import { Registry } from "prom-client";
import { checkAdoptable, checkRecordAtBoot } from "./adoption.js";
import {
  backoffDelay,
  DEFAULT_RESTART_BACKOFF,
  nextAttempt,
  type RestartBackoff,
  restartDelay,
} from "./backoff.js";
import { replicaLogPaths, tail } from "./clusterd-logs.js";
import {
  awaitReady,
  type ClusterdConfig,
  type ExitStatus,
  locationOf,
  type Running,
  spawnClusterd,
  stopProcess,
} from "./clusterd-process.js";
import {
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
  ReplicaStatus,
} from "./orchestrator.js";
import { isAlive, isClusterdFor, probeHealth, terminatePid } from "./process-probe.js";
import {
  type Entry,
  entryStatus,
  newEntry,
  recordsOf,
  sameShape,
  unclaimedStatus,
  validateSpec,
} from "./replica-entry.js";
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
   * Node.js options placed before clusterd's script (e.g. `--cpu-prof --cpu-prof-dir=<dir>` for
   * profiles, which `NODE_OPTIONS` does not allow). Default none.
   */
  readonly clusterdNodeArgs?: readonly string[];
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

function defaultClusterdPath(): string {
  return fileURLToPath(import.meta.resolve("@mzts/clusterd/main"));
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
  readonly #clusterdPath: string;
  readonly #host: string;
  /** What every clusterd is started with. */
  readonly #clusterd: ClusterdConfig;
  readonly #log: Logger;
  readonly #backoff: RestartBackoff;
  readonly #graceMs: number;
  readonly #pollMs: number;
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
    this.#clusterdPath = options.clusterdPath ?? defaultClusterdPath();
    this.#host = options.listenHost ?? "127.0.0.1";
    this.#clusterd = {
      clusterdPath: this.#clusterdPath,
      host: this.#host,
      persistDir: options.persistDir,
      absentTimeoutMs: options.controllerAbsentTimeoutMs ?? 300_000,
      logLevel: options.clusterdLogLevel ?? "info",
      secretFile: options.controllerSecretFile,
      startTimeoutMs: options.startTimeoutMs ?? 30_000,
      nodeArgs: options.clusterdNodeArgs ?? [],
    };
    this.#log = (options.logger ?? pino()).child({ component: "orchestrator" });
    this.#backoff = { ...DEFAULT_RESTART_BACKOFF, ...options.restartBackoff };
    this.#graceMs = options.stopGraceMs ?? 10_000;
    this.#pollMs = options.pollIntervalMs ?? 1000;
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
        if (await checkRecordAtBoot(rec, this.#graceMs, this.#log, this.#metrics)) {
          this.#unclaimed.set(rec.replicaId, rec);
        }
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
    for (const e of this.#replicas.values()) out.push(entryStatus(e, this.#host));
    for (const rec of this.#unclaimed.values()) out.push(unclaimedStatus(rec));
    return out.sort((a, b) => a.replicaId.localeCompare(b.replicaId));
  }

  async ensureReplica(spec: ReplicaSpec): Promise<ReplicaLocation> {
    this.#checkOpen("ensure a replica");
    validateSpec(spec);
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
      if (
        sameShape(spec, entry.spec, entry.clusterdPath, this.#clusterdPath) &&
        entry.state !== "failed"
      ) {
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
    const { shapeOk, live, running } = await checkAdoptable(
      spec,
      rec,
      this.#clusterdPath,
      this.#host,
    );
    if (running === null || running.ports === null) {
      this.#log.info(
        { replica_id: id, pid: rec.pid, spec_matches: shapeOk, live },
        "recorded replica not adoptable; terminating it and starting a new process",
      );
      await this.#terminateRecord(rec, "mismatch");
      return null;
    }
    this.#unclaimed.delete(id);
    const entry = newEntry(spec, this.#clusterdPath);
    entry.running = running;
    entry.adopted = true;
    entry.state = "online";
    this.#replicas.set(id, entry);
    this.#save();
    this.#metrics.adoptions.inc();
    const location = locationOf(this.#host, running.ports);
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
    const entry = newEntry(spec, this.#clusterdPath);
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
    const logs = replicaLogPaths(this.#dataDir, id, true);
    let running: Running;
    try {
      running = await spawnClusterd(this.#clusterd, spec, entry.preferredPorts, logs);
    } catch (e) {
      if (e instanceof ReplicaStartFailed) this.#metrics.startFailures.inc({ exit_code: "none" });
      throw e;
    }
    const pid = running.pid;
    running.child?.on("error", (e) =>
      this.#log.error({ replica_id: id, pid, err: e.message }, "child error"),
    );
    entry.running = running;
    entry.clusterdPath = this.#clusterdPath;
    this.#metrics.starts.inc();
    this.#save();
    this.#log.info({ replica_id: id, pid, workers: spec.workers }, "clusterd spawned");

    const ready = await awaitReady(this.#clusterd, id, running, logs);
    if (ready instanceof ReplicaStartFailed) {
      if (entry.running === running) entry.running = null;
      this.#save();
      const code = ready.exitCode;
      this.#metrics.startFailures.inc({ exit_code: code === null ? "none" : String(code) });
      throw ready;
    }
    running.ports = ready;
    running.onlineSince = Date.now();
    this.#save();
    void running.exit?.then((x) => this.#onChildExit(entry, running, x));
    return running;
  }

  #onChildExit(entry: Entry, running: Running, x: ExitStatus): void {
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
    const errLog = replicaLogPaths(this.#dataDir, id).err;
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
    this.#scheduleRestart(entry, reason, restartDelay(this.#backoff, entry.attempt, uptime));
  }

  #scheduleRestart(
    entry: Entry,
    reason: string,
    delayMs = backoffDelay(this.#backoff, entry.attempt),
  ): void {
    if (this.#closed || entry.removed) return;
    entry.state = "restarting";
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
      await stopProcess(running, this.#graceMs, this.#log);
      this.#metrics.terminations.inc({ reason });
      this.#log.info({ replica_id: entry.spec.replicaId, pid: running.pid, reason }, "stopped");
    }
    entry.running = null;
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

  #save(): void {
    if (this.#abandoned) return;
    saveRecords(
      this.#dataDir,
      recordsOf(this.#unclaimed.values(), this.#replicas.values(), this.#host),
    );
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
