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
 * A live flip of `state` rebuilds the cluster's controller at once: `state-flip.test.ts`.
 *
 * The replicas are one-port (`client` takes effect) when the unified driver has its one-port
 * connector (`ClusterStreams.cluster`), else two-port (`client` in force but not built here, so
 * the per-workload unified replica tasks serve them).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import type { Environment } from "../src/index.js";
import { open, reconciliation, type StateOf, sorted, until } from "./state-support.js";

const TICK_MS = 100;
/**
 * The deterministic counter's length: it emits every tick at once and closes (every run counts the
 * same values); the answers compared off/on are its complete contents. The restart runs over a
 * live (real-time) counter instead, so reconciliation meets a moving upper, as in production.
 */
const TICKS = 600n;
const DATAFLOWS = 3; // live_idx, live_total, live_total_idx

const cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f().catch(() => undefined);
});

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
  // Read the deterministic counter once complete (every tick counted; it runs to its end at
  // once): a fixed time inside it raced its compaction (the since follows the upper at once),
  // which a loaded CI machine lost.
  const answers = await until("det complete", async () => {
    const a = {
      counter: sorted(await env.peek({ object: "det_idx", timeoutMs: 5000 })),
      total: sorted(await env.peek({ object: "det_total_idx", timeoutMs: 5000 })),
    };
    // Both complete: the two indexes are peeked separately (each at its own freshest time,
    // possibly on another cluster), so a complete counter says nothing of the total's read.
    const [row] = a.total;
    const total = row === undefined ? undefined : (row[0] as readonly unknown[])[0];
    return a.counter.length === Number(TICKS) && a.total.length === 1 && total === TICKS
      ? a
      : undefined;
  });
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
    // The counter complete (every tick, every value once); the view counts them.
    expect(off.answers.counter).toHaveLength(Number(TICKS));
    expect(off.answers.total).toEqual([[[TICKS], 1]]);
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
});
