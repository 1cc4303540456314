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
 * With `state` on, the replicas are two-port (`client` in force but not built here, so the
 * per-workload unified replica tasks serve them): the unified driver's one-port connector is not
 * wired yet.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BUILT_PHASES, type Phase, PhaseSet } from "@mzts/flags";
import type { EnvironmentPeekResponse } from "@mzts/protocol";
import { compareRows } from "@mzts/repr";
import { pino } from "pino";
import { Registry } from "prom-client";
import { afterEach, describe, expect, it } from "vitest";
import { createEnvironment, type Environment } from "../src/index.js";

const START = 1_700_000_000_000n;
const TICK_MS = 100;
const TICKS = 20n;
const FINAL = START + TICKS * BigInt(TICK_MS);
const DATAFLOWS = 3; // counter index, view, view index

const cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f().catch(() => undefined);
});

/** The phases with `state` on or off; two-port replicas either way (see the file comment). */
function phaseFunction(state: boolean) {
  const built: Phase[] = [...BUILT_PHASES.filter((p) => p !== "client"), "state"];
  return (id: string) =>
    PhaseSet.of(id, { servers: true, replicas: true, client: true, state }, built);
}

function open(dir: string, state: boolean): Promise<Environment> {
  return createEnvironment({
    dataDir: dir,
    phaseFlags: phaseFunction(state),
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

/** The scenario (file comment); returns what a user sees, comparable across the two runs. */
async function scenario(state: boolean) {
  const dir = mkdtempSync(join(tmpdir(), `mzts-state-${state ? "on" : "off"}-`));
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
  await env.createSource({
    name: "counter",
    cluster: "src",
    loadGenerator: {
      kind: "loadGenerator",
      generator: { kind: "counter" },
      seed: 1n,
      tickIntervalMs: TICK_MS,
      deterministic: { startTimeMs: START, maxTicks: TICKS },
    },
  });
  const { objects } = await env.listObjects({});
  const counterId = objects.find((o) => o.name === "counter_counter")?.id ?? "";
  await env.createIndex({ name: "counter_idx", cluster: "src", on: "counter_counter", key: [0] });
  await env.createMaterializedView({
    name: "total",
    cluster: "views",
    plan: {
      kind: "reduce",
      input: { kind: "get", id: counterId, arity: 1 },
      groupKey: [],
      aggregates: [{ func: "count" }],
    },
  });
  await env.createIndex({ name: "total_idx", cluster: "views", on: "total", key: [] });

  const at = FINAL - 1n;
  const before = {
    counter: sorted(await peekAt(env, "counter_idx", at)),
    total: sorted(await peekAt(env, "total_idx", at)),
  };
  const fresh = await env.peek({ object: "total_idx", timeoutMs: 20_000 });

  // Restart, leaving the replicas running: adopted and reconciled.
  const counts = await reconciliation(env);
  await env.close({ keepReplicas: true });
  env = await open(dir, state);
  const after = {
    counter: sorted(await peekAt(env, "counter_idx", at)),
    total: sorted(await peekAt(env, "total_idx", at)),
  };
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

  // Drops: views first (they read the source), then the source.
  for (const object of ["total_idx", "total", "counter_idx", "counter"])
    await env.dropObject({ name: object, cascade: false });
  const left = (await env.listObjects({})).objects.map((o) => o.name);
  await env.close();
  return { statePaths, before, fresh: fresh.rows.length, after, reconciled, left };
}

describe("state (phase 5) through environmentd", () => {
  it("gives the same answers with state off and on, across a restart that reuses every dataflow", async () => {
    const off = await scenario(false);
    const on = await scenario(true);
    expect(off.statePaths).toEqual(["legacy", "legacy"]);
    expect(on.statePaths).toEqual(["unified", "unified"]);
    // The counter's 20 ticks: every value once; the view counts them.
    expect(off.before.counter).toHaveLength(Number(TICKS));
    expect(off.before.total).toEqual([[[TICKS], 1]]);
    for (const run of [off, on]) {
      expect(run.after).toEqual(run.before);
      expect(run.fresh).toBe(1);
      expect(run.reconciled).toEqual({ reused: DATAFLOWS, replaced: 0 });
      expect(run.left).toEqual([]);
    }
    expect(on.before).toEqual(off.before);
  }, 240_000);
});
