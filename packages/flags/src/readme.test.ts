/**
 * README examples are tests (style §12): each ```ts block of README.md must appear, line by line
 * (indentation aside), in this file, where it runs against real flags and is checked.
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { FLAG_KEYS } from "./keys.js";
import { PhaseSet, resolvePhases } from "./phase-set.js";
import { createPhaseFlags, type PhaseFlags } from "./provider.js";
import { type Harness, harness, waitFor } from "./testdata/harness.js";

const here = (path: string) => fileURLToPath(new URL(path, import.meta.url));
const lines = (text: string) =>
  text
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l !== "");

describe("README", () => {
  let h: Harness;
  let opened: PhaseFlags | undefined;
  beforeEach(() => {
    h = harness();
  });
  afterEach(async () => {
    await opened?.close();
    await h.cleanup();
  });

  it("every ts snippet is in this file", () => {
    const readme = readFileSync(here("../README.md"), "utf8");
    const snippets = [...readme.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1] ?? "");
    expect(snippets.length).toBe(3);
    const self = lines(readFileSync(here("./readme.test.ts"), "utf8")).join("\n");
    for (const snippet of snippets) expect(self).toContain(lines(snippet).join("\n"));
  });

  it("createPhaseFlags()", async () => {
    const flagsFile = h.write("flags.json", { flagValues: { [FLAG_KEYS.servers]: true } });
    const { logger, registry } = h;
    const changes: unknown[] = [];

    const flags = createPhaseFlags({
      environmentId: "env-1",
      flagsFile, // without an SDK key; or: sdkKey: process.env.LAUNCHDARKLY_SDK_KEY
      logger, // a pino logger (default: pino() on stdout)
      registry, // a prom-client Registry (default: the global one)
    });
    await flags.ready(); // fails with MissingFlagsFile / MalformedFlagsFile / WrongFlagType

    const phases = await flags.phases("u1"); // tracked from now on
    const unified = phases.takesEffect("servers"); // in force and built
    const unsubscribe = flags.subscribe("u1", (next, previous) => {
      logger.info({ next: next.phases, previous: previous.phases }, "phases changed");
    });

    opened = flags;
    expect(unified).toBe(true);
    flags.subscribe("u1", (next) => changes.push(next.phases));
    h.write("flags.json", { flagValues: { [FLAG_KEYS.servers]: false } });
    await waitFor(() => changes.length === 1);
    expect(changes).toEqual([[]]);
    expect(h.logs.some((l) => l.msg === "phases changed")).toBe(true);
    unsubscribe();
  });

  it("PhaseSet", () => {
    const set = PhaseSet.of("u1", { servers: true, client: true });
    const copy = PhaseSet.parse(JSON.stringify(set)); // e.g. a child process's --phases argument
    const same = copy.equals(set) && !set.has("client") && set.blocked.client?.[0] === "replicas";

    expect(same).toBe(true);
  });

  it("resolvePhases()", () => {
    const resolved = resolvePhases({ servers: true, logging: true, state: true }, ["servers"]);
    // resolved.inForce.logging === true, resolved.noEffect = ["logging"],
    // resolved.blocked = { state: ["client"] }

    expect(resolved.inForce.logging).toBe(true);
    expect(resolved.noEffect).toEqual(["logging"]);
    expect(resolved.blocked).toEqual({ state: ["client"] });
  });
});
