/**
 * Tests of `createPhaseFlags` on a local flags file through the SDK's file data source: edits
 * seen by a running process within 1 s, per-cluster targeting in the full-definitions form, and
 * bad files (garbage, wrong types, missing) at start and while running.
 */
import { closeSync, copyFileSync, openSync, unlinkSync, writeSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  FlagsLifecycleError,
  MalformedFlagsFile,
  MissingFlagsFile,
  WrongFlagType,
} from "./errors.js";
import { FLAG_KEYS } from "./keys.js";
import { FLAGS_ERRORS_METRIC, PHASE_ENABLED_METRIC } from "./metrics.js";
import type { PhaseSet } from "./phase-set.js";
import {
  booleanFlag,
  ERROR,
  type Harness,
  harness,
  sleep,
  WARN,
  waitFor,
} from "./testdata/harness.js";

const SERVERS = FLAG_KEYS.servers;
const example = (name: string) => fileURLToPath(new URL(`../examples/${name}`, import.meta.url));
const values = (v: Record<string, unknown>) => ({ flagValues: v });

describe("createPhaseFlags on a flags file", () => {
  let h: Harness;
  beforeEach(() => {
    h = harness();
  });
  afterEach(async () => {
    await h.cleanup();
  });

  it("sees an edit within 1 s, per cluster, without a restart", async () => {
    const file = h.write("flags.json", values({ [SERVERS]: false }));
    const flags = h.create({ flagsFile: file });
    await flags.ready();
    expect((await flags.phases("u1")).has("servers")).toBe(false);
    expect((await flags.phases("u2")).has("servers")).toBe(false);
    const fired: Record<string, number> = {};
    const got: Record<string, PhaseSet> = {};
    for (const id of ["u1", "u2", "u3"]) {
      flags.subscribe(id, (next) => {
        fired[id] = performance.now();
        got[id] = next;
      });
    }
    await waitFor(() => flags.current("u3"));
    // Servers on for u1 and u2 only (full-definitions form, targets on the cluster context).
    const start = performance.now();
    h.write("flags.json", {
      flags: {
        [SERVERS]: booleanFlag(SERVERS, {
          contextTargets: [{ contextKind: "cluster", values: ["u1", "u2"], variation: 0 }],
        }),
      },
    });
    await waitFor(() => fired.u1 !== undefined && fired.u2 !== undefined, 1_000, "both clusters");
    const latency = Math.max(fired.u1 ?? Infinity, fired.u2 ?? Infinity) - start;
    console.info(`flags file edit → subscriptions of 2 clusters: ${latency.toFixed(1)} ms`);
    expect(latency).toBeLessThan(1_000);
    expect(got.u1?.has("servers") && got.u2?.has("servers")).toBe(true);
    expect(flags.current("u1")?.has("servers")).toBe(true);
    await sleep(20);
    expect(fired.u3).toBeUndefined(); // u3 did not change
    expect(flags.current("u3")?.has("servers")).toBe(false);
    expect(await h.gauge(PHASE_ENABLED_METRIC, { cluster: "u1", phase: "servers" })).toBe(1);
  });

  it("full definitions: a targeting rule enables a phase for one cluster only", async () => {
    const flags = h.create({ flagsFile: example("flag-definitions.json") });
    await flags.ready();
    expect((await flags.phases("u1")).has("servers")).toBe(true);
    expect((await flags.phases("u2")).has("servers")).toBe(false);
    expect((await flags.phases("u2")).flagsOn.logging).toBe(false);
    const staging = h.create({
      flagsFile: example("flag-definitions.json"),
      environmentId: "staging",
    });
    await staging.ready();
    expect((await staging.phases("u2")).has("servers")).toBe(true);
    // Replicas: a 25 % rollout by cluster.
    let n = 0;
    for (let i = 0; i < 100; i++) if ((await flags.phases(`c${i}`)).flagsOn.replicas) n++;
    expect(n).toBeGreaterThan(10);
    expect(n).toBeLessThan(45);
  });

  it("sees an edit of a full definition that keeps its version", async () => {
    const file = h.write("flags.json", { flags: { [SERVERS]: booleanFlag(SERVERS) } });
    const flags = h.create({ flagsFile: file });
    await flags.ready();
    expect((await flags.phases("u1")).has("servers")).toBe(false);
    h.write("flags.json", {
      flags: { [SERVERS]: booleanFlag(SERVERS, { fallthrough: { variation: 0 } }) },
    });
    await waitFor(() => flags.current("u1")?.has("servers"), 1_000, "servers in force");
  });

  it("the flagValues example turns servers on everywhere", async () => {
    const flags = h.create({ flagsFile: example("flag-values.json") });
    await flags.ready();
    for (const id of ["u1", "s9"]) expect((await flags.phases(id)).phases).toEqual(["servers"]);
  });

  it("garbage after a good file keeps the last good values and records a typed error", async () => {
    const file = h.write("flags.json", values({ [SERVERS]: true }));
    const flags = h.create({ flagsFile: file });
    await flags.ready();
    const good = await flags.phases("u1");
    expect(good.has("servers")).toBe(true);
    const garbage = ["{ garbage", "[]", '{"flagValues": "abc"}', '{"flagz": {}}'];
    for (const [i, text] of garbage.entries()) {
      h.write("flags.json", text);
      await waitFor(() => flags.errors().length === i + 1, 1_000, `error for ${text}`);
      const error = flags.lastError;
      expect(error).toBeInstanceOf(MalformedFlagsFile);
      expect((error as MalformedFlagsFile).file).toBe(file);
      expect(error?.message).toContain(file);
      expect(flags.currentError).toBe(error);
      expect(flags.current("u1")).toBe(good);
      // A cluster first seen now gets the last good values too.
      expect((await flags.phases(`new${i}`)).has("servers")).toBe(true);
    }
    expect(flags.errors()[0]?.message).toMatch(/line 1, column 3/);
    expect(h.logs.filter((l) => l.level === ERROR && l.component === "flags")).toHaveLength(4);
    expect(await h.gauge(FLAGS_ERRORS_METRIC, { error: "MalformedFlagsFile" })).toBe(4);
    // Fixing the file applies it and clears the current error.
    h.write("flags.json", values({ [SERVERS]: false }));
    await waitFor(() => flags.current("u1")?.has("servers") === false, 1_000, "fixed file");
    expect(flags.currentError).toBeUndefined();
  });

  it("a wrong-typed value keeps the last good value; the error names the flag and file", async () => {
    const file = h.write("flags.json", values({ [SERVERS]: true }));
    const flags = h.create({ flagsFile: file });
    await flags.ready();
    const good = await flags.phases("u1");
    for (const bad of ["yes", 1]) {
      h.write("flags.json", values({ [SERVERS]: bad, [FLAG_KEYS.replicas]: true }));
      await waitFor(
        () => flags.lastError instanceof WrongFlagType && flags.lastError.value === bad,
      );
      const error = flags.lastError as WrongFlagType;
      expect(error.flagKey).toBe(SERVERS);
      expect(error.source).toBe(file);
      expect(error.message).toMatch(/cluster-unification-servers .* has the value/);
      // The edit is rejected whole: replicas (valid in the same edit) does not apply either.
      expect(flags.current("u1")).toBe(good);
    }
  });

  it("accepts migration stages in flagValues and in full definitions", async () => {
    const file = h.write("flags.json", values({ [SERVERS]: "shadow" }));
    const flags = h.create({ flagsFile: file });
    await flags.ready();
    expect((await flags.phases("u1")).stage("servers")).toBe("shadow");
    h.write("flags.json", {
      flags: {
        [SERVERS]: {
          key: SERVERS,
          on: true,
          variations: ["off", "live"],
          fallthrough: { variation: 1 },
          offVariation: 0,
        },
      },
    });
    await waitFor(() => flags.current("u1")?.stage("servers") === "live");
    expect(flags.lastError).toBeUndefined();
  });

  it("a slow writer's half-written file is not reported as an error", async () => {
    const file = h.write("flags.json", values({ [SERVERS]: false }));
    const flags = h.create({ flagsFile: file });
    await flags.ready();
    await flags.phases("u1");
    const text = JSON.stringify(values({ [SERVERS]: true }));
    const fd = openSync(file, "w"); // truncates: the SDK may read an empty file
    writeSync(fd, text.slice(0, 10));
    await sleep(20); // the SDK (10 ms debounce) loads the half-written file
    writeSync(fd, text.slice(10));
    closeSync(fd);
    await waitFor(() => flags.current("u1")?.has("servers"), 1_000, "servers in force");
    await sleep(80); // past the settle time
    expect(flags.errors()).toEqual([]);
  });

  it("fails to start on a missing file, saying what to do", async () => {
    const flags = h.create({ flagsFile: join(h.dir, "missing.json") });
    const error = await flags.ready().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MissingFlagsFile);
    expect((error as Error).message).toMatch(/create it/);
    await expect(flags.phases("u1")).rejects.toBeInstanceOf(FlagsLifecycleError);
    await expect(flags.ready()).rejects.toBe(error); // ready() is idempotent
  });

  it("fails to start on a malformed file or a wrong-typed value", async () => {
    const bad = h.write("bad.json", '{\n  "flagValues": {\n    "x": tru\n  }\n}');
    const error = await h
      .create({ flagsFile: bad })
      .ready()
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MalformedFlagsFile);
    expect((error as MalformedFlagsFile).line).toBe(3);
    const typed = h.write("typed.json", values({ [FLAG_KEYS.state]: "on" }));
    const typedError = await h
      .create({ flagsFile: typed })
      .ready()
      .catch((e: unknown) => e);
    expect(typedError).toBeInstanceOf(WrongFlagType);
    expect((typedError as WrongFlagType).flagKey).toBe(FLAG_KEYS.state);
  });

  it("ignores flags that are not phase flags, logging each once", async () => {
    const file = h.write("flags.json", values({ [SERVERS]: true, "other-flag": "yes" }));
    const flags = h.create({ flagsFile: file });
    await flags.ready();
    h.write("flags.json", values({ [SERVERS]: false, "other-flag": 7 }));
    await waitFor(() => flags.current("u1") === undefined || !flags.current("u1")?.has("servers"));
    await flags.phases("u1");
    const warned = h.logs.filter((l) => l.level === WARN && l.flag === "other-flag");
    expect(warned).toHaveLength(1);
    expect(warned[0]?.msg).toMatch(/not a cluster-unification flag; it is ignored/);
    expect(flags.lastError).toBeUndefined();
  });

  it("survives the file being deleted: last good values stay, the error says to restart", async () => {
    const file = join(h.dir, "flags.json");
    copyFileSync(example("flag-values.json"), file);
    const flags = h.create({ flagsFile: file });
    await flags.ready();
    const good = await flags.phases("u1");
    unlinkSync(file);
    await waitFor(() => flags.lastError, 1_000, "an error");
    expect(flags.lastError).toBeInstanceOf(MissingFlagsFile);
    expect(flags.lastError?.message).toMatch(/restart/);
    expect(flags.current("u1")).toBe(good);
    expect((await flags.phases("u2")).has("servers")).toBe(true);
  });
});
