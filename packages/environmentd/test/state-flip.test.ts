/**
 * A live flip of `state` (issue 15 "Live flips") through environmentd with real clusterd replicas:
 * the cluster's controller is rebuilt on the other path while its replicas keep running.
 *
 * Cluster `src` (two replicas) runs a counter source and an index on it; cluster `views` (one
 * replica) a materialized view over the counter — a cross-cluster import held on `src`'s
 * controller — and an index on the view. Under steady peeks of both indexes, `state` flips on
 * for `src` (legacy → unified: views' hold on the counter moves), then for `views` (its own holds
 * on the counter are taken anew from src's unified controller), then off for `src` and `views`:
 * - no peek fails; what was counted before is still counted between and after (a prefix of the
 *   counter), and the view on the other cluster counts all of it at the same time;
 * - status shows the flip as `rebuilding` with its steps, then the new path, nothing flipping;
 *   `mz_environment_flips_{started,completed}_total{kind="rebuild"}` count both flips;
 * - every replica of the flipped cluster reconciles: every dataflow reused, none replaced
 *   (clusterd's counters);
 * - the since and write frontier of every collection never move back (sampled every 50 ms);
 * - the view on the other cluster keeps counting (its hold on the counter moved without a gap);
 * - a subscribe on the flipped cluster ends with the retryable `ControllerRebuilt`.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createPersist } from "@mzts/persist";
import { Registry } from "prom-client";
import { afterEach, describe, expect, it } from "vitest";
import type { Environment } from "../src/index.js";
import { open, reconciliation, sorted, until } from "./state-support.js";

const cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f().catch(() => undefined);
});

/** Peeks both indexes back to back until stopped; counts answers and failures. */
function steadyPeeks(env: Environment) {
  const failures: string[] = [];
  let answers = 0;
  let stop = false;
  const loop = (async () => {
    while (!stop) {
      for (const object of ["c_idx", "c_total_idx"]) {
        try {
          await env.peek({ object, timeoutMs: 10_000 });
          answers++;
        } catch (e) {
          failures.push(`${object}: ${(e as Error).message}`);
        }
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  })();
  return {
    failures,
    answers: () => answers,
    stop: async () => {
      stop = true;
      await loop;
    },
  };
}

/** Samples every collection's since and write frontier; records any that moved back. */
function frontierWatch(env: Environment) {
  const last = new Map<string, { since: bigint | null; write: bigint | null }>();
  const regressions: string[] = [];
  const before = (a: bigint | null, b: bigint | null) => a === null || (b !== null && b < a);
  const timer = setInterval(() => {
    void env.status({}).then(
      (s) => {
        for (const c of s.clusters) {
          for (const col of c.collections) {
            const prev = last.get(col.id);
            if (prev !== undefined) {
              if (before(prev.since, col.since))
                regressions.push(`${col.name} since ${prev.since} → ${col.since}`);
              if (before(prev.write, col.writeFrontier))
                regressions.push(`${col.name} write ${prev.write} → ${col.writeFrontier}`);
            }
            last.set(col.id, { since: col.since, write: col.writeFrontier });
          }
        }
      },
      () => undefined,
    );
  }, 50);
  return { regressions, stop: () => clearInterval(timer) };
}

/**
 * Samples the durable since of the shards (with a persist client of its own): records any that
 * moved back, and whether environmentd's since handle is still registered at the end.
 */
async function durableSinceWatch(dir: string, shards: readonly string[]) {
  const persist = await createPersist({ dataDir: join(dir, "persist") });
  const opened = await Promise.all(shards.map((id) => persist.openShard(id)));
  const last = new Map<number, bigint | null>();
  const regressions: string[] = [];
  let sampling: Promise<void> = Promise.resolve();
  const timer = setInterval(() => {
    sampling = (async () => {
      for (const [i, shard] of opened.entries()) {
        const since = await shard.since();
        const prev = last.get(i);
        if (prev !== undefined && (prev === null || (since !== null && since < prev)))
          regressions.push(`${shards[i]}: ${prev} → ${since}`);
        last.set(i, since);
      }
    })().catch(() => undefined);
  }, 100);
  return {
    regressions,
    /** Stops sampling; returns each shard's readers. */
    stop: async () => {
      clearInterval(timer);
      await sampling;
      const readers = await Promise.all(
        opened.map(async (s) => Object.keys((await s.info()).readers)),
      );
      await persist.close();
      return readers;
    },
  };
}

async function metric(registry: Registry, name: string): Promise<number> {
  const text = await registry.metrics();
  const line = text.split("\n").find((l) => l.startsWith(`${name}{kind="rebuild"}`));
  return line === undefined ? 0 : Number(line.split(" ").at(-1));
}

describe("a live flip of state", () => {
  it("rebuilds the controllers of running clusters on and off: no failed peek, every dataflow reused", async () => {
    const dir = mkdtempSync(join(tmpdir(), "mzts-state-live-flip-"));
    cleanup.push(async () => rmSync(dir, { recursive: true, force: true }));
    /** `state` per cluster name; cluster ids by name. */
    const stateOn = new Map<string, boolean>();
    const idOf = new Map<string, string>();
    const registry = new Registry();
    const nameOf = (id: string) => [...idOf].find(([, v]) => v === id)?.[0] ?? "";
    const env = await open(dir, (id) => stateOn.get(nameOf(id)) === true, {
      registry,
    });
    cleanup.push(() => env.close());
    for (const name of ["src", "views"])
      idOf.set(name, (await env.createCluster({ name, introspectionIntervalMs: 0 })).id);
    for (const name of ["r1", "r2"]) await env.createReplica({ cluster: "src", name, size: 1 });
    await env.createReplica({ cluster: "views", name: "v1", size: 1 });
    await env.createSource({
      name: "c",
      cluster: "src",
      loadGenerator: {
        kind: "loadGenerator",
        generator: { kind: "counter" },
        seed: 1n,
        tickIntervalMs: 100,
      },
    });
    const counterId =
      (await env.listObjects({})).objects.find((o) => o.name === "c_counter")?.id ?? "";
    await env.createIndex({ name: "c_idx", cluster: "src", on: "c_counter", key: [0] });
    await env.createMaterializedView({
      name: "c_total",
      cluster: "views",
      plan: {
        kind: "reduce",
        input: { kind: "get", id: counterId, arity: 1 },
        groupKey: [],
        aggregates: [{ func: "count" }],
      },
    });
    await env.createIndex({ name: "c_total_idx", cluster: "views", on: "c_total", key: [] });
    /** Both indexes at the counter index's freshest time. */
    const freshAnswers = async () => {
      const counter = await env.peek({ object: "c_idx", timeoutMs: 10_000 });
      const total = await env.peek({
        object: "c_total_idx",
        timestamp: counter.timestamp,
        timeoutMs: 10_000,
      });
      return { counter: sorted(counter), total: sorted(total) };
    };
    const first = await until("both indexes", freshAnswers);
    expect(first.total).toEqual([[[BigInt(first.counter.length)], 1]]);

    const replicasOf = async (cluster: string) =>
      (await env.status({ cluster })).clusters[0]?.replicas.map((r) => r.id) ?? [];
    expect(await replicasOf("src")).toHaveLength(2);
    const statePath = async (cluster: string) =>
      (await env.status({ cluster })).clusters[0]?.controllers?.find((p) => p.seam === "state")
        ?.path;
    const flipStates = new Set<string>();
    const snap = await env.catalog.snapshot();
    const shardIds = snap.items.flatMap((i) =>
      i.kind === "source"
        ? i.exports.map((e) => e.shardId)
        : i.kind === "materialized-view"
          ? [i.shardId]
          : [],
    );
    expect(shardIds).toHaveLength(2); // the counter's, the view's
    const durable = await durableSinceWatch(dir, shardIds);
    let readers: string[][] = [];
    const peeks = steadyPeeks(env);
    // A subscribe on the flipped cluster ends with the retryable ControllerRebuilt.
    let subscribeBatches = 0;
    const subscribeEnd = (async () => {
      try {
        for await (const _ of env.subscribe({ object: "c_counter" })) subscribeBatches++;
        return "ended";
      } catch (e) {
        return (e as Error).name;
      }
    })();
    const frontiers = frontierWatch(env);
    const watchFlip = setInterval(() => {
      void env.status({}).then(
        (s) => {
          for (const c of s.clusters)
            if (c.flip !== undefined) flipStates.add(`${c.flip.state}: ${c.flip.step}`);
        },
        () => undefined,
      );
    }, 20);
    try {
      await new Promise((r) => setTimeout(r, 1000)); // steady state first
      const results: Array<{ flip: string; path?: string; reused: number; replaced: number }> = [];
      // src on (its collections' holds from views move legacy → unified), views on (its holds on
      // src's collections are taken anew, unified → unified), then both off again.
      for (const [cluster, on] of [
        ["src", true],
        ["views", true],
        ["src", false],
        ["views", false],
      ] as const) {
        const ids = await replicasOf(cluster);
        const counts = await reconciliation(env);
        stateOn.set(cluster, on);
        await env.flipNow(idOf.get(cluster) ?? "");
        const path = await statePath(cluster);
        const reconciled = await until(`the ${cluster} replicas reconciled`, async () => {
          const now = await reconciliation(env);
          let reused = 0;
          let replaced = 0;
          for (const id of ids) {
            const [u, p] = now.get(id) ?? [0, 0];
            const [u0, p0] = counts.get(id) ?? [0, 0];
            reused += u - u0;
            replaced += p - p0;
          }
          const dataflows = cluster === "src" ? 1 : 2; // c_idx; c_total and c_total_idx
          return reused + replaced >= ids.length * dataflows ? { reused, replaced } : undefined;
        });
        results.push({
          flip: `${cluster} ${on}`,
          ...(path === undefined ? {} : { path }),
          ...reconciled,
        });
        const c = (await env.status({ cluster })).clusters[0];
        expect(c?.flip, `flip ${cluster} ${on}`).toBeUndefined();
        expect(c?.flags.find((f) => f.key === "cluster-unification-state")).toMatchObject({
          applied: on,
          flipping: false,
        });
        // A re-installed index is readable from its new as-of on (as after a restart): compare at
        // the freshest time — what was counted is still there, and the view counts all of it.
        // (Retried: right after a rebuild of views, its index is readable from its new as-of on.)
        const now = await until("both indexes after the flip", freshAnswers);
        const what = `${cluster} state ${on}`;
        expect(now.counter.slice(0, first.counter.length), what).toEqual(first.counter);
        expect(now.total, what).toEqual([[[BigInt(now.counter.length)], 1]]);
        await new Promise((r) => setTimeout(r, 1000)); // steady state between and after
      }
      expect(results).toEqual([
        { flip: "src true", path: "unified", reused: 2, replaced: 0 },
        { flip: "views true", path: "unified", reused: 2, replaced: 0 },
        { flip: "src false", path: "legacy", reused: 2, replaced: 0 },
        { flip: "views false", path: "legacy", reused: 2, replaced: 0 },
      ]);
    } finally {
      clearInterval(watchFlip);
      frontiers.stop();
      await peeks.stop();
      readers = await durable.stop();
    }
    expect(durable.regressions).toEqual([]);
    // The hand-offs kept environmentd's since handle on both shards (never expired).
    for (const r of readers) expect(r).toContain("environmentd");
    expect(await subscribeEnd).toBe("ControllerRebuilt"); // at src's first rebuild
    expect(subscribeBatches).toBeGreaterThan(0);
    expect(peeks.failures).toEqual([]);
    expect(peeks.answers()).toBeGreaterThan(20);
    expect(frontiers.regressions).toEqual([]);
    expect([...flipStates].some((s) => s.startsWith("rebuilding"))).toBe(true);
    expect(await metric(registry, "mz_environment_flips_started_total")).toBe(4);
    expect(await metric(registry, "mz_environment_flips_completed_total")).toBe(4);
    // The view on the other cluster kept counting every value.
    const last = await until("both indexes at the end", freshAnswers);
    expect(last.total).toEqual([[[BigInt(last.counter.length)], 1]]);
    expect(last.counter.length).toBeGreaterThan(first.counter.length);
  }, 240_000);
});
