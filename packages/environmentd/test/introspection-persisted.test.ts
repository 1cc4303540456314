/**
 * The persisted per-replica introspection end to end (phase 2, *logging*, issue 11): real
 * clusterd replicas (loopback, free ports), environmentd's replica-targeted subscribes writing
 * `mz_introspection.replica_<relation>` into persist, and environmentd answering peeks of them
 * itself, on compute's legacy logging and on the unified logging. Everything started is stopped
 * after the test, also on failure.
 *
 * 1. Two replicas of a cluster with logging on and an index: both replicas' hydration rows
 *    (replica id first, hydrated) and frontiers appear; map/filter/project and finishing apply;
 *    a subscribe beside the introspection subscribes gets its own transient id.
 * 2. `kill -9` of r2: its rows are retracted (its incarnation failed — a restarted process logs
 *    from scratch), then come back once it rehydrated (judged by the new incarnation's rows
 *    replacing the old ones, so a restart faster than a poll cannot hide the retraction).
 * 3. Dropping r2: its rows are retracted for good; dropping a second cluster retracts its
 *    replica's rows.
 * 4. environmentd restarts with replicas whose compute never connects (a fake connector): the
 *    relation is answered from persist — r1's rows survived, r2's stay gone — while no replica is
 *    up; `mzctl introspection replica_hydration_times` prints it.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ComputeReplicaConnector } from "@mzts/compute-client";
import { type Phase, PhaseSet } from "@mzts/flags";
import { createPersist } from "@mzts/persist";
import { type Row, rowKey } from "@mzts/repr";
import { pino } from "pino";
import { Registry } from "prom-client";
import { afterEach, describe, expect, it } from "vitest";
import { runCli } from "../src/cli/program.js";
import { bufferIo } from "../src/cli/render.js";
import { createEnvironment, type Environment, startApiServer } from "../src/index.js";

const HYDRATION = "mz_introspection.replica_hydration_times";
const FRONTIERS = "mz_introspection.replica_compute_frontiers";

let cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const f of cleanup.reverse()) await f().catch(() => undefined);
  cleanup = [];
});

/** Every row of a persisted relation (counts expanded), as environmentd answers it now. */
async function rows(env: Environment, object: string): Promise<Row[]> {
  const res = await env.peek({ object, cluster: "c1", timeoutMs: 10_000 });
  expect(res.replica).toBe("environmentd");
  return res.rows.flatMap(([row, n]) => Array.from({ length: n }, () => row));
}

/** Polls `rows` until `ok`; a timeout names what was awaited and what was last seen. */
async function until(
  env: Environment,
  object: string,
  what: string,
  ok: (rows: Row[]) => boolean,
  { timeoutMs = 60_000, everyMs = 100 } = {},
): Promise<Row[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const last = await rows(env, object);
    if (ok(last)) return last;
    if (Date.now() > deadline) {
      throw new Error(
        `timed out waiting for ${what} in ${object}: ${JSON.stringify(last, (_k, v) => (typeof v === "bigint" ? `${v}` : v))}`,
      );
    }
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** Whether `replica` has a hydrated row of `exportId` in `hydration` rows. */
/** A row as text, for assertion messages. */
const show = (row: Row) => JSON.stringify(row, (_k, v) => (typeof v === "bigint" ? `${v}` : v));
const hydrated = (rs: Row[], replica: string, exportId: string) =>
  rs.some((r) => r[0] === replica && r[1] === exportId && r[3] !== null);
const of = (rs: Row[], replica: string) => rs.filter((r) => r[0] === replica);

/** A compute connector whose replicas never connect (compute is "down" for this environmentd). */
const neverConnects: ComputeReplicaConnector = (opts) => ({
  epoch: opts.epoch,
  state: "connecting",
  send: () => {},
  close: async () => {},
});

function boot(
  dir: string,
  flags: { readonly [P in Phase]?: boolean },
  extra: Partial<Parameters<typeof createEnvironment>[0]> = {},
) {
  return createEnvironment({
    dataDir: dir,
    phaseFlags: (id) => PhaseSet.of(id, flags),
    logger: pino({ level: "warn" }),
    registry: new Registry(),
    controllerAbsentTimeoutMs: 30_000,
    shardGcIntervalMs: 0,
    ...extra,
  });
}

const PATHS: Array<[string, { readonly [P in Phase]?: boolean }]> = [
  ["legacy logging", {}],
  ["unified logging", { servers: true, logging: true }],
];

describe.each(PATHS)("persisted replica introspection (%s)", (_name, flags) => {
  it("keeps every replica's hydration and frontiers in persist, retracted when it fails or is dropped", async () => {
    const dir = mkdtempSync(join(tmpdir(), "intro-persisted-"));
    cleanup.push(async () => rmSync(dir, { recursive: true, force: true }));
    const registry = new Registry();
    let env = await boot(dir, flags, { registry });
    let closeEnv = () => env.close();
    cleanup.push(() => closeEnv());
    await env.createCluster({ name: "c1", introspectionIntervalMs: 200 });
    const r1 = (await env.createReplica({ cluster: "c1", name: "r1", size: 1 })).id;
    const r2 = (await env.createReplica({ cluster: "c1", name: "r2", size: 1 })).id;
    await env.createSource({
      name: "cnt",
      cluster: "c1",
      loadGenerator: {
        kind: "loadGenerator",
        generator: { kind: "counter" },
        seed: 1n,
        tickIntervalMs: 100,
      },
    });
    const index = (
      await env.createIndex({ name: "cnt_idx", cluster: "c1", on: "cnt_counter", key: [0] })
    ).id;

    // 1. Both replicas hydrated, each row with its replica id first; both have a frontier.
    await until(
      env,
      HYDRATION,
      "both replicas hydrated",
      (rs) => hydrated(rs, r1, index) && hydrated(rs, r2, index),
    );
    await until(env, FRONTIERS, "both replicas' index frontier", (rs) =>
      [r1, r2].every((r) =>
        rs.some((x) => x[0] === r && x[1] === index && typeof x[3] === "bigint"),
      ),
    );
    // The replica's finishing code: filter to the index, project the replica, order desc, limit 1.
    const top = await env.peek({
      object: HYDRATION,
      cluster: "c1",
      mapFilterProject: {
        exprs: [],
        predicates: [
          {
            kind: "binary",
            op: "eq",
            left: { kind: "column", index: 1 },
            right: { kind: "literal", value: index },
          },
        ],
        projection: [0],
      },
      finishing: {
        orderBy: [{ column: 0, desc: true, nullsLast: false }],
        offset: 0,
        limit: 1,
        project: [0],
      },
    });
    expect(top.rows).toEqual([[[[r1, r2].sort().at(-1)], 1]]);
    // Metrics: both replicas followed; appends written.
    const metric = async (name: string, labels: Record<string, string> = {}) =>
      ((await registry.getSingleMetric(name)?.get())?.values ?? [])
        .filter((v) => Object.entries(labels).every(([k, x]) => v.labels[k] === x))
        .reduce((n, v) => n + v.value, 0);
    expect(await metric("mz_persisted_introspection_followed_replicas")).toBe(2);
    expect(
      await metric("mz_persisted_introspection_writes_total", { kind: "append" }),
    ).toBeGreaterThan(0);
    // A subscribe while the introspection subscribes run: its transient id is not one of theirs
    // (one counter; two would both hand out t1 → CollectionExists).
    for await (const batch of env.subscribe({ object: "cnt_counter" })) {
      expect(batch.upper).not.toBeNull();
      break;
    }
    // A named replica: only its rows, and the answer names it.
    const onlyR1 = await env.peek({ object: HYDRATION, cluster: "c1", replica: "r1" });
    expect(onlyR1.replica).toBe("r1");
    expect(onlyR1.rows.every(([row]) => row[0] === r1)).toBe(true);

    // 2. kill -9 r2: its incarnation fails, its rows go; they come back once it rehydrated.
    // Judged by what replaced what, not by polling the current rows for a moment without r2's:
    // on a loaded machine r2 can be back (restarted, rehydrated, its new rows written) before a
    // poll of the current rows sees that moment, and the poll then waits for a state that is gone.
    const beforeKill = await rows(env, HYDRATION);
    const oldR2 = new Set(of(beforeKill, r2).map(rowKey));
    const r1Rows = of(beforeKill, r1).filter((r) => r[1] === index);
    expect(oldR2.size).toBeGreaterThan(0);
    expect(hydrated(r1Rows, r1, index)).toBe(true);
    const pid = env.replicaPids().get(r2);
    expect(pid).toBeTypeOf("number");
    process.kill(pid as number, "SIGKILL");
    // Hydrated again: a row of its new incarnation (a restarted process logs from scratch, so
    // its rows differ from the killed one's, e.g. in the hydration time).
    const back = await until(env, HYDRATION, "r2 hydrated again (a new incarnation's row)", (rs) =>
      rs.some((r) => !oldR2.has(rowKey(r)) && hydrated([r], r2, index)),
    );
    // Every row of the killed incarnation was retracted; r1's are untouched.
    expect(
      of(back, r2)
        .filter((r) => oldR2.has(rowKey(r)))
        .map(show),
    ).toEqual([]);
    expect(of(back, r1).filter((r) => r[1] === index)).toEqual(r1Rows);

    // 3. Dropping r2 retracts its rows for good.
    await env.dropReplica({ cluster: "c1", name: "r2" });
    await until(env, HYDRATION, "r2's rows retracted", (rs) => of(rs, r2).length === 0);
    await until(env, FRONTIERS, "r2's frontiers retracted", (rs) => of(rs, r2).length === 0);
    await new Promise((r) => setTimeout(r, 1000)); // several upkeep ticks and log intervals
    expect(of(await rows(env, HYDRATION), r2)).toEqual([]);
    expect(await metric("mz_persisted_introspection_followed_replicas")).toBe(1);
    expect(
      await metric("mz_persisted_introspection_writes_total", { kind: "retract" }),
    ).toBeGreaterThan(0);
    const before = of(await rows(env, HYDRATION), r1);
    expect(hydrated(before, r1, index)).toBe(true);

    // 3b. Dropping a cluster retracts its replicas' rows (read from the shard itself: the
    // cluster is gone, so no peek names it).
    await env.createCluster({ name: "c2", introspectionIntervalMs: 200 });
    const r3 = (await env.createReplica({ cluster: "c2", name: "r3", size: 1 })).id;
    const other = (
      await env.createIndex({ name: "cnt_idx2", cluster: "c2", on: "cnt_counter", key: [0] })
    ).id;
    const c2Rows = async () => {
      const res = await env.peek({ object: HYDRATION, cluster: "c2" });
      return res.rows.map(([row]) => row);
    };
    for (let i = 0; !hydrated(await c2Rows(), r3, other); i++) {
      if (i > 600) throw new Error("r3 never hydrated cnt_idx2");
      await new Promise((r) => setTimeout(r, 100));
    }
    await env.dropCluster({ name: "c2", cascade: true });
    const reader = await createPersist({ dataDir: join(dir, "persist") });
    try {
      const shard = await reader.openShard(HYDRATION);
      const deadline = Date.now() + 30_000;
      for (;;) {
        const upper = (await shard.upper()) as bigint;
        const live = new Map<string, number>();
        for (const [row, , d] of await shard.snapshot(upper - 1n)) {
          if (row[0] === r3) live.set(rowKey(row), (live.get(rowKey(row)) ?? 0) + d);
        }
        if ([...live.values()].every((n) => n === 0)) break;
        if (Date.now() > deadline)
          throw new Error("r3's rows were not retracted after its cluster was dropped");
        await new Promise((r) => setTimeout(r, 100));
      }
    } finally {
      await reader.close();
    }

    // 4. Restart; no replica's compute connects: the rows are answered from persist.
    await env.close();
    env = await boot(dir, flags, { computeConnector: neverConnects });
    closeEnv = () => env.close();
    const after = await rows(env, HYDRATION);
    expect(of(after, r1).map((r) => r.slice(0, 3))).toEqual(before.map((r) => r.slice(0, 3)));
    expect(hydrated(after, r1, index)).toBe(true);
    expect(of(after, r2)).toEqual([]);

    const api = await startApiServer({ environment: env, registry: new Registry() });
    cleanup.push(() => api.close());
    const io = bufferIo();
    const code = await runCli(
      [
        "node",
        "mzctl",
        "--url",
        api.grpcUrl,
        "introspection",
        "replica_hydration_times",
        "--cluster",
        "c1",
      ],
      io,
    );
    // Only progress on stderr: a loaded machine may take the read past the 250 ms after which
    // mzctl prints its one "waiting… …" line (not a TTY), which is not an error.
    expect(io.err.replace(/^waiting… .*\n/gm, "")).toBe("");
    expect(code).toBe(0);
    expect(io.out).toMatch(/REPLICA_ID\s+EXPORT_ID\s+WORKER_ID\s+TIME_NS/i);
    expect(io.out).toContain(r1);
    expect(io.out).toContain(index);
    expect(io.out).toContain("from environmentd (persisted)");
  }, 240_000);
});
