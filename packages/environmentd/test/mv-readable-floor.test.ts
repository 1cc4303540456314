/**
 * A materialized view is readable only from the as-of its dataflow was built at (its "readable
 * floor"), not from its shard's since. Its persist sink writes its first batch `[upper, asOf + 1)`
 * with the view's contents at the as-of, so below the as-of the shard holds an *empty* collection
 * that never existed: a peek (through an index created right after the view, or naming the view)
 * or a subscribe at such a time must be refused (`PeekBelowSince`, naming the floor), not answered
 * with no rows. Found by `pnpm evaluate`: `winning_idx` peeked at an early time returned 0 rows on
 * one cluster and 1 row on another.
 *
 * The floor is durable: a restarted environmentd refuses the same reads.
 *
 * Real processes: one clusterd replica, a real-time counter source (100 ms ticks). The
 * compaction window is a minute, so no since moves past the floor on its own while a test runs.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PhaseSet } from "@mzts/flags";
import { pino } from "pino";
import { Registry } from "prom-client";
import { afterEach, expect, it } from "vitest";
import { createEnvironment, type Environment, PeekBelowSince } from "../src/index.js";

const cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f().catch(() => undefined);
});

async function until(what: string, f: () => boolean, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  while (!f()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function rejection(p: Promise<unknown>): Promise<unknown> {
  return p.then(
    (v) => ({ resolved: v }),
    (e: unknown) => e,
  );
}

function open(dir: string): Promise<Environment> {
  return createEnvironment({
    dataDir: dir,
    phaseFlags: (id) => PhaseSet.of(id, {}),
    logger: pino({ level: "silent" }),
    registry: new Registry(),
    compactionWindowMs: 60_000,
    // Read holds learn the counter's upper every 100 ms: the view's as-of is near the present.
    readHoldTickMs: 100,
    shardGcIntervalMs: 0,
  });
}

/** A counter that has been counting for a while, then view `total` and `total_idx` on it. */
async function setup() {
  const dir = mkdtempSync(join(tmpdir(), "mzts-mv-floor-"));
  cleanup.push(async () => rmSync(dir, { recursive: true, force: true }));
  const env = await open(dir);
  cleanup.push(() => env.close());
  await env.createCluster({ name: "c" });
  await env.createReplica({ cluster: "c", name: "r1", size: 1 });
  await env.createSource({
    name: "counter",
    cluster: "c",
    loadGenerator: {
      kind: "loadGenerator",
      generator: { kind: "counter" },
      seed: 1n,
      tickIntervalMs: 100,
    },
  });
  const { objects } = await env.listObjects({});
  const counterId = objects.find((o) => o.name === "counter_counter")?.id ?? "";
  let start = 0n;
  await until("the counter's first ticks", () => {
    start = env.storage.frontier(counterId) ?? 0n;
    return start > 0n;
  });
  await until("a few more ticks", () => (env.storage.frontier(counterId) ?? 0n) >= start + 500n);
  // The view and, right after it, an index on it (as `pnpm evaluate` does).
  const { id: mvId } = await env.createMaterializedView({
    name: "total",
    cluster: "c",
    plan: {
      kind: "reduce",
      input: { kind: "get", id: counterId, arity: 1 },
      groupKey: [],
      aggregates: [{ func: "count" }],
    },
  });
  await env.createIndex({ name: "total_idx", cluster: "c", on: "total", key: [] });
  // What the view's dataflow was built at; the counter had rows just below it.
  const asOf = env.compute.frontiers(mvId).since;
  expect(asOf !== null && asOf > start).toBe(true);
  return { dir, env, asOf: asOf! };
}

/** A subscribe of `total` at `asOf`, refused: its error. */
async function subscribeRefusal(env: Environment, asOf: bigint): Promise<PeekBelowSince> {
  const e = await rejection(
    (async () => {
      for await (const _ of env.subscribe({ object: "total", asOf })) break;
    })(),
  );
  expect(e, `subscribe at ${asOf}`).toBeInstanceOf(PeekBelowSince);
  return e as PeekBelowSince;
}

it("refuses reads of a fresh materialized view below its as-of instead of answering empty", async () => {
  const { env, asOf } = await setup();
  const before = asOf - 1n;
  // At `before` the counter had rows, so the view had one row; the view did not exist in its
  // shard before its as-of, so the only right answers are that row or a refusal.
  for (const object of ["total_idx", "total"]) {
    const e = await rejection(env.peek({ object, timestamp: before, timeoutMs: 20_000 }));
    expect(e, `${object} at ${before}`).toBeInstanceOf(PeekBelowSince);
    expect((e as Error).message).toContain(`${object} at ${before}`);
    expect((e as Error).message).toContain(`readable from since ${asOf}`);
  }
  expect((await subscribeRefusal(env, before)).since).toBe(asOf);

  // From the floor on the view is readable and right: one row, a positive count.
  const fresh = await env.peek({ object: "total_idx", timeoutMs: 20_000 });
  expect(fresh.rows).toHaveLength(1);
  const atFloor = await env.peek({ object: "total_idx", timestamp: asOf, timeoutMs: 20_000 });
  expect(atFloor.rows).toHaveLength(1);
  for await (const batch of env.subscribe({ object: "total", asOf })) {
    // The snapshot (at the floor): the one row the index answered there.
    const snapshot = batch.updates.filter(([, t]) => t === asOf);
    expect(snapshot).toEqual([[atFloor.rows[0]?.[0], asOf, 1]]);
    break;
  }
}, 90_000);

it("keeps a materialized view's floor across an environmentd restart", async () => {
  const { dir, env, asOf } = await setup();
  // The sink's first batch is written (the index answers) and a read-hold tick applied it.
  await env.peek({ object: "total_idx", timeoutMs: 20_000 });
  await new Promise((r) => setTimeout(r, 500));
  await env.close();
  const again = await open(dir);
  cleanup.push(() => again.close());
  const e = await subscribeRefusal(again, asOf - 1n);
  expect(e.since !== null && e.since >= asOf).toBe(true);
}, 90_000);
