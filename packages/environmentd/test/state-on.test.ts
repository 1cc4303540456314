/**
 * Phase 5 (`state`) through environmentd with real clusterd replicas: every cluster driven by one
 * `ClusterController` — the legacy adapter with `state` off, the unified driver with it on — and
 * the same steps give the same answers both ways:
 * - two clusters (`src` with a deterministic counter source and an index on it; `views` with a
 *   materialized view over the counter — a cross-cluster import, held on `src`'s controller — and
 *   an index on the view), one replica each;
 * - peeks at a fixed time and the freshest complete time;
 * - an environmentd restart leaving the replicas running (`keepReplicas`): the new one adopts
 *   them and every dataflow is reused by reconciliation, none replaced (clusterd's
 *   `mz_compute_reconciliation_{reused,replaced}_dataflows_count_total`), and answers the same;
 * - drops (view index, view, index, source), after which the objects are gone.
 *
 * The same with the two clusters on different paths (a cross-cluster hold from a unified cluster
 * held by a legacy dataflow, and the other way round).
 *
 * A live flip of `state` is recorded and applied at the next environmentd restart (status says
 * so meanwhile; the cluster keeps running on its old controller).
 *
 * The replicas are one-port (`client` takes effect) when the unified driver has its one-port
 * connector (`ClusterStreams.cluster`), else two-port (`client` in force but not built here, so
 * the per-workload unified replica tasks serve them).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createClusterStreams } from "@mzts/controller-unified/client";
import { BUILT_PHASES, type Phase, PhaseSet } from "@mzts/flags";
import type { EnvironmentPeekResponse } from "@mzts/protocol";
import { compareRows } from "@mzts/repr";
import { pino } from "pino";
import { Registry } from "prom-client";
import { afterEach, describe, expect, it } from "vitest";
import { createEnvironment, type Environment } from "../src/index.js";

const TICK_MS = 100;
/**
 * The counter ticks in real time from a start a second ahead (deterministic: every run counts the
 * same values at the same offsets from its start), long enough to still be counting at the
 * restart: reconciliation runs against a moving upper, as in production.
 */
const TICKS = 600n;
/** The offset from the start the answers are compared at (20 ticks in). */
const AT_OFFSET = 20n * BigInt(TICK_MS) - 1n;
const DATAFLOWS = 3; // live_idx, live_total, live_total_idx

const cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f().catch(() => undefined);
});

/**
 * Whether the unified driver has its one-port connector (`ClusterStreams.cluster`): then the
 * replicas run one-port (`client` built, as `BUILT_PHASES` has it), else two-port.
 */
const ONE_PORT = "cluster" in createClusterStreams();

/** The phases with `state` on or off; the same replica layout either way. */
function phaseFunction(state: boolean) {
  const client: Phase[] = ONE_PORT ? [] : ["client"];
  const built: Phase[] = [...BUILT_PHASES.filter((p) => !client.includes(p)), "state"];
  return (id: string) =>
    PhaseSet.of(id, { servers: true, replicas: true, client: true, state }, built);
}

/** `state` per cluster id (a function of nothing: every cluster alike). */
type StateOf = (clusterId: string) => boolean;

function open(dir: string, state: boolean | StateOf): Promise<Environment> {
  const on: StateOf = typeof state === "function" ? state : () => state;
  return createEnvironment({
    dataDir: dir,
    phaseFlags: (id) => phaseFunction(on(id))(id),
    logger: pino({ level: "warn" }),
    registry: new Registry(),
    readHoldTickMs: 100,
    shardGcIntervalMs: 0,
    controllerAbsentTimeoutMs: 60_000,
  });
}

async function until<T>(what: string, f: () => Promise<T | undefined>, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await f().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const sorted = (r: EnvironmentPeekResponse) =>
  [...r.rows].sort((a, b) => compareRows(a[0], b[0])).map(([row, n]) => [row, n]);

/** Each replica's reconciliation counters (reused, replaced), from its `/metrics`. */
async function reconciliation(env: Environment): Promise<Map<string, [number, number]>> {
  const out = new Map<string, [number, number]>();
  for (const r of env.orchestrator.list()) {
    if (r.location === null) continue;
    const text = await (await fetch(`${r.location.httpUrl}/metrics`)).text();
    const sum = (name: string) =>
      text
        .split("\n")
        .filter((l) => l.startsWith(name))
        .reduce((n, l) => n + Number(l.split(" ").at(-1)), 0);
    out.set(r.replicaId, [
      sum("mz_compute_reconciliation_reused_dataflows_count_total"),
      sum("mz_compute_reconciliation_replaced_dataflows_count_total"),
    ]);
  }
  return out;
}

/** Waits until the index answers at `timestamp` (the replicas hydrated), then returns it. */
function peekAt(env: Environment, object: string, timestamp: bigint) {
  return until(`${object} at ${timestamp}`, () => env.peek({ object, timestamp, timeoutMs: 5000 }));
}

/** A counter source `name` on `src`, an index on it, a view on `views` counting it, its index. */
async function counterObjects(env: Environment, name: string, deterministicFrom?: bigint) {
  await env.createSource({
    name,
    cluster: "src",
    loadGenerator: {
      kind: "loadGenerator",
      generator: { kind: "counter" },
      seed: 1n,
      tickIntervalMs: TICK_MS,
      ...(deterministicFrom === undefined
        ? {}
        : { deterministic: { startTimeMs: deterministicFrom, maxTicks: TICKS } }),
    },
  });
  const { objects } = await env.listObjects({});
  const id = objects.find((o) => o.name === `${name}_counter`)?.id ?? "";
  await env.createIndex({ name: `${name}_idx`, cluster: "src", on: `${name}_counter`, key: [0] });
  // On the other cluster: a cross-cluster import, held on `src`'s controller.
  await env.createMaterializedView({
    name: `${name}_total`,
    cluster: "views",
    plan: {
      kind: "reduce",
      input: { kind: "get", id, arity: 1 },
      groupKey: [],
      aggregates: [{ func: "count" }],
    },
  });
  await env.createIndex({
    name: `${name}_total_idx`,
    cluster: "views",
    on: `${name}_total`,
    key: [],
  });
}

/** Views first (they read the source), then the source. */
async function dropCounterObjects(env: Environment, name: string) {
  for (const object of [`${name}_total_idx`, `${name}_total`, `${name}_idx`, name])
    await env.dropObject({ name: object, cascade: false });
}

/** Both indexes of `name`'s objects at `at`. */
async function answersAt(env: Environment, name: string, at: bigint) {
  return {
    counter: sorted(await peekAt(env, `${name}_idx`, at)),
    total: sorted(await peekAt(env, `${name}_total_idx`, at)),
  };
}

/**
 * The scenario (file comment); returns what a user sees, comparable across the two runs. The
 * answers compared off/on come from a deterministic counter (same values at the same offsets from
 * its start); it closes at once, so the restart runs over a live counter (an index over a closed
 * input is rebuilt at its input's since after a restart, on either path: see the report).
 */
async function scenario(src: boolean, views = src) {
  const dir = mkdtempSync(join(tmpdir(), `mzts-state-${src}-${views}-`));
  // The clusters are built src first, then views (createCluster, then boot in id order).
  const names = new Map<string, "src" | "views">();
  const state: StateOf = (id) => {
    if (!names.has(id)) names.set(id, names.size === 0 ? "src" : "views");
    return names.get(id) === "src" ? src : views;
  };
  cleanup.push(async () => rmSync(dir, { recursive: true, force: true }));
  let env = await open(dir, state);
  cleanup.push(() => env.close());
  for (const cluster of ["src", "views"]) {
    await env.createCluster({ name: cluster, introspectionIntervalMs: 0 });
    await env.createReplica({ cluster, name: `${cluster}_r1`, size: 1 });
  }
  const status = await env.status({});
  const statePaths = status.clusters.map(
    (c) => c.controllers?.find((p) => p.seam === "state")?.path,
  );
  // Whether the shared legacy compute controller runs the clusters (it must not with state on).
  const legacyInstances = status.clusters.map((c) => {
    try {
      env.compute.replicas(c.id);
      return true;
    } catch {
      return false;
    }
  });

  const start = (BigInt(Date.now()) / 100n) * 100n;
  await counterObjects(env, "det", start);
  const answers = await answersAt(env, "det", start + AT_OFFSET);
  const fresh = await env.peek({ object: "det_total_idx", timeoutMs: 20_000 });
  await dropCounterObjects(env, "det");

  // Restart over live objects, leaving the replicas running: adopted and reconciled.
  await counterObjects(env, "live");
  const at = (await env.peek({ object: "live_idx", timeoutMs: 20_000 })).timestamp;
  const before = await answersAt(env, "live", at);
  const counts = await reconciliation(env);
  await env.close({ keepReplicas: true });
  env = await open(dir, state);
  // The rebuilt index is readable from its new as-of on (after `at`): read the freshest time.
  const later = (
    await until("live_idx after the restart", () =>
      env.peek({ object: "live_idx", timeoutMs: 5000 }),
    )
  ).timestamp;
  const after = await answersAt(env, "live", later);
  const reconciled = await until("both replicas reconciled", async () => {
    const now = await reconciliation(env);
    let reused = 0;
    let replaced = 0;
    for (const [id, [u, p]] of now) {
      const [u0, p0] = counts.get(id) ?? [0, 0];
      reused += u - u0;
      replaced += p - p0;
    }
    return reused + replaced >= DATAFLOWS ? { reused, replaced } : undefined;
  });
  await dropCounterObjects(env, "live");
  const left = (await env.listObjects({})).objects
    .map((o) => o.name)
    .filter((n) => !n.startsWith("mz_introspection."));
  await env.close();
  return {
    statePaths,
    legacyInstances,
    answers,
    fresh: fresh.rows.length,
    before,
    after,
    reconciled,
    left,
  };
}

describe("state (phase 5) through environmentd", () => {
  it("gives the same answers with state off and on, across a restart that reuses every dataflow", async () => {
    const off = await scenario(false);
    const on = await scenario(true);
    expect(off.statePaths).toEqual(["legacy", "legacy"]);
    expect(off.legacyInstances).toEqual([true, true]);
    expect(on.statePaths).toEqual(["unified", "unified"]);
    expect(on.legacyInstances).toEqual([false, false]);
    // The counter's first 20 ticks, every value once; the view counts them.
    expect(off.answers.counter).toHaveLength(20);
    expect(off.answers.total).toEqual([[[20n], 1]]);
    for (const [name, run] of [
      ["off", off],
      ["on", on],
    ] as const) {
      // The counter kept counting: what it had counted before is a prefix of what it has now,
      // and the view (on the other cluster) counts every value, before and after.
      expect(run.after.counter.slice(0, run.before.counter.length), name).toEqual(
        run.before.counter,
      );
      expect(run.before.total, name).toEqual([[[BigInt(run.before.counter.length)], 1]]);
      expect(run.after.total, name).toEqual([[[BigInt(run.after.counter.length)], 1]]);
      expect(run.fresh, name).toBe(1);
      expect(run.reconciled, `state ${name}: reconciliation after the restart`).toEqual({
        reused: DATAFLOWS,
        replaced: 0,
      });
      expect(run.left, name).toEqual([]);
    }
    expect(on.answers).toEqual(off.answers);
  }, 240_000);

  it("gives the same answers with the source's cluster on one path and the view's on the other", async () => {
    // Cross-cluster holds across paths: a legacy view holding a unified cluster's subsource
    // (a `./state` hold) and a unified view holding a legacy one's (a `PersistReadHolds` hold).
    const off = await scenario(false);
    for (const [src, views] of [
      [true, false],
      [false, true],
    ] as const) {
      const mixed = await scenario(src, views);
      const paths = [src, views].map((on) => (on ? "unified" : "legacy"));
      expect(mixed.statePaths, `src ${src}, views ${views}`).toEqual(paths);
      expect(mixed.answers).toEqual(off.answers);
      expect(mixed.reconciled).toEqual({ reused: DATAFLOWS, replaced: 0 });
      expect(mixed.left).toEqual([]);
    }
  }, 300_000);

  it("applies a live flip of state at the next restart, and status says so meanwhile", async () => {
    const dir = mkdtempSync(join(tmpdir(), "mzts-state-flip-"));
    cleanup.push(async () => rmSync(dir, { recursive: true, force: true }));
    let stateOn = false;
    let env = await open(dir, () => stateOn);
    cleanup.push(() => env.close());
    const { id } = await env.createCluster({ name: "c", introspectionIntervalMs: 0 });
    await env.createReplica({ cluster: "c", name: "r1", size: 1 });
    const stateOf = async () => {
      const c = (await env.status({ cluster: "c" })).clusters[0];
      const flag = c?.flags.find((f) => f.key === "cluster-unification-state");
      const seam = c?.controllers?.find((p) => p.seam === "state");
      return {
        path: seam?.path,
        note: seam?.note,
        applied: flag?.applied,
        flipping: flag?.flipping,
      };
    };
    expect(await stateOf()).toMatchObject({ path: "legacy", applied: false, flipping: false });

    stateOn = true;
    await env.flipNow(id);
    const pending = await stateOf();
    expect(pending).toMatchObject({ path: "legacy", applied: false, flipping: true });
    expect(pending.note).toContain("applied at the next restart");

    await env.close({ keepReplicas: true });
    env = await open(dir, () => stateOn);
    expect(await stateOf()).toMatchObject({ path: "unified", applied: true, flipping: false });
    const online = async () =>
      (await env.status({ cluster: "c" })).clusters[0]?.replicas[0]?.health === "online"
        ? true
        : undefined;
    await until("the replica online on the unified controller", online);
  }, 120_000);
});
