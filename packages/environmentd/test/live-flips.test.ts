/**
 * Live flips in one environmentd with real clusterd replicas, flags from a flags file the test
 * rewrites (the provider's change events drive the flips, as LaunchDarkly's would):
 * - servers on: both replicas of a two-replica cluster are rolled — successors with new ids take
 *   their names, started with the new phases — and status ends with nothing flipping;
 * - replicas on: the controllers are reseated — same replica ids and pids, the controller path
 *   is now unified — and peeks keep answering;
 * - a successor that cannot hydrate in time is withdrawn: the old replica keeps serving, status
 *   reports the failed flip, the failure is counted.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createPhaseFlags, FLAG_KEYS, type Phase } from "@mzts/flags";
import { pino } from "pino";
import { Registry } from "prom-client";
import { afterEach, expect, it } from "vitest";
import { createEnvironment, type Environment } from "../src/index.js";
import { phasesOfProcess, until } from "./replica-processes.js";

const TICK_MS = 50;
const logger = pino({ level: process.env.LOG_LEVEL ?? "warn" });

let cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const f of cleanup.reverse()) await f().catch(() => undefined);
  cleanup = [];
});

async function setup(flipHydrationTimeoutMs?: number) {
  const dir = mkdtempSync(join(tmpdir(), "mzts-live-flips-"));
  cleanup.push(async () => rmSync(dir, { recursive: true, force: true }));
  const flagsFile = join(dir, "flags.json");
  const values: Record<string, boolean> = {};
  // In place: the SDK watches the file's inode (packages/flags README).
  const write = () => writeFileSync(flagsFile, JSON.stringify({ flagValues: values }));
  write();
  const registry = new Registry();
  const flags = createPhaseFlags({ environmentId: "env", flagsFile, logger, registry });
  await flags.ready();
  cleanup.push(() => flags.close());
  const open = (envRegistry = registry) =>
    createEnvironment({
      dataDir: dir,
      phaseFlags: flags,
      logger,
      registry: envRegistry,
      controllerAbsentTimeoutMs: 30_000,
      shardGcIntervalMs: 0,
      ...(flipHydrationTimeoutMs === undefined ? {} : { flipHydrationTimeoutMs }),
    });
  const env: Environment = await open();
  cleanup.push(() => env.close());
  const cluster = await env.createCluster({ name: "c" });
  for (const name of ["r1", "r2"]) await env.createReplica({ cluster: "c", name, size: 1 });
  await env.createSource({
    name: "counter",
    cluster: "c",
    loadGenerator: {
      kind: "loadGenerator",
      generator: { kind: "counter" },
      seed: 1n,
      tickIntervalMs: TICK_MS, // wall-clock ticks: a steady, small input
    },
  });
  await env.createIndex({ name: "idx", cluster: "c", on: "counter_counter", key: [] });
  const set = async (phase: Phase, on: boolean) => {
    values[FLAG_KEYS[phase]] = on;
    write();
  };
  const replicas = async () =>
    new Map((await env.listClusters()).clusters[0]?.replicas.map((r) => [r.name, r.id]));
  const peek = () => env.peek({ object: "idx", timeoutMs: 30_000 });
  await until(
    "the index readable",
    async () => (await peek().catch(() => undefined)) !== undefined,
  );
  const metric = async (name: string, kind: string) =>
    (await registry.getSingleMetric(name)?.get())?.values.find((v) => v.labels.kind === kind)
      ?.value ?? 0;
  return { env, cluster, set, replicas, peek, registry, metric, open, dir };
}

it("rolls the replicas for servers and reseats the controllers for replicas", async () => {
  const { env, cluster, set, replicas, peek, metric } = await setup();
  const before = await replicas();

  await set("servers", true);
  await until(
    "the servers flip to finish",
    async () => {
      const now = await replicas();
      return [...now.values()].every((id) => !before.has(id) && ![...before.values()].includes(id))
        ? (await env.status({})).clusters[0]?.flip === undefined
        : false;
    },
    120_000,
  );
  const rolled = await replicas();
  expect([...rolled.keys()].sort()).toEqual(["r1", "r2"]);
  for (const [name, id] of rolled) {
    expect(id).not.toBe(before.get(name));
    const pid = env.replicaPids().get(id);
    expect(pid).toBeGreaterThan(0);
    expect(phasesOfProcess(pid ?? -1).inForce.servers).toBe(true);
  }
  let status = (await env.status({})).clusters[0];
  expect(status?.flags.find((f) => f.key === FLAG_KEYS.servers)).toMatchObject({
    inForce: true,
    applied: true,
    flipping: false,
  });
  expect(await metric("mz_environment_flips_completed_total", "roll")).toBe(1);
  expect((await peek()).rows.length).toBeGreaterThan(0);

  const pids = new Map([...rolled.values()].map((id) => [id, env.replicaPids().get(id)]));
  await set("replicas", true);
  await until("the controllers reseated", async () => {
    const s = (await env.status({})).clusters[0];
    return s?.flip === undefined && s?.controllers?.[0]?.path === "unified";
  });
  await env.flipNow(cluster.id);
  status = (await env.status({})).clusters[0];
  expect(status?.flags.every((f) => !f.flipping)).toBe(true);
  expect(await replicas()).toEqual(rolled); // no replica replaced
  for (const [id, pid] of pids) expect(env.replicaPids().get(id)).toBe(pid); // none restarted
  expect(await metric("mz_environment_flips_completed_total", "reseat")).toBe(1);
  expect((await peek()).rows.length).toBeGreaterThan(0);
}, 240_000);

it("a successor that does not hydrate in time is withdrawn; the old replica keeps serving", async () => {
  const { env, set, replicas, peek, metric } = await setup(1);
  const before = await replicas();
  await set("servers", true);
  await until(
    "the flip to fail",
    async () => (await env.status({})).clusters[0]?.flip?.state === "failed",
  );
  const flip = (await env.status({})).clusters[0]?.flip;
  expect(flip?.error).toMatch(/did not hydrate within 1 ms/);
  expect(flip?.step).toMatch(/awaiting hydration of r1_pending/);
  expect(flip?.replica).toBe("r1");
  await until("the successor withdrawn", async () => (await replicas()).size === 2);
  expect(await replicas()).toEqual(before);
  const servers = (await env.status({})).clusters[0]?.flags.find(
    (f) => f.key === FLAG_KEYS.servers,
  );
  expect(servers).toMatchObject({ inForce: true, applied: false, flipping: true });
  expect(await metric("mz_environment_flips_failed_total", "roll")).toBe(1);
  expect((await peek()).rows.length).toBeGreaterThan(0);
}, 120_000);

it("a flip during a flip supersedes its target at the next step (never queued)", async () => {
  const { env, set, replicas, peek, metric } = await setup();
  const before = await replicas();
  await set("servers", true);
  await until("r1's successor hydrating", async () =>
    /awaiting hydration of r1_pending/.test((await env.status({})).clusters[0]?.flip?.step ?? ""),
  );
  await set("servers", false); // while r1's successor (servers on) hydrates
  await until(
    "the flip to settle",
    async () => {
      const c = (await env.status({})).clusters[0];
      return (
        c !== undefined &&
        c.flip === undefined &&
        c.flags.every((f) => !f.flipping) &&
        c.replicas.length === 2
      );
    },
    120_000,
  );
  const after = await replicas();
  // r1 was rolled onto servers on (the step in progress finished), then back onto the newest
  // target; r2 was never rolled: it already ran the newest target when its turn came.
  expect(after.get("r1")).not.toBe(before.get("r1"));
  expect(after.get("r2")).toBe(before.get("r2"));
  for (const id of after.values()) {
    expect(phasesOfProcess(env.replicaPids().get(id) ?? -1).inForce.servers).toBe(false);
  }
  expect(await metric("mz_environment_flips_started_total", "roll")).toBe(1);
  expect(await metric("mz_environment_flips_completed_total", "roll")).toBe(1);
  expect((await peek()).rows.length).toBeGreaterThan(0);
}, 180_000);

it("a roll left half-done by an environmentd that stopped is undone by the next one", async () => {
  const { env, set, replicas, open, dir } = await setup();
  const before = await replicas();
  await set("servers", true);
  await until("r1's successor hydrating", async () =>
    /awaiting hydration of r1_pending/.test((await env.status({})).clusters[0]?.flip?.step ?? ""),
  );
  expect((await replicas()).has("r1_pending")).toBe(true);
  await env.close({ keepReplicas: true }); // as if it died: the successor is left running
  const next = await open(new Registry());
  cleanup.push(() => next.close());
  const names = new Map(
    (await next.listClusters()).clusters[0]?.replicas.map((r) => [r.name, r.id]),
  );
  expect(names).toEqual(before); // the successor withdrawn; r1 and r2 kept their ids
  expect(JSON.parse(readFileSync(join(dir, "flips.json"), "utf8"))).toEqual({ rolls: [] });
  // Started at boot with the phases in force now: nothing left to flip.
  await until("no flip", async () => (await next.status({})).clusters[0]?.flip === undefined);
  for (const id of names.values()) {
    expect(phasesOfProcess(next.replicaPids().get(id) ?? -1).inForce.servers).toBe(true);
  }
}, 180_000);
