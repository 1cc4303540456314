/**
 * A peek whose inputs are not there yet awaits a frontier instead of polling: while nothing moves
 * (no replica, read-hold ticks far apart) the frontiers are read once, not every few ms, and the
 * peek fails at its deadline with `UpperWaitTimeout` — with and without a requested timestamp.
 * No processes: the cluster has no replica.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PhaseSet } from "@mzts/flags";
import { pino } from "pino";
import { Registry } from "prom-client";
import { afterEach, expect, it } from "vitest";
import { createEnvironment, type Environment, UpperWaitTimeout } from "../src/index.js";

const dirs: string[] = [];
const envs: Environment[] = [];
afterEach(async () => {
  for (const e of envs.splice(0)) await e.close().catch(() => undefined);
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

it("waits for the inputs' frontiers without polling them, then times out clearly", async () => {
  const dir = mkdtempSync(join(tmpdir(), "mzts-peek-wait-"));
  dirs.push(dir);
  const env = await createEnvironment({
    dataDir: dir,
    phaseFlags: (id) => PhaseSet.of(id, {}),
    logger: pino({ level: "silent" }),
    registry: new Registry(),
    readHoldTickMs: 60_000,
    shardGcIntervalMs: 0,
  });
  envs.push(env);
  await env.createCluster({ name: "c" });
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
  await env.createIndex({ name: "counter_idx", cluster: "c", on: "counter_counter", key: [] });

  // Count reads of the subsource's frontier (the storage controller's view of it).
  let reads = 0;
  const storage = env.storage as { frontier: (id: string) => bigint | null };
  const frontier = storage.frontier.bind(storage);
  storage.frontier = (id) => {
    reads++;
    return frontier(id);
  };

  for (const timestamp of [5n, undefined]) {
    reads = 0;
    const started = Date.now();
    const e = await env
      .peek({
        object: "counter_idx",
        timeoutMs: 400,
        ...(timestamp === undefined ? {} : { timestamp }),
      })
      .then(
        () => undefined,
        (err: unknown) => err,
      );
    expect(e).toBeInstanceOf(UpperWaitTimeout);
    expect((e as Error).message).toContain("counter_idx");
    expect(Date.now() - started).toBeGreaterThanOrEqual(390);
    // Polling every 20 ms would have read it ~20 times; awaiting reads it when woken only.
    expect(reads).toBeLessThanOrEqual(2);
  }
});
