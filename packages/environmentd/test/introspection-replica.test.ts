/**
 * Introspection end to end against real clusterd replicas (phase 2, *logging*): compute answering
 * peeks of log indexes with its legacy logging (`compute/src/legacy/logging`,
 * `cluster-unification-logging` off) and with the unified logging (`mz-cluster/src/logging`, on).
 *
 * Per path: a two-worker replica of a cluster with a 200 ms introspection interval runs a
 * real-time counter source (its frontiers keep advancing: a closed source's index frontier would
 * be empty, and its `compute_frontiers` row retracted) and an index on it; the index's dataflow,
 * its export, operators, frontier, arrangement and hydration must show up in the replica's own
 * relations, read through environmentd's API at now (default) with the replica named or chosen.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PeekFailed } from "@mzts/compute-client";
import { type Phase, PhaseSet } from "@mzts/flags";
import type { Row } from "@mzts/repr";
import { pino } from "pino";
import { Registry } from "prom-client";
import { afterEach, describe, expect, it } from "vitest";
import { StorageIntrospectionUnavailable } from "../src/errors.js";
import { createEnvironment, type Environment } from "../src/index.js";

const TICK_MS = 100;

let cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const f of cleanup.reverse()) await f().catch(() => undefined);
  cleanup = [];
});

/** Polls a peek of `mz_introspection.<relation>` on r1 until `ok(rows)`. */
async function rowsUntil(
  env: Environment,
  relation: string,
  what: string,
  ok: (rows: Row[]) => boolean,
  timeoutMs = 30_000,
): Promise<Row[]> {
  const deadline = Date.now() + timeoutMs;
  let last: Row[] = [];
  for (;;) {
    let res: Awaited<ReturnType<Environment["peek"]>>;
    try {
      res = await env.peek({
        object: `mz_introspection.${relation}`,
        cluster: "c1",
        replica: "r1",
        timeoutMs: 10_000,
      });
    } catch (e) {
      // A targeted peek fails when its replica's connection drops (on a loaded machine the
      // liveness probe may time out and the replica is rehydrated): read again, as a user would.
      if (!(e instanceof PeekFailed) || Date.now() > deadline) throw e;
      await new Promise((r) => setTimeout(r, 200));
      continue;
    }
    expect(res.replica).toBe("r1");
    last = res.rows.flatMap(([row, n]) => Array.from({ length: n }, () => row));
    if (ok(last)) return last;
    if (Date.now() > deadline) {
      throw new Error(
        `timed out waiting for ${what} in ${relation}: ${JSON.stringify(last, (_k, v) => (typeof v === "bigint" ? `${v}` : v))}`,
      );
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

const PATHS: Array<[string, { readonly [P in Phase]?: boolean }]> = [
  ["legacy logging", {}],
  ["unified logging", { servers: true, logging: true }],
];

describe.each(PATHS)("introspection against a real replica (%s)", (_name, flags) => {
  it("shows the index's dataflow, frontier, arrangement and hydration on its replica", async () => {
    const dir = mkdtempSync(join(tmpdir(), "log-env-replica-"));
    cleanup.push(async () => rmSync(dir, { recursive: true, force: true }));
    const env = await createEnvironment({
      dataDir: dir,
      phaseFlags: (id) => PhaseSet.of(id, flags),
      logger: pino({ level: "warn" }),
      registry: new Registry(),
      controllerAbsentTimeoutMs: 30_000,
      shardGcIntervalMs: 0,
    });
    cleanup.push(() => env.close());
    await env.createCluster({ name: "c1", introspectionIntervalMs: 200 });
    await env.createCluster({ name: "off", introspectionIntervalMs: 0 });
    await env.createReplica({ cluster: "c1", name: "r1", size: 2 });
    await env.createSource({
      name: "cnt",
      cluster: "c1",
      loadGenerator: {
        kind: "loadGenerator",
        generator: { kind: "counter" },
        seed: 1n,
        tickIntervalMs: TICK_MS,
      },
    });
    const index = await env.createIndex({
      name: "cnt_idx",
      cluster: "c1",
      on: "cnt_counter",
      key: [0],
    });
    // The index answers: hydrated on r1.
    const peek = await env.peek({ object: "cnt_idx", timeoutMs: 30_000 });
    expect(peek.replica).toBe("r1");

    // Its export, on both workers, and the dataflow that builds it.
    const exports = await rowsUntil(env, "dataflow_exports", "the index export", (rows) =>
      [0n, 1n].every((w) => rows.some((r) => r[0] === index.id && r[1] === w)),
    );
    const dataflowId = exports.find((r) => r[0] === index.id)?.[2];
    await rowsUntil(env, "dataflows", "the index dataflow", (rows) =>
      rows.some((r) => r[0] === dataflowId),
    );
    await rowsUntil(env, "operators", "its operators", (rows) =>
      rows.some((r) => r[0] === dataflowId),
    );
    // Its frontier: at or past what the peek read (the counter keeps ticking).
    await rowsUntil(env, "compute_frontiers", "the index frontier", (rows) =>
      rows.some((r) => r[0] === index.id && typeof r[2] === "bigint" && r[2] > peek.timestamp),
    );
    // Its arrangement: at least the rows the peek saw, over the two workers.
    const seen = peek.rows.reduce((n, [, count]) => n + count, 0);
    await rowsUntil(env, "arrangement_sizes", "the arrangement's records", (rows) => {
      const mine = rows.filter((r) => r[0] === index.id);
      return mine.reduce((n, r) => n + Number(r[2]), 0) >= Math.max(1, seen);
    });
    // Hydrated: a time on every worker.
    await rowsUntil(env, "hydration_times", "hydration", (rows) =>
      [0n, 1n].every((w) => rows.some((r) => r[0] === index.id && r[1] === w && r[2] !== null)),
    );
    // Without a replica: environmentd picks the online one and says so.
    const chosen = await env.peek({ object: "mz_introspection.dataflows", cluster: "c1" });
    expect(chosen.replica).toBe("r1");
    // A cluster with logging off.
    await expect(
      env.peek({ object: "mz_introspection.dataflows", cluster: "off" }),
    ).rejects.toThrow(/introspection interval 0/);
    // Storage relations: kept by a replica on the unified path only; on the legacy path the
    // refusal says why (not an endless "retry").
    const storagePeek = env.peek({
      object: "mz_introspection.ingestion_statistics",
      cluster: "c1",
      replica: "r1",
    });
    if (flags.logging === true) await expect(storagePeek).resolves.toBeDefined();
    else await expect(storagePeek).rejects.toThrow(StorageIntrospectionUnavailable);
  }, 120_000);
});
