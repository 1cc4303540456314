/**
 * Environment lifecycle without replicas:
 * - a fenced environmentd stops acting: when a newer one boots on the same catalog, the older one
 *   notices (the periodic generation check, or a refused write), closes itself without stopping
 *   the replicas, and reports it through `onFenced`; its later calls fail with `EnvironmentClosed`;
 * - shard garbage collection drops the shards of dropped objects once nobody reads or writes them,
 *   also when environmentd restarts between the passes (and its first pass runs soon after boot).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PhaseSet } from "@mzts/flags";
import { createPersist } from "@mzts/persist";
import { pino } from "pino";
import { Registry } from "prom-client";
import { afterEach, expect, it } from "vitest";
import { createEnvironment, type Environment, EnvironmentClosed } from "../src/index.js";

const dirs: string[] = [];
const envs: Environment[] = [];
afterEach(async () => {
  for (const e of envs.splice(0)) await e.close().catch(() => undefined);
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

async function boot(
  dataDir: string,
  onFenced?: (g: bigint) => void,
  shardGcIntervalMs = 0,
): Promise<Environment> {
  const env = await createEnvironment({
    dataDir,
    phaseFlags: (id) => PhaseSet.of(id, {}),
    logger: pino({ level: "silent" }),
    registry: new Registry(),
    fenceCheckMs: 100,
    shardGcIntervalMs,
    shardGcConfirmMs: 0,
    ...(onFenced === undefined ? {} : { onFenced }),
  });
  envs.push(env);
  return env;
}

it("an older environmentd closes itself when a newer generation boots", async () => {
  const dir = mkdtempSync(join(tmpdir(), "mzts-fencing-"));
  dirs.push(dir);
  let fencedBy: bigint | undefined;
  const first = await boot(dir, (g) => {
    fencedBy = g;
  });
  await first.createCluster({ name: "c" });
  const second = await boot(dir);
  expect(second.generation).toBe(first.generation + 1n);
  const deadline = Date.now() + 5000;
  while (fencedBy === undefined && Date.now() < deadline)
    await new Promise((r) => setTimeout(r, 20));
  expect(fencedBy).toBe(second.generation);
  await expect(first.createCluster({ name: "d" })).rejects.toBeInstanceOf(EnvironmentClosed);
  // The newer one is unaffected and sees what the older one created.
  expect((await second.listClusters()).clusters.map((c) => c.name)).toEqual(["c"]);
  await second.createCluster({ name: "d" });
});

it("drops the shards of dropped objects once nobody reads or writes them", async () => {
  const dir = mkdtempSync(join(tmpdir(), "mzts-shard-gc-"));
  dirs.push(dir);
  const env = await boot(dir);
  await env.createCluster({ name: "c" });
  const generator = (name: string) => ({
    name,
    cluster: "c",
    loadGenerator: {
      kind: "loadGenerator" as const,
      generator: { kind: "counter" as const },
      seed: 1n,
      tickIntervalMs: 1000,
    },
  });
  await env.createSource(generator("kept"));
  await env.createSource(generator("gone"));
  await env.createSource(generator("read"));
  const shards = async () => {
    const snap = await env.catalog.snapshot();
    return new Map(
      snap.items.flatMap((i) =>
        i.kind === "source" ? i.exports.map((e) => [i.name, e.shardId]) : [],
      ),
    );
  };
  const before = await shards();
  // A shard derived from a live one (an ingestion's clock anchor) is the live object's.
  const other0 = await createPersist({ dataDir: join(dir, "persist") });
  await other0.openShard(`${before.get("kept")}-clock`, { create: true });
  await other0.close();
  // A replica still reading "read" (its since handle) keeps that shard after the drop.
  const other = await createPersist({ dataDir: join(dir, "persist") });
  const reader = await (await other.openShard(before.get("read") as string)).openSinceHandle("r");
  await env.dropObject({ name: "gone", cascade: false });
  await env.dropObject({ name: "read", cascade: false });
  expect(await env.collectOrphanShards()).toBe(0); // first sighting: maybe still written
  expect(await env.collectOrphanShards()).toBe(1); // "gone": unchanged upper, no reader
  await expect(other.openShard(before.get("gone") as string)).rejects.toThrow(/dropped/);
  expect(await env.collectOrphanShards()).toBe(0); // "read" still has its reader
  await reader.expire();
  expect(await env.collectOrphanShards()).toBe(1);
  // The referenced shard and the one derived from it are untouched.
  expect(await env.collectOrphanShards()).toBe(0);
  expect((await other.openShard(before.get("kept") as string)).id).toBe(before.get("kept"));
  await other.openShard(`${before.get("kept")}-clock`);
  await other.close();
});

it("shard GC completes across a restart, with its first pass soon after boot", async () => {
  const dir = mkdtempSync(join(tmpdir(), "mzts-shard-gc-restart-"));
  dirs.push(dir);
  const first = await boot(dir);
  await first.createCluster({ name: "c" });
  await first.createSource({
    name: "gone",
    cluster: "c",
    loadGenerator: {
      kind: "loadGenerator",
      generator: { kind: "counter" },
      seed: 1n,
      tickIntervalMs: 1000,
    },
  });
  const snap = await first.catalog.snapshot();
  const shardId = snap.items.flatMap((i) => (i.kind === "source" ? i.exports : []))[0]?.shardId;
  expect(shardId).toBeDefined();
  await first.dropObject({ name: "gone", cascade: false });
  expect(await first.collectOrphanShards()).toBe(0); // first sighting
  await first.close(); // "killed" before its next pass
  // The next boot's timer interval is long; its first pass, soon after boot, completes the drop.
  await boot(dir, undefined, 60_000);
  const other = await createPersist({ dataDir: join(dir, "persist") });
  try {
    const deadline = Date.now() + 10_000;
    let dropped = false;
    while (!dropped && Date.now() < deadline) {
      dropped = await other.openShard(shardId as string).then(
        () => false,
        (e: unknown) => /dropped/.test(String(e)),
      );
      if (!dropped) await new Promise((r) => setTimeout(r, 100));
    }
    expect(dropped).toBe(true);
  } finally {
    await other.close();
  }
});
