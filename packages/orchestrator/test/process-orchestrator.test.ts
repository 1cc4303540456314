/**
 * The process orchestrator against real clusterd processes (loopback, temp dirs).
 *
 * Every pid any orchestrator reports is tracked; afterEach closes the orchestrators and SIGKILLs
 * any tracked clusterd still alive, so a failing test leaves no process behind.
 */
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BUILT_PHASES, PhaseSet } from "@mzts/flags";
import { pino } from "pino";
import { Registry } from "prom-client";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  createProcessOrchestrator,
  OrchestratorClosed,
  type ProcessOrchestrator,
  type ProcessOrchestratorOptions,
  type ReplicaEvent,
  type ReplicaSpec,
  ReplicaStartFailed,
  StaleGeneration,
  UnknownReplica,
} from "../src/index.js";
import { isAlive, readCmdline, waitForExit } from "../src/process-probe.js";
import { orchestratorDir, recordsPath } from "../src/replica-records.js";

const silent = pino({ level: "silent" });

let dir: string;
const orchestrators: ProcessOrchestrator[] = [];
const pids = new Set<number>();

function spec(replicaId: string, over: Partial<ReplicaSpec> = {}): ReplicaSpec {
  return {
    clusterId: "u1",
    replicaId,
    workers: 1,
    phases: PhaseSet.of("u1", { servers: true }),
    generation: 1,
    ...over,
  };
}

/** A replica secret file in the test's directory (clusterd refuses to start without one). */
function secretFile(): string {
  const path = join(dir, "replica-secret");
  writeFileSync(path, `${randomBytes(32).toString("hex")}\n`, { mode: 0o600 });
  return path;
}

async function orchestrator(
  events: ReplicaEvent[] = [],
  over: Partial<ProcessOrchestratorOptions> = {},
): Promise<ProcessOrchestrator> {
  const o = await createProcessOrchestrator({
    dataDir: join(dir, "data"),
    persistDir: join(dir, "persist"),
    controllerSecretFile: secretFile(),
    controllerAbsentTimeoutMs: 120_000,
    logger: silent,
    registry: new Registry(),
    restartBackoff: { initialMs: 200, maxMs: 1000, factor: 2, resetAfterMs: 60_000 },
    stopGraceMs: 3000,
    pollIntervalMs: 150,
    ...over,
  });
  orchestrators.push(o);
  o.onEvent((e) => {
    events.push(e);
    if (e.kind === "online") pids.add(e.pid);
  });
  return o;
}

function records(): { replicaId: string; pid: number; generation: number; ports: unknown }[] {
  const text = readFileSync(recordsPath(join(dir, "data")), "utf8");
  return (JSON.parse(text) as { replicas: [] }).replicas;
}

function pidOf(o: ProcessOrchestrator, id: string): number {
  const pid = o.list().find((s) => s.replicaId === id)?.pid;
  if (pid == null) throw new Error(`no pid for ${id}`);
  pids.add(pid);
  return pid;
}

async function health(httpUrl: string): Promise<Record<string, unknown>> {
  const res = await fetch(`${httpUrl}/health`);
  expect(res.status).toBe(200);
  return (await res.json()) as Record<string, unknown>;
}

async function until<T>(what: string, f: () => T | undefined, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = f();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function metric(o: ProcessOrchestrator, name: string): Promise<number> {
  const m = (await o.registry.getMetricsAsJSON()).find((x) => x.name === name);
  return (m?.values ?? []).reduce((a, v) => a + v.value, 0);
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "mzts-orch-"));
});

afterEach(async () => {
  for (const o of orchestrators.splice(0)) await o.close().catch(() => {});
  for (const pid of pids) {
    const argv = readCmdline(pid);
    if (argv?.some((a) => a.includes("clusterd")) && isAlive(pid)) {
      process.kill(pid, "SIGKILL");
      await waitForExit(pid, 5000);
    }
  }
  pids.clear();
  rmSync(dir, { recursive: true, force: true });
});

describe("process orchestrator", () => {
  it("starts a replica with its flags, records it and serves /health", async () => {
    const o = await orchestrator();
    const loc = await o.ensureReplica(spec("r1", { workers: 2 }));
    const pid = pidOf(o, "r1");
    expect(loc.computeUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const h = await health(loc.httpUrl);
    expect(h).toMatchObject({ status: "ok", clusterId: "u1", replicaId: "r1", workers: 2 });
    expect((h.phases as { inForce: { servers: boolean } }).inForce.servers).toBe(true);
    expect(readCmdline(pid)).toEqual(
      expect.arrayContaining(["--controller-absent-timeout", "120000ms"]),
    );
    expect(o.list()).toMatchObject([{ replicaId: "r1", state: "online", pid, adopted: false }]);
    expect(records()).toMatchObject([{ replicaId: "r1", pid, generation: 1 }]);
    // idempotent: same spec, same process
    expect(await o.ensureReplica(spec("r1", { workers: 2, generation: 2 }))).toEqual(loc);
    expect(pidOf(o, "r1")).toBe(pid);
    expect(records()).toMatchObject([{ pid, generation: 2 }]);
    await expect(o.ensureReplica(spec("r1", { workers: 2 }))).rejects.toBeInstanceOf(
      StaleGeneration,
    );
    expect(await metric(o, "mz_orchestrator_replica_starts_total")).toBe(1);
    const text = await o.registry.metrics();
    expect(text).toContain('mz_orchestrator_replicas{state="online"} 1');
  });

  it("restarts a killed replica with growing backoff on the same ports", async () => {
    const events: ReplicaEvent[] = [];
    const o = await orchestrator(events);
    const loc = await o.ensureReplica(spec("r1"));
    const pid1 = pidOf(o, "r1");
    process.kill(pid1, "SIGKILL");
    const online2 = await until(
      "second online",
      () => events.filter((e) => e.kind === "online")[1],
    );
    const pid2 = pidOf(o, "r1");
    expect(pid2).not.toBe(pid1);
    expect(online2).toMatchObject({ pid: pid2, location: loc, adopted: false });
    expect(events.map((e) => e.kind)).toEqual(["online", "offline", "restarting", "online"]);
    expect(events[1]).toMatchObject({ kind: "offline", pid: pid1, signal: "SIGKILL" });
    // The pause is the 200 ms delay less the few ms the replica was up.
    expect(events[2]).toMatchObject({ kind: "restarting", attempt: 1 });
    expect((events[2] as { delayMs: number }).delayMs).toBeLessThanOrEqual(200);
    expect((await health(loc.httpUrl)).replicaId).toBe("r1");
    expect(records()).toMatchObject([{ pid: pid2 }]);

    process.kill(pid2, "SIGKILL");
    await until("third online", () => events.filter((e) => e.kind === "online")[2]);
    pidOf(o, "r1");
    const delays = events.filter((e) => e.kind === "restarting").map((e) => e.delayMs);
    expect(delays).toHaveLength(2);
    expect(delays[1]).toBeLessThanOrEqual(400);
    expect(delays[1]).toBeGreaterThan(delays[0]!);
    expect(o.list()[0]).toMatchObject({ state: "online", restarts: 2 });
    expect(await metric(o, "mz_orchestrator_replica_restarts_total")).toBe(2);
  });

  it("restarts at once a replica that had run resetAfterMs, then backs off again", async () => {
    const events: ReplicaEvent[] = [];
    const o = await orchestrator(events, {
      restartBackoff: { initialMs: 200, maxMs: 1000, factor: 2, resetAfterMs: 300 },
    });
    await o.ensureReplica(spec("r1"));
    await new Promise((r) => setTimeout(r, 400));
    process.kill(pidOf(o, "r1"), "SIGKILL");
    await until("second online", () => events.filter((e) => e.kind === "online")[1]);
    // Killed again before resetAfterMs: the ordinary backoff.
    process.kill(pidOf(o, "r1"), "SIGKILL");
    await until("third online", () => events.filter((e) => e.kind === "online")[2]);
    const restarting = events.filter((e) => e.kind === "restarting");
    expect(restarting.map((e) => e.attempt)).toEqual([1, 2]);
    expect(restarting[0]!.delayMs).toBe(0);
    expect(restarting[1]!.delayMs).toBeGreaterThan(0);
    expect(restarting[1]!.delayMs).toBeLessThanOrEqual(400);
  });

  it("does not pause a replica killed again after serving longer than its delay (issue 16)", async () => {
    // Repeated kill -9s, each after the replica served longer than the cap (1000 ms) but less
    // than resetAfterMs: the attempts grow, the pauses stay 0 (before: 200, 400, 800 ms, so the
    // replay after each kill grew by the doubling pause).
    const events: ReplicaEvent[] = [];
    const o = await orchestrator(events);
    await o.ensureReplica(spec("r1"));
    for (let k = 1; k <= 3; k++) {
      await new Promise((r) => setTimeout(r, 1100));
      process.kill(pidOf(o, "r1"), "SIGKILL");
      await until(`online after kill ${k}`, () => events.filter((e) => e.kind === "online")[k]);
    }
    const restarting = events.filter((e) => e.kind === "restarting");
    expect(restarting.map((e) => [e.attempt, e.delayMs])).toEqual([
      [1, 0],
      [2, 0],
      [3, 0],
    ]);
  });

  it("drop stops the process and removes its record", async () => {
    const o = await orchestrator();
    await o.ensureReplica(spec("r1"));
    const pid = pidOf(o, "r1");
    await o.dropReplica("r1");
    expect(isAlive(pid)).toBe(false);
    expect(o.list()).toEqual([]);
    expect(records()).toEqual([]);
    await expect(o.dropReplica("r1")).rejects.toBeInstanceOf(UnknownReplica);
  });

  it("close() stops every replica", async () => {
    const o = await orchestrator();
    await Promise.all([o.ensureReplica(spec("r1")), o.ensureReplica(spec("r2"))]);
    const started = [pidOf(o, "r1"), pidOf(o, "r2")];
    await o.close();
    expect(started.map(isAlive)).toEqual([false, false]);
    expect(records()).toEqual([]);
    await expect(o.ensureReplica(spec("r3"))).rejects.toBeInstanceOf(OrchestratorClosed);
  });

  it("the next boot adopts wanted replicas and terminates the others", async () => {
    const a = await orchestrator();
    const [loc1] = await Promise.all([a.ensureReplica(spec("r1")), a.ensureReplica(spec("r2"))]);
    const [pid1, pid2] = [pidOf(a, "r1"), pidOf(a, "r2")];
    a.abandon(); // environmentd crashed: processes keep running

    const events: ReplicaEvent[] = [];
    const b = await orchestrator(events);
    expect(b.list().map((s) => [s.replicaId, s.state, s.pid])).toEqual([
      ["r1", "unclaimed", pid1],
      ["r2", "unclaimed", pid2],
    ]);
    const result = await b.reconcile([spec("r1", { generation: 2 })]);
    expect(result.locations.get("r1")).toEqual(loc1);
    expect(result.terminated).toEqual(["r2"]);
    expect(isAlive(pid2)).toBe(false);
    expect(b.list()).toMatchObject([
      { replicaId: "r1", pid: pid1, adopted: true, state: "online" },
    ]);
    expect(events).toMatchObject([{ kind: "online", pid: pid1, adopted: true }]);
    expect(records()).toMatchObject([{ replicaId: "r1", pid: pid1, generation: 2 }]);
    expect(await metric(b, "mz_orchestrator_replica_adoptions_total")).toBe(1);
    await expect(b.ensureReplica(spec("r1", { generation: 1 }))).rejects.toBeInstanceOf(
      StaleGeneration,
    );

    // An adopted process is not our child: the poll notices its death and restarts it.
    process.kill(pid1, "SIGKILL");
    await until(
      "restart of the adopted replica",
      () => events.filter((e) => e.kind === "online")[1],
    );
    expect(pidOf(b, "r1")).not.toBe(pid1);
    expect(events.map((e) => e.kind)).toEqual(["online", "offline", "restarting", "online"]);
  });

  it("a recorded replica of a different spec is replaced", async () => {
    const a = await orchestrator();
    await a.ensureReplica(spec("r1"));
    const old = pidOf(a, "r1");
    a.abandon();
    const b = await orchestrator();
    const loc = await b.ensureReplica(spec("r1", { workers: 2, generation: 2 }));
    expect(isAlive(old)).toBe(false);
    expect(pidOf(b, "r1")).not.toBe(old);
    expect((await health(loc.httpUrl)).workers).toBe(2);
  });

  it("stale records are removed and a reused pid is left alone", async () => {
    const dead = spawnSync(process.execPath, ["-e", ""]).pid ?? 999_999;
    const base = {
      clusterId: "u1",
      workers: 1,
      phases: PhaseSet.of("u1").toJSON(),
      generation: 1,
      clusterdPath: "/nowhere/main.js",
      ports: { compute: 1, storage: 2, http: 3 },
      host: "127.0.0.1",
      startedAt: new Date().toISOString(),
    };
    mkdirSync(orchestratorDir(join(dir, "data")), { recursive: true });
    writeFileSync(
      recordsPath(join(dir, "data")),
      JSON.stringify({
        version: 1,
        replicas: [
          { ...base, replicaId: "dead", pid: dead },
          { ...base, replicaId: "reused", pid: process.pid }, // alive, but not a clusterd
        ],
      }),
    );
    const o = await orchestrator();
    expect(o.list()).toEqual([]);
    expect(records()).toEqual([]);
    expect(isAlive(process.pid)).toBe(true);
  });

  it("keeps the previous logs of a crashing replica and logs its stderr tail", async () => {
    // A stand-in clusterd: each incarnation says ready, prints a stack trace and dies (exit 1);
    // the fifth stays up. The first floods stderr, so the logged tail must be bounded.
    const fake = join(dir, "fake-clusterd.mjs");
    writeFileSync(
      fake,
      `import { existsSync, readFileSync, writeFileSync } from "node:fs";
const f = ${JSON.stringify(join(dir, "incarnation"))};
const n = existsSync(f) ? Number(readFileSync(f, "utf8")) + 1 : 1;
writeFileSync(f, String(n));
if (n === 1) for (let i = 0; i < 300; i++) console.error("noise " + i);
console.log(JSON.stringify({ msg: "clusterd ready", computePort: 1, storagePort: 2, httpPort: 3 }));
if (n < 5) {
  console.error("Error: boom in incarnation " + n + "\\n    at crash (fake-clusterd.mjs:9:9)");
  setTimeout(() => process.exit(1), 100);
} else setInterval(() => {}, 1000);
`,
    );
    const lines: Array<Record<string, unknown>> = [];
    const logger = pino(
      { level: "info" },
      {
        write: (s: string) => {
          lines.push(JSON.parse(s) as Record<string, unknown>);
        },
      },
    );
    const events: ReplicaEvent[] = [];
    const o = await orchestrator(events, { clusterdPath: fake, logger });
    await o.ensureReplica(spec("r1"));
    await until(
      "the fifth incarnation",
      () => events.filter((e) => e.kind === "online")[4],
      20_000,
    );
    pidOf(o, "r1");
    const logs = join(orchestratorDir(join(dir, "data")), "logs");
    const read = (name: string) => readFileSync(join(logs, name), "utf8");
    // The current log and the three before it, newest first; no more.
    expect(read("r1.err.log")).not.toContain("boom");
    expect(read("r1.err.log.1")).toContain("boom in incarnation 4");
    expect(read("r1.err.log.2")).toContain("boom in incarnation 3");
    expect(read("r1.err.log.3")).toContain("boom in incarnation 2");
    expect(() => read("r1.err.log.4")).toThrow(/ENOENT/);
    expect(read("r1.out.log.1")).toContain("clusterd ready");
    // environmentd's log (the orchestrator's logger) has each crash's last stderr lines.
    const offline = lines.filter((l) => l.msg === "replica offline");
    expect(offline).toHaveLength(4);
    const tails = offline.map((l) => String(l.stderrTail));
    for (let n = 1; n <= 4; n++) expect(tails[n - 1]).toContain(`boom in incarnation ${n}`);
    const first = tails[0] ?? "";
    expect(first).toContain("at crash (fake-clusterd.mjs:9:9)");
    expect(first).not.toContain("noise 0\n");
    expect(first.length).toBeLessThanOrEqual(4000);
    expect(events.find((e) => e.kind === "offline")).toMatchObject({
      stderrTail: expect.stringContaining("boom in incarnation 1"),
    });
  }, 40_000);

  it("starts a one-port replica with --cluster-listen, records its cluster port and restarts on it", async () => {
    // A stand-in clusterd: logs its arguments, says ready on the port it was asked for (a fixed
    // one for port 0) and stays up.
    const fake = join(dir, "fake-one-port.mjs");
    const argsLog = join(dir, "args.log");
    writeFileSync(
      fake,
      `import { appendFileSync } from "node:fs";
const args = process.argv.slice(2);
appendFileSync(${JSON.stringify(argsLog)}, JSON.stringify(args) + "\\n");
const listen = args[args.indexOf("--cluster-listen") + 1] ?? "";
const port = Number(listen.split(":").pop()) || 45123;
console.log(JSON.stringify({ msg: "clusterd ready", clusterPort: port, httpPort: 45124 }));
setInterval(() => {}, 1000);
`,
    );
    const events: ReplicaEvent[] = [];
    const o = await orchestrator(events, { clusterdPath: fake });
    const phases = PhaseSet.of("u1", { servers: true, replicas: true, client: true }, [
      ...BUILT_PHASES,
      "client",
    ]);
    const location = await o.ensureReplica(spec("r1", { phases }));
    expect(location).toEqual({
      computeUrl: "http://127.0.0.1:45123",
      storageUrl: "http://127.0.0.1:45123",
      clusterUrl: "http://127.0.0.1:45123",
      httpUrl: "http://127.0.0.1:45124",
    });
    expect(records()[0]?.ports).toEqual({ cluster: 45123, http: 45124 });
    const first = pidOf(o, "r1");
    process.kill(first, "SIGKILL");
    await until("restarted", () => events.filter((e) => e.kind === "online")[1]);
    pidOf(o, "r1");
    const argv = readFileSync(argsLog, "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as string[]);
    expect(argv).toHaveLength(2);
    for (const a of argv) {
      expect(a).not.toContain("--compute-listen");
      expect(a).not.toContain("--storage-listen");
    }
    expect(argv[0]?.[(argv[0]?.indexOf("--cluster-listen") ?? 0) + 1]).toBe("127.0.0.1:0");
    expect(argv[1]?.[(argv[1]?.indexOf("--cluster-listen") ?? 0) + 1]).toBe("127.0.0.1:45123");
  }, 20_000);

  it("bad clusterd configuration fails the start with exit code 2 and clusterd's message", async () => {
    const events: ReplicaEvent[] = [];
    const o = await orchestrator(events);
    const err = await o.ensureReplica(spec("r1", { workers: 0 })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ReplicaStartFailed);
    const failed = err as ReplicaStartFailed;
    expect(failed.exitCode).toBe(2);
    expect(failed.stderrTail).toContain("invalid --workers");
    expect(failed.message).toContain("exit code 2 is bad configuration");
    expect(o.list()).toEqual([]);
    expect(records()).toEqual([]);
    expect(events).toMatchObject([{ kind: "failed", replicaId: "r1", permanent: true }]);
    expect(await o.registry.metrics()).toContain(
      'mz_orchestrator_replica_start_failures_total{exit_code="2"} 1',
    );
  });
});
