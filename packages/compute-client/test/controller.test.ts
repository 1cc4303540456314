/**
 * The compute controller against real clusterd replicas started by the process orchestrator.
 *
 * Data: two persist shards written directly (`a(k, v)` and `b(k, w)`, updates at times 0‥9, then
 * closed with an empty upper). Dataflow: `sum(v), count(*)` per `k` over `a`, joined with `b` on
 * `k`, indexed on `k`. The reference answers are computed from the written updates in plain TS.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import type { Plan } from "@mzts/expr";
import { PhaseSet } from "@mzts/flags";
import { createProcessOrchestrator, type Orchestrator } from "@mzts/orchestrator";
import { createPersist } from "@mzts/persist";
import {
  computeRequestToProto,
  createHello,
  type DataflowDescription,
  formatReplicaSecret,
  generateReplicaSecret,
  type Hello,
  type LoggingConfig,
  signHello,
} from "@mzts/protocol";
import { ComputeService } from "@mzts/protocol/wire";
import { compareRows, type Row, type Update } from "@mzts/repr";
import pino from "pino";
import { Registry } from "prom-client";
import { afterEach, describe, expect, it } from "vitest";
import {
  type ComputeController,
  connectLegacyComputeReplica,
  createComputeController,
  PeekTimeout,
  SinceViolation,
} from "../src/index.js";
import { CONSTANT_INDEX } from "./fake-replicas.js";

const INSTANCE = "u1";
const LOGGING: LoggingConfig = {
  enabled: false,
  intervalMs: 1000,
  logLogging: false,
  indexLogs: new Map(),
};
const TIMES = 10n;

/** a(k, v): at time t, insert (t % 3, t + 1); at odd t, retract the row inserted at t - 1. */
function updatesA(): Update[] {
  const out: Update[] = [];
  for (let t = 0n; t < TIMES; t++) {
    out.push([[t % 3n, t + 1n], t, 1]);
    if (t % 2n === 1n) out.push([[(t - 1n) % 3n, t], t, -1]);
  }
  return out;
}
/** b(k, w): k = 0, 1, 2 at time 0 with names; k = 3 at time 4; k = 1 renamed at time 6. */
function updatesB(): Update[] {
  return [
    [[0n, "zero"], 0n, 1],
    [[1n, "one"], 0n, 1],
    [[2n, "two"], 0n, 1],
    [[3n, "three"], 4n, 1],
    [[1n, "one"], 6n, -1],
    [[1n, "uno"], 6n, 1],
  ];
}

/** The collection of `updates` as of `t`: row → count. */
function asOf(updates: readonly Update[], t: bigint): Map<string, [Row, number]> {
  const m = new Map<string, [Row, number]>();
  for (const [row, time, diff] of updates) {
    if (time > t) continue;
    const key = JSON.stringify(row, (_k, v) => (typeof v === "bigint" ? `${v}n` : v));
    const e = m.get(key) ?? [row, 0];
    e[1] += diff;
    if (e[1] === 0) m.delete(key);
    else m.set(key, e);
  }
  return m;
}

/** (k, sum(v), count, w) ordered by k: the reference answer at `t`. */
function reference(t: bigint): Array<[Row, number]> {
  const sums = new Map<bigint, { sum: bigint; count: bigint }>();
  for (const [row, n] of asOf(updatesA(), t).values()) {
    const k = row[0] as bigint;
    const s = sums.get(k) ?? { sum: 0n, count: 0n };
    s.sum += (row[1] as bigint) * BigInt(n);
    s.count += BigInt(n);
    sums.set(k, s);
  }
  const rows: Array<[Row, number]> = [];
  for (const [row, n] of asOf(updatesB(), t).values()) {
    const s = sums.get(row[0] as bigint);
    if (s !== undefined) rows.push([[row[0] as bigint, s.sum, s.count, row[1] as string], n]);
  }
  return rows.sort((x, y) => compareRows(x[0], y[0]));
}

async function seedShards(persistDir: string): Promise<void> {
  const persist = await createPersist({ dataDir: persistDir });
  try {
    for (const [name, updates] of [
      ["a", updatesA()],
      ["b", updatesB()],
    ] as const) {
      const shard = await persist.openShard(name, { create: true });
      for (let t = 0n; t < TIMES; t++) {
        await shard.compareAndAppend(
          updates.filter((u) => u[1] === t),
          t,
          t + 1n,
        );
      }
      await shard.compareAndAppend([], TIMES, null);
    }
  } finally {
    await persist.close();
  }
}

const getA: Plan = { kind: "get", id: "u1", arity: 2 };
const getB: Plan = { kind: "get", id: "u2", arity: 2 };
function summary(summaryId: string): Plan {
  return {
    kind: "project",
    input: {
      kind: "join",
      inputs: [{ kind: "get", id: summaryId, arity: 3 }, getB],
      equivalences: [
        [
          [0, 0],
          [1, 0],
        ],
      ],
    },
    columns: [0, 1, 2, 4],
  };
}
const sums: Plan = {
  kind: "reduce",
  input: getA,
  groupKey: [0],
  aggregates: [{ func: "sum", column: 1 }, { func: "count" }],
};
const sourceImports = [
  { id: "u1", shardId: "a", arity: 2, upper: 0n },
  { id: "u2", shardId: "b", arity: 2, upper: 0n },
];

function indexedDataflow(): DataflowDescription {
  return {
    debugName: "sums_by_k",
    sourceImports,
    indexImports: [],
    objectsToBuild: [
      { id: "u10", plan: sums },
      { id: "u11", plan: summary("u10") },
    ],
    indexExports: [{ id: "u12", objectId: "u11", key: [0] }],
    sinkExports: [],
    asOf: 0n,
    until: null,
  };
}

function subscribeDataflow(): DataflowDescription {
  return {
    debugName: "sums_by_k_subscribe",
    sourceImports,
    indexImports: [],
    objectsToBuild: [
      { id: "u20", plan: sums },
      { id: "u21", plan: summary("u20") },
    ],
    indexExports: [],
    sinkExports: [{ id: "u22", fromId: "u21", connection: { kind: "subscribe" } }],
    asOf: 0n,
    until: null,
  };
}

const ordered = {
  mapFilterProject: { exprs: [], predicates: [], projection: [0, 1, 2, 3] },
  finishing: {
    orderBy: [{ column: 0, desc: false, nullsLast: true }],
    offset: 0,
    project: [0, 1, 2, 3],
  },
};

interface Env {
  dir: string;
  orchestrator: Orchestrator;
  controller: ComputeController;
  registry: Registry;
  logs: Array<{ level: number; msg: string }>;
  pids: Map<string, number>;
  /** The replica secret the controller signs with. */
  secret: Uint8Array;
}

let env: Env | undefined;

afterEach(async () => {
  if (env === undefined) return;
  const e = env;
  env = undefined;
  if (process.env.DUMP_LOGS)
    for (const l of e.logs) if (l.level >= 40) console.log(JSON.stringify(l));
  for (const pid of e.pids.values()) {
    try {
      process.kill(pid, "SIGCONT");
    } catch {}
  }
  await e.controller.close();
  await e.orchestrator.close();
  rmSync(e.dir, { recursive: true, force: true });
});

async function setup(replicas: readonly string[], logging: LoggingConfig = LOGGING): Promise<Env> {
  const dir = mkdtempSync(join(tmpdir(), "mzts-compute-client-"));
  const persistDir = join(dir, "persist");
  await seedShards(persistDir);
  // The environment's replica secret: clusterd refuses unsigned hellos.
  const secret = generateReplicaSecret();
  const secretFile = join(dir, "replica-secret");
  writeFileSync(secretFile, formatReplicaSecret(secret), { mode: 0o600 });
  const orchestrator = await createProcessOrchestrator({
    dataDir: dir,
    persistDir,
    controllerSecretFile: secretFile,
    controllerAbsentTimeoutMs: 60_000,
    restartBackoff: { initialMs: 100, maxMs: 500 },
    stopGraceMs: 2000,
  });
  const logs: Array<{ level: number; msg: string }> = [];
  const logger = pino(
    { level: "debug" },
    {
      write: (s: string) => {
        const o = JSON.parse(s) as { level: number; msg: string };
        logs.push(o);
      },
    },
  );
  const registry = new Registry();
  const controller = createComputeController({
    generation: 1n,
    replicaSecret: secret,
    logger,
    registry,
  });
  const pids = new Map<string, number>();
  env = { dir, orchestrator, controller, registry, logs, pids, secret };
  orchestrator.onEvent((ev) => {
    if (ev.kind === "online") {
      pids.set(ev.replicaId, ev.pid);
      try {
        controller.updateReplicaLocation(INSTANCE, ev.replicaId, ev.location);
      } catch {}
    }
  });
  controller.createInstance(INSTANCE, logging, { connector: connectLegacyComputeReplica });
  const locations = await Promise.all(
    replicas.map((replicaId) =>
      orchestrator.ensureReplica({
        clusterId: INSTANCE,
        replicaId,
        workers: 1,
        generation: 1,
        phases: PhaseSet.of(INSTANCE, { servers: true }),
      }),
    ),
  );
  replicas.forEach((r, i) => {
    controller.addReplica(INSTANCE, r, locations[i] as { computeUrl: string });
  });
  for (const s of orchestrator.list()) if (s.pid !== null) pids.set(s.replicaId, s.pid);
  return env;
}

async function until(cond: () => boolean, what: string, timeoutMs = 15_000): Promise<number> {
  const start = Date.now();
  while (!cond()) {
    if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  return Date.now() - start;
}

async function metric(registry: Registry, name: string, labels: Record<string, string>) {
  const m = await registry.getSingleMetric(name)?.get();
  const v = m?.values.find((x) => Object.entries(labels).every(([k, val]) => x.labels[k] === val));
  return v?.value ?? 0;
}

describe("compute controller against real replicas", () => {
  it("answers peeks, survives kill -9, rehydrates, bounds history, counts exactly", async () => {
    const { controller, registry, pids } = await setup(["u1", "u2"]);
    controller.createDataflow(INSTANCE, indexedDataflow());
    await until(() => controller.frontiers("u12").write === null, "the index to complete");
    await until(
      () => controller.replicas(INSTANCE).every((r) => r.state === "connected"),
      "both replicas connected",
    );
    for (const t of [0n, 2n, 5n, 9n]) {
      expect(
        (await controller.peek(INSTANCE, { target: "u12", timestamp: t, ...ordered })).rows,
      ).toEqual(reference(t));
    }
    expect(reference(9n).length).toBeGreaterThan(2);

    // kill -9 r1 during a stream of peeks: the other replica keeps answering.
    const stream: Array<Promise<unknown>> = [];
    let killed = false;
    for (let i = 0; i < 60; i++) {
      const t = BigInt(i % 10);
      stream.push(
        controller
          .peek(INSTANCE, { target: "u12", timestamp: t, ...ordered })
          .then((answer) => expect(answer.rows).toEqual(reference(t))),
      );
      if (i === 20) {
        process.kill(pids.get("u1") as number, "SIGKILL");
        killed = true;
      }
      await new Promise((r) => setTimeout(r, 5));
    }
    expect(killed).toBe(true);
    await Promise.all(stream);

    // The orchestrator restarts r1; the controller rehydrates it with epoch 2.
    await until(() => {
      const r1 = controller.replicas(INSTANCE).find((r) => r.replicaId === "u1");
      return r1?.epoch === 2 && r1.state === "connected";
    }, "r1 rehydrated");
    const u1r = controller.replicas(INSTANCE).find((r) => r.replicaId === "u1");
    expect(u1r?.lastError).toMatch(/^replica task failed: /);
    for (const t of [2n, 9n]) {
      expect(
        await controller.peek(INSTANCE, {
          target: "u12",
          timestamp: t,
          targetReplica: "u1",
          ...ordered,
        }),
      ).toEqual({ rows: reference(t), replicaId: "u1" });
    }

    // Below the since after compaction: refused by the controller.
    controller.allowCompaction("u12", 5n);
    expect(controller.frontiers("u12")).toEqual({ since: 5n, write: null, reported: true });
    await expect(
      controller.peek(INSTANCE, { target: "u12", timestamp: 3n, ...ordered }),
    ).rejects.toBeInstanceOf(SinceViolation);
    expect(
      (await controller.peek(INSTANCE, { target: "u12", timestamp: 5n, ...ordered })).rows,
    ).toEqual(reference(5n));

    // 400 peeks: the history stays bounded.
    for (let batch = 0; batch < 40; batch++) {
      await Promise.all(
        Array.from({ length: 10 }, (_, i) =>
          controller.peek(INSTANCE, { target: "u12", timestamp: 5n + BigInt(i % 5), ...ordered }),
        ),
      );
    }
    expect(controller.historySize(INSTANCE)).toBeLessThan(100);

    // 4 + 60 + 2 + 1 + 400 answered peeks.
    expect(await metric(registry, "mz_compute_peeks_total", { result: "rows" })).toBe(467);
    expect(await metric(registry, "mz_compute_peeks_total", { result: "canceled" })).toBe(0);
    expect(
      await metric(registry, "mz_compute_controller_replica_connects_total", { replica_id: "u1" }),
    ).toBe(2);
    expect(
      await metric(registry, "mz_compute_controller_replica_connects_total", { replica_id: "u2" }),
    ).toBe(1);
    // u1 waited for its restarted process (the orchestrator's backoff) before reconnecting.
    const wait = (replica_id: string) =>
      metric(registry, "mz_compute_controller_replica_connect_wait_time_seconds_total", {
        replica_id,
      });
    expect(await wait("u1")).toBeGreaterThan(await wait("u2"));
    expect(
      await metric(registry, "mz_compute_controller_connected_replica_count", {
        instance_id: INSTANCE,
      }),
    ).toBe(2);
    expect(
      await metric(registry, "mz_compute_commands_total", {
        replica_id: "u2",
        command_type: "initializationComplete",
      }),
    ).toBe(1);
    const hist = await registry.getSingleMetric("mz_compute_peek_duration_seconds")?.get();
    const count = hist?.values.find(
      (v) =>
        (v as { metricName?: string }).metricName === "mz_compute_peek_duration_seconds_count" &&
        v.labels.result === "rows",
    );
    expect(count?.value).toBe(467);

    // Drop: the collection is forgotten once both replicas report it empty.
    controller.dropCollection("u12");
    await until(() => {
      try {
        controller.frontiers("u12");
        return false;
      } catch {
        return true;
      }
    }, "the dropped index to be forgotten");
  }, 45_000);

  it("an attacker hello with a higher generation and no or a wrong secret is refused; the controller stays connected", async () => {
    const { controller, orchestrator, secret } = await setup(["u1"]);
    controller.createDataflow(INSTANCE, indexedDataflow());
    await until(() => controller.frontiers("u12").write === null, "the index to complete");
    const url = orchestrator.list()[0]?.location?.computeUrl as string;
    // Someone on the host reaches the replica's port with generation 99.
    const attack = async (hello: Hello) => {
      const client = createClient(ComputeService, createGrpcTransport({ baseUrl: url }));
      try {
        for await (const _ of client.control(
          (async function* () {
            yield computeRequestToProto([{ kind: "hello", hello }]);
            await new Promise((r) => setTimeout(r, 2000));
          })(),
        )) {
        }
        return undefined;
      } catch (e) {
        return ConnectError.from(e);
      }
    };
    const unsigned = await attack(createHello(99n));
    expect(unsigned?.code).toBe(Code.Unauthenticated);
    expect(unsigned?.rawMessage).toMatch(/replica u1 \(cluster u1\) compute port refused/);
    const forged = await attack(signHello(createHello(99n), generateReplicaSecret(), "compute"));
    expect(forged?.code).toBe(Code.Unauthenticated);
    // The real controller was neither fenced nor superseded: same incarnation, still answering.
    const [r] = controller.replicas(INSTANCE);
    expect(r).toMatchObject({ epoch: 1, state: "connected", lastError: undefined });
    expect(
      (await controller.peek(INSTANCE, { target: "u12", timestamp: 9n, ...ordered })).rows,
    ).toEqual(reference(9n));

    // A process that does hold the secret (a leak) fences the controller with generation 99:
    // the controller says so in the replica's status (the refusal, with the replica's highest
    // generation) for environmentd to check against the catalog.
    void attack(signHello(createHello(99n), secret, "compute"));
    await until(
      () => controller.replicas(INSTANCE)[0]?.refusal?.kind === "stale-generation",
      "the refusal in the status",
    );
    expect(controller.replicas(INSTANCE)[0]).toMatchObject({
      state: expect.not.stringMatching(/^connected$/),
      refusal: { kind: "stale-generation", highestGeneration: 99n },
    });
    expect(controller.replicas(INSTANCE)[0]?.lastError).toMatch(
      /hello of generation 1 refused: this replica has accepted a hello of generation 99/,
    );
  }, 30_000);

  it("merges a subscribe over two replicas, detects a stopped replica, times peeks out", async () => {
    const { controller, registry, logs, pids } = await setup(["u1", "u2"]);
    controller.createDataflow(INSTANCE, indexedDataflow());
    const batches = [];
    for await (const b of controller.subscribe(INSTANCE, subscribeDataflow())) batches.push(b);
    // Contiguous, from the as-of to the empty frontier, no time in two batches.
    expect(batches[0]?.lower).toBe(0n);
    expect(batches.at(-1)?.upper).toBe(null);
    for (let i = 1; i < batches.length; i++) {
      expect(batches[i]?.lower).toBe(batches[i - 1]?.upper);
    }
    const seen = new Map<bigint, number>();
    batches.forEach((b, i) => {
      for (const [, t] of b.updates) {
        expect(seen.get(t) ?? i).toBe(i);
        seen.set(t, i);
        expect(t >= (b.lower as bigint) && (b.upper === null || t < b.upper)).toBe(true);
      }
    });
    // Consolidated, the stream equals the differences of the reference.
    const got = new Map<string, number>();
    const key = (row: Row, t: bigint) =>
      `${t}:${JSON.stringify(row, (_k, v) => (typeof v === "bigint" ? `${v}n` : v))}`;
    for (const b of batches) {
      for (const [row, t, d] of b.updates) got.set(key(row, t), (got.get(key(row, t)) ?? 0) + d);
    }
    const want = new Map<string, number>();
    let prev: Array<[Row, number]> = [];
    for (let t = 0n; t < TIMES; t++) {
      const cur = reference(t);
      for (const [row, n] of cur) want.set(key(row, t), (want.get(key(row, t)) ?? 0) + n);
      for (const [row, n] of prev) want.set(key(row, t), (want.get(key(row, t)) ?? 0) - n);
      prev = cur;
    }
    const nonZero = (m: Map<string, number>) =>
      new Map([...m].filter(([, v]) => v !== 0).sort(([a], [b]) => (a < b ? -1 : 1)));
    expect(nonZero(got)).toEqual(nonZero(want));
    expect(nonZero(want).size).toBeGreaterThan(3);

    // SIGSTOP r2: detected and reported within 10 s; a peek targeted at it times out.
    await until(() => controller.frontiers("u12").write === null, "the index to complete");
    await until(
      () => controller.replicas(INSTANCE).every((r) => r.state === "connected"),
      "both replicas connected",
    );
    process.kill(pids.get("u2") as number, "SIGSTOP");
    const timedOut = controller.peek(INSTANCE, {
      target: "u12",
      timestamp: 4n,
      targetReplica: "u2",
      timeoutMs: 300,
      ...ordered,
    });
    await expect(timedOut).rejects.toBeInstanceOf(PeekTimeout);
    // Points at the command a user has (`mzctl status`), not an internal call.
    await expect(timedOut).rejects.toThrow(/check with `mzctl status`/);
    await expect(timedOut).rejects.not.toThrow(/replicas\(instanceId\)/);
    const detectedMs = await until(
      () =>
        controller.replicas(INSTANCE).find((r) => r.replicaId === "u2")?.lastError !== undefined,
      "the stopped replica to be detected",
      10_000,
    );
    expect(detectedMs).toBeLessThan(10_000);
    const u2r = controller.replicas(INSTANCE).find((r) => r.replicaId === "u2");
    expect(u2r?.lastError).toMatch(/^replica task failed: /);
    expect(u2r?.epoch).toBe(2);
    expect(logs.some((l) => l.level === 40 && l.msg.startsWith("replica task failed: "))).toBe(
      true,
    );
    // r1 still answers untargeted peeks.
    expect(
      (await controller.peek(INSTANCE, { target: "u12", timestamp: 7n, ...ordered })).rows,
    ).toEqual(reference(7n));
    expect(await metric(registry, "mz_compute_peeks_total", { result: "canceled" })).toBe(1);
    expect(await metric(registry, "mz_compute_peeks_total", { result: "rows" })).toBe(1);
  }, 45_000);

  it("a replica-targeted subscribe reads its target's log index; the other replica never builds it", async () => {
    const logging: LoggingConfig = {
      enabled: true,
      intervalMs: 100,
      logLogging: false,
      indexLogs: new Map([
        ["hydration_times", "s1010"],
        ["dataflows", "s1011"],
      ]),
    };
    const { controller } = await setup(["u8", "u9"], logging);
    controller.createDataflow(INSTANCE, CONSTANT_INDEX);
    const asOf = BigInt(Math.floor(Date.now() / 100) * 100);
    const tap: DataflowDescription = {
      debugName: "hydration tap",
      sourceImports: [],
      indexImports: [{ id: "s1010", key: [0, 1], arity: 3 }],
      objectsToBuild: [{ id: "t40", plan: { kind: "get", id: "s1010", arity: 3 } }],
      indexExports: [],
      sinkExports: [{ id: "t40", fromId: "t40", connection: { kind: "subscribe" } }],
      asOf,
      until: null,
    };
    const counts = new Map<string, number>();
    const stream = controller.subscribe(INSTANCE, tap, { targetReplica: "u9" });
    const reading = (async () => {
      for await (const b of stream) {
        for (const [row, , d] of b.updates) {
          const k = `${row[0]}:${row[2] === null ? "null" : "hydrated"}`;
          counts.set(k, (counts.get(k) ?? 0) + d);
        }
      }
    })().catch(() => {});
    // u31 hydrated on u9 (a constant): its row with a time arrives through the import.
    await until(() => (counts.get("u31:hydrated") ?? 0) === 1, "u9's hydration row of u31", 60_000);
    // The tap itself is a dataflow of u9 only: u8's log of dataflows never lists it, though it
    // lists the dataflow created just before it (so u8 has applied the commands around it).
    const names = async (replica: string) => {
      const t = BigInt(Math.floor(Date.now() / 100) * 100);
      const a = await controller.peek(INSTANCE, {
        target: "s1011",
        timestamp: t,
        targetReplica: replica,
        timeoutMs: 30_000,
      });
      return a.rows.map(([row]) => row[2]);
    };
    const listed = async (replica: string, name: string) => {
      for (let i = 0; i < 300; i++) {
        if ((await names(replica)).includes(name)) return true;
        await new Promise((r) => setTimeout(r, 100));
      }
      return false;
    };
    expect(await listed("u9", "hydration tap")).toBe(true);
    expect(await listed("u8", "constant")).toBe(true);
    expect(await names("u8")).not.toContain("hydration tap");
    controller.dropCollection("t40");
    await reading;
  }, 90_000);

  it("10,000 create/drop cycles against a replica leave the history bounded by the live objects", async () => {
    const { controller, registry } = await setup(["u1"]);
    const constant = (id: string, n: bigint): DataflowDescription => ({
      debugName: `c${id}`,
      sourceImports: [],
      indexImports: [],
      objectsToBuild: [{ id, plan: { kind: "constant", rows: [[[n, n * 2n], 1]], arity: 2 } }],
      indexExports: [{ id: `${id}9`, objectId: id, key: [0] }],
      sinkExports: [],
      asOf: 0n,
      until: null,
    });
    controller.createDataflow(INSTANCE, constant("u50", 7n)); // stays live throughout
    let maxSize = 0;
    for (let i = 0; i < 10_000; i++) {
      const df = constant(`u${1000 + i}`, BigInt(i));
      controller.createDataflow(INSTANCE, df);
      controller.dropCollection(`u${1000 + i}9`);
      maxSize = Math.max(maxSize, controller.historySize(INSTANCE));
      // Let the replica's responses in now and then (as a real workload would).
      if (i % 500 === 499) await new Promise((r) => setImmediate(r));
    }
    // Reductions keep it bounded all along; the live dataflow is all that is left.
    expect(maxSize).toBeLessThan(200);
    expect(controller.historySize(INSTANCE)).toBeLessThan(30);
    // The live dataflow plus the few cycles pushed since the last reduction (not 10,000).
    expect(
      await metric(registry, "mz_compute_controller_history_dataflow_count", {
        instance_id: INSTANCE,
      }),
    ).toBeLessThan(5);
    // The replica kept up and still answers from the live index; dropped ones are forgotten.
    await until(() => controller.frontiers("u509").write !== 0n, "the live index");
    expect((await controller.peek(INSTANCE, { target: "u509", timestamp: 0n })).rows).toEqual([
      [[7n, 14n], 1],
    ]);
    await until(
      () => {
        try {
          controller.frontiers("u109999");
          return false;
        } catch {
          return true;
        }
      },
      "the last dropped index to be forgotten",
      60_000,
    );
    // Every dropped index is forgotten once the replica reported its empty frontier (a dropped
    // collection used to stay in the controller forever: 10,001 of them here).
    await until(() => controller.replicas(INSTANCE).length === 1, "the replica");
    expect(
      await metric(registry, "mz_compute_controller_collection_count", { instance_id: INSTANCE }),
    ).toBe(1);
  }, 120_000);
});
