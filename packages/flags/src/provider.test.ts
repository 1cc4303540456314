/**
 * Tests of `createPhaseFlags` on the SDK's TestData source: per-cluster evaluation, percentage
 * rollouts, prerequisites end to end (logs and metrics), subscriptions, wrong-typed data,
 * configuration and lifecycle errors.
 */
import { integrations } from "@launchdarkly/node-server-sdk";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  FlagsLifecycleError,
  InvalidClusterId,
  InvalidFlagsConfig,
  WrongFlagType,
} from "./errors.js";
import { FLAG_KEYS, PHASES, type Phase } from "./keys.js";
import {
  FLAGS_ERRORS_METRIC,
  PHASE_BLOCKED_METRIC,
  PHASE_ENABLED_METRIC,
  PHASE_NO_EFFECT_METRIC,
  PHASE_STAGE_METRIC,
} from "./metrics.js";
import type { PhaseSet } from "./phase-set.js";
import { ERROR, type Harness, harness, sleep, WARN, waitFor } from "./testdata/harness.js";

const ALL: Phase[] = [...PHASES];

describe("createPhaseFlags on TestData", () => {
  let h: Harness;
  let td: integrations.TestData;
  beforeEach(() => {
    h = harness();
    td = new integrations.TestData();
  });
  afterEach(async () => {
    await h.cleanup();
  });

  const on = (phase: Phase, value: unknown = true) =>
    td.update(td.flag(FLAG_KEYS[phase]).valueForAll(value));

  it("evaluates per cluster: a cluster target enables a phase for that cluster only", async () => {
    await td.update(
      td
        .flag(FLAG_KEYS.servers)
        .booleanFlag()
        .variationForContext("cluster", "u1", true)
        .fallthroughVariation(false),
    );
    const flags = h.create({ dataSource: td.getFactory() });
    await flags.ready();
    expect((await flags.phases("u1")).has("servers")).toBe(true);
    expect((await flags.phases("u2")).has("servers")).toBe(false);
  });

  it("evaluates the environment context: a rule on environment key", async () => {
    await td.update(
      td
        .flag(FLAG_KEYS.servers)
        .booleanFlag()
        .ifMatch("environment", "key", "staging")
        .thenReturn(true)
        .fallthroughVariation(false),
    );
    const staging = h.create({ dataSource: td.getFactory(), environmentId: "staging" });
    const prod = h.create({ dataSource: td.getFactory(), environmentId: "prod" });
    await Promise.all([staging.ready(), prod.ready()]);
    expect((await staging.phases("u1")).has("servers")).toBe(true);
    expect((await prod.phases("u1")).has("servers")).toBe(false);
  });

  it("rolls out by percentage of clusters, deterministically", async () => {
    await td.usePreconfiguredFlag({
      key: FLAG_KEYS.servers,
      on: true,
      variations: [true, false],
      offVariation: 1,
      salt: "rollout-test",
      fallthrough: {
        rollout: {
          contextKind: "cluster",
          variations: [
            { variation: 0, weight: 30000 },
            { variation: 1, weight: 70000 },
          ],
        },
      },
      version: 1,
    });
    const a = h.create({ dataSource: td.getFactory(), environmentId: "env-a" });
    const b = h.create({ dataSource: td.getFactory(), environmentId: "env-b" });
    await Promise.all([a.ready(), b.ready()]);
    const ids = Array.from({ length: 200 }, (_, i) => `u${i}`);
    const inA = [];
    for (const id of ids) {
      const [pa, pb] = await Promise.all([a.phases(id), b.phases(id)]);
      // Bucketed by cluster only: the same cluster gets the same answer in every environment.
      expect(pa.has("servers")).toBe(pb.has("servers"));
      if (pa.has("servers")) inA.push(id);
    }
    expect(inA.length).toBeGreaterThan(200 * 0.15);
    expect(inA.length).toBeLessThan(200 * 0.45);
    // A fresh client (a restart) puts the same clusters in the rollout.
    const again = h.create({ dataSource: td.getFactory() });
    await again.ready();
    const inAgain = [];
    for (const id of ids) if ((await again.phases(id)).has("servers")) inAgain.push(id);
    expect(inAgain).toEqual(inA);
  });

  it("client on without replicas: blocked, not in force, warned and counted", async () => {
    await on("servers");
    await on("client");
    const flags = h.create({ dataSource: td.getFactory(), builtPhases: ALL });
    await flags.ready();
    const set = await flags.phases("u1");
    expect(set.has("client")).toBe(false);
    expect(set.blocked).toEqual({ client: ["replicas"] });
    const warn = h.logs.find((l) => l.level === WARN && l.phase === "client");
    expect(warn?.missing).toEqual(["replicas"]);
    expect(warn?.cluster).toBe("u1");
    expect(warn?.msg).toMatch(
      /client is on for cluster u1 but blocked: missing prerequisites replicas/,
    );
    const labels = { cluster: "u1", phase: "client" };
    expect(await h.gauge(PHASE_BLOCKED_METRIC, labels)).toBe(1);
    expect(await h.gauge(PHASE_ENABLED_METRIC, labels)).toBe(0);
    expect(await h.gauge(PHASE_ENABLED_METRIC, { cluster: "u1", phase: "servers" })).toBe(1);
  });

  it("logging on without servers: blocked on servers", async () => {
    await on("logging");
    const flags = h.create({ dataSource: td.getFactory(), builtPhases: ALL });
    await flags.ready();
    const set = await flags.phases("u1");
    expect(set.has("logging")).toBe(false);
    expect(set.blocked).toEqual({ logging: ["servers"] });
    expect(await h.gauge(PHASE_BLOCKED_METRIC, { cluster: "u1", phase: "logging" })).toBe(1);
  });

  it("servers + replicas on, logging off: both in force; state with all its prerequisites too", async () => {
    await on("servers");
    await on("replicas");
    await on("logging", false);
    const flags = h.create({ dataSource: td.getFactory(), builtPhases: ALL });
    await flags.ready();
    expect((await flags.phases("u1")).phases).toEqual(["servers", "replicas"]);
    const changed = new Promise<PhaseSet>((resolve) => flags.subscribe("u1", resolve));
    await on("client");
    await on("state");
    await waitFor(() => flags.current("u1")?.has("state"));
    expect((await changed).has("client")).toBe(true);
    expect(flags.current("u1")?.phases).toEqual(["servers", "replicas", "client", "state"]);
    expect(flags.current("u1")?.blocked).toEqual({});
  });

  it("accepts a flag of an unbuilt phase and reports it as having no effect", async () => {
    await on("servers");
    await on("replicas");
    await on("client");
    await on("state");
    // A build where `state` is not built yet (every phase is built by default now).
    const flags = h.create({
      dataSource: td.getFactory(),
      builtPhases: PHASES.filter((p) => p !== "state"),
    });
    await flags.ready();
    const set = await flags.phases("u1");
    expect(set.has("state")).toBe(true);
    expect(set.takesEffect("state")).toBe(false);
    expect(set.takesEffect("client")).toBe(true);
    expect(set.noEffect).toEqual(["state"]);
    expect(await h.gauge(PHASE_NO_EFFECT_METRIC, { cluster: "u1", phase: "state" })).toBe(1);
    expect(await h.gauge(PHASE_NO_EFFECT_METRIC, { cluster: "u1", phase: "client" })).toBe(0);
    const warn = h.logs.find((l) => l.level === WARN && l.phase === "state");
    expect(warn?.msg).toMatch(/not built yet: its flag has no effect/);
  });

  it("subscriptions fire only on an actual change of that cluster, and unsubscribe", async () => {
    await td.update(td.flag(FLAG_KEYS.servers).booleanFlag().variationForAll(false));
    const flags = h.create({ dataSource: td.getFactory() });
    await flags.ready();
    const seen: Record<string, [string, string][]> = { u1: [], u2: [] };
    const unsubscribe = flags.subscribe("u1", (next, prev) =>
      seen.u1?.push([String(prev), String(next)]),
    );
    flags.subscribe("u2", (next, prev) => seen.u2?.push([String(prev), String(next)]));
    await waitFor(() => flags.current("u1") && flags.current("u2"));
    expect(seen).toEqual({ u1: [], u2: [] }); // the baseline is not a change
    // Only u1 changes.
    await td.update(
      td
        .flag(FLAG_KEYS.servers)
        .booleanFlag()
        .variationForContext("cluster", "u1", true)
        .fallthroughVariation(false),
    );
    await waitFor(() => seen.u1?.length === 1);
    // A change of an unrelated flag, and a no-op update, fire nothing.
    await td.update(td.flag("some-other-flag").valueForAll("x"));
    await td.update(
      td
        .flag(FLAG_KEYS.servers)
        .booleanFlag()
        .variationForContext("cluster", "u1", true)
        .fallthroughVariation(false),
    );
    await sleep(30);
    expect(seen).toEqual({ u1: [["u1: (none in force)", "u1: servers"]], u2: [] });
    unsubscribe();
    await td.update(td.flag(FLAG_KEYS.servers).booleanFlag().variationForAll(false));
    await waitFor(() => flags.current("u1")?.has("servers") === false);
    expect(seen.u1).toHaveLength(1);
  });

  it("a subscription made before ready() gets its baseline at ready(), then changes", async () => {
    await on("servers", false);
    const flags = h.create({ dataSource: td.getFactory() });
    const seen: PhaseSet[] = [];
    flags.subscribe("u1", (next) => seen.push(next));
    await flags.ready();
    expect(flags.current("u1")?.has("servers")).toBe(false);
    expect(seen).toEqual([]);
    await on("servers");
    await waitFor(() => seen.length === 1);
    expect(seen[0]?.has("servers")).toBe(true);
  });

  it("a wrong-typed value keeps the last good value and records an error naming the flag", async () => {
    await on("servers");
    const flags = h.create({ dataSource: td.getFactory() });
    await flags.ready();
    const before = await flags.phases("u1");
    expect(before.has("servers")).toBe(true);
    await on("servers", "yes");
    await waitFor(() => flags.lastError);
    const error = flags.lastError;
    expect(error).toBeInstanceOf(WrongFlagType);
    expect((error as WrongFlagType).flagKey).toBe(FLAG_KEYS.servers);
    expect((error as WrongFlagType).value).toBe("yes");
    expect(flags.currentError).toBe(error);
    expect(h.logs.some((l) => l.level === ERROR && /cluster-unification-servers/.test(l.msg))).toBe(
      true,
    );
    expect(await h.gauge(FLAGS_ERRORS_METRIC, { error: "WrongFlagType" })).toBe(1);
    // Still in force, also for a cluster evaluated for the first time now.
    await on("replicas", 1); // also garbage
    expect((await flags.phases("u1")).equals(before)).toBe(true);
    expect((await flags.phases("u2")).has("servers")).toBe(true);
    expect(flags.errors().map((e) => (e as WrongFlagType).flagKey)).toEqual([
      FLAG_KEYS.servers,
      FLAG_KEYS.replicas,
    ]);
    // A good value applies again and clears the current error.
    await on("servers", false);
    await waitFor(() => flags.current("u1")?.has("servers") === false);
    expect(flags.currentError).toBeUndefined();
  });

  it("a migration flag's stage applies per cluster, with its stage gauge", async () => {
    await td.update(
      td
        .flag(FLAG_KEYS.servers)
        .variations("off", "shadow", "live", "complete")
        .variationForContext("cluster", "u1", 1)
        .fallthroughVariation(0),
    );
    const flags = h.create({ dataSource: td.getFactory() });
    await flags.ready();
    const u1 = await flags.phases("u1");
    expect(u1.stage("servers")).toBe("shadow");
    expect(u1.migrating).toEqual(["servers"]);
    expect(u1.path("servers")).toBe("legacy");
    expect((await flags.phases("u2")).stage("servers")).toBe("off");
    expect(await h.gauge(PHASE_STAGE_METRIC, { cluster: "u1", phase: "servers" })).toBe(2);
    // Live: the unified path becomes authoritative; the change is published.
    await td.update(
      td.flag(FLAG_KEYS.servers).variations("off", "shadow", "live", "complete").variationForAll(2),
    );
    await waitFor(() => flags.current("u1")?.stage("servers") === "live");
    expect(flags.current("u1")?.takesEffect("servers")).toBe(true);
    expect(flags.lastError).toBeUndefined();
  });

  it("reports a comparison to LaunchDarkly's migration tracking as a read with both paths", async () => {
    await td.update(td.flag(FLAG_KEYS.servers).variations("off", "shadow").variationForAll(1));
    const flags = h.create({ dataSource: td.getFactory() });
    expect(await flags.trackComparison("u1", "servers", { latencyMs: { legacy: 3 } })).toBe(
      undefined,
    ); // not ready yet
    await flags.ready();
    const event = await flags.trackComparison("u1", "servers", {
      latencyMs: { legacy: 3, unified: 5 },
      consistent: false,
      errors: ["unified"],
    });
    expect(event).toMatchObject({
      kind: "migration_op",
      operation: "read",
      evaluation: { key: FLAG_KEYS.servers, value: "shadow" },
      measurements: expect.arrayContaining([
        { key: "invoked", values: { old: true, new: true } },
        { key: "latency_ms", values: { old: 3, new: 5 } },
        { key: "error", values: { new: true } },
        expect.objectContaining({ key: "consistent", value: false }),
      ]),
    });
  });

  it("a wrong-typed value at start counts as absent (off) and is recorded", async () => {
    await on("servers", 1);
    const flags = h.create({ dataSource: td.getFactory() });
    await flags.ready();
    expect((await flags.phases("u1")).flagsOn.servers).toBe(false);
    expect(flags.lastError).toBeInstanceOf(WrongFlagType);
  });

  it("forget drops a cluster's cache and metric series; close drops all", async () => {
    await on("servers");
    const flags = h.create({ dataSource: td.getFactory() });
    await flags.ready();
    await flags.phases("u1");
    await flags.phases("u2");
    flags.forget("u1");
    expect(flags.current("u1")).toBeUndefined();
    expect(
      await h.gauge(PHASE_ENABLED_METRIC, { cluster: "u1", phase: "servers" }),
    ).toBeUndefined();
    expect(await h.gauge(PHASE_ENABLED_METRIC, { cluster: "u2", phase: "servers" })).toBe(1);
    await flags.close();
    expect(
      await h.gauge(PHASE_ENABLED_METRIC, { cluster: "u2", phase: "servers" }),
    ).toBeUndefined();
    await expect(flags.phases("u2")).rejects.toBeInstanceOf(FlagsLifecycleError);
    await expect(flags.ready()).rejects.toBeInstanceOf(FlagsLifecycleError);
    await flags.close(); // idempotent
  });

  it("rejects bad options and calls out of order with typed errors", async () => {
    const factory = td.getFactory();
    expect(() => h.create({})).toThrow(InvalidFlagsConfig);
    expect(() => h.create({ sdkKey: "", flagsFile: "" })).toThrow(/no flag source/);
    expect(() => h.create({ sdkKey: "sdk-x", flagsFile: "/tmp/f.json" })).toThrow(
      /exactly one flag source/,
    );
    expect(() => h.create({ dataSource: factory, environmentId: "" })).toThrow(/environmentId/);
    expect(() =>
      h.create({ dataSource: factory, builtPhases: ["servers", "nope" as Phase] }),
    ).toThrow(/unknown phase "nope"/);
    expect(() => h.create({ dataSource: {} })).toThrow(/factory/);
    const flags = h.create({ dataSource: factory });
    await expect(flags.phases("u1")).rejects.toThrow(/await ready\(\) first/);
    await flags.ready();
    await expect(flags.phases("")).rejects.toBeInstanceOf(InvalidClusterId);
    expect(() => flags.subscribe("", () => {})).toThrow(InvalidClusterId);
  });

  it("two instances on one registry share the metrics", async () => {
    await on("servers");
    const a = h.create({ dataSource: td.getFactory() });
    const b = h.create({ dataSource: td.getFactory() });
    await Promise.all([a.ready(), b.ready()]);
    await a.phases("u1");
    await b.phases("u2");
    expect(await h.gauge(PHASE_ENABLED_METRIC, { cluster: "u2", phase: "servers" })).toBe(1);
  });
});
