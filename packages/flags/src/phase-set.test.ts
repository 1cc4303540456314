/** Tests of `resolvePhases` and `PhaseSet`: prerequisites, no effect, equality, JSON. */
import { describe, expect, it } from "vitest";
import { InvalidPhaseSet } from "./errors.js";
import { PHASES } from "./keys.js";
import { PhaseSet, resolvePhases } from "./phase-set.js";

const ALL = [...PHASES];
/** Every phase but `state`: a build where one phase is not built yet (what "no effect" means). */
const BUT_STATE = PHASES.filter((p) => p !== "state");

describe("resolvePhases", () => {
  it("servers + replicas on, logging off: both in force, nothing blocked", () => {
    const r = resolvePhases({ servers: true, replicas: true, logging: false }, ALL);
    expect(r.inForce).toEqual({
      servers: true,
      replicas: true,
      logging: false,
      client: false,
      state: false,
    });
    expect(r.blocked).toEqual({});
  });

  it("client on without replicas: blocked on replicas, not in force", () => {
    const r = resolvePhases({ servers: true, client: true }, ALL);
    expect(r.inForce.client).toBe(false);
    expect(r.blocked).toEqual({ client: ["replicas"] });
  });

  it("logging on without servers: blocked on servers", () => {
    const r = resolvePhases({ logging: true }, ALL);
    expect(r.inForce.logging).toBe(false);
    expect(r.blocked).toEqual({ logging: ["servers"] });
  });

  it("state with client, servers and replicas: all in force", () => {
    const r = resolvePhases({ servers: true, replicas: true, client: true, state: true }, ALL);
    expect(PHASES.filter((p) => r.inForce[p])).toEqual(["servers", "replicas", "client", "state"]);
    expect(r.blocked).toEqual({});
  });

  it("state is blocked transitively: client blocked makes state blocked on client", () => {
    const r = resolvePhases({ servers: true, client: true, state: true }, ALL);
    expect(r.blocked).toEqual({ client: ["replicas"], state: ["client"] });
    expect(r.inForce.state).toBe(false);
  });

  it("absent flags are off", () => {
    const r = resolvePhases({}, ALL);
    expect(Object.values(r.flagsOn).some(Boolean)).toBe(false);
    expect(Object.values(r.inForce).some(Boolean)).toBe(false);
  });

  it("an unbuilt phase in force has no effect but still counts for its dependants", () => {
    const r = resolvePhases({ servers: true, logging: true, replicas: true }, ["servers"]);
    expect(r.inForce.logging && r.inForce.replicas).toBe(true);
    expect(r.noEffect).toEqual(["replicas", "logging"]);
    // Blocked phases are reported as blocked, not as "no effect".
    const blocked = resolvePhases({ logging: true }, ["servers"]);
    expect(blocked.noEffect).toEqual([]);
    expect(blocked.blocked).toEqual({ logging: ["servers"] });
  });
});

describe("PhaseSet", () => {
  const flags = { servers: true, replicas: true, client: true, logging: true, state: true };
  const set = PhaseSet.of("u1", flags, BUT_STATE);

  it("answers has / takesEffect / phases", () => {
    expect(set.has("client")).toBe(true);
    expect(set.has("state")).toBe(true);
    expect(PhaseSet.of("u1", { ...flags, state: false }).has("state")).toBe(false);
    expect(set.takesEffect("servers")).toBe(true);
    expect(set.takesEffect("replicas")).toBe(true); // in force and built
    expect(set.takesEffect("logging")).toBe(true); // in force and built
    expect(set.takesEffect("client")).toBe(true); // in force and built
    expect(set.takesEffect("state")).toBe(false); // in force, not built (BUT_STATE)
    expect(PhaseSet.of("u1", flags).takesEffect("state")).toBe(true); // built by default now
    expect(set.phases).toEqual(["servers", "replicas", "logging", "client", "state"]);
    expect(set.noEffect).toEqual(["state"]);
    expect(String(set)).toBe("u1: servers, replicas, logging, client, state [no effect state]");
  });

  it("is deeply frozen", () => {
    expect(Object.isFrozen(set)).toBe(true);
    expect(Object.isFrozen(set.inForce) && Object.isFrozen(set.flagsOn)).toBe(true);
    expect(Object.isFrozen(set.noEffect) && Object.isFrozen(set.blocked)).toBe(true);
    expect(() => {
      (set.inForce as { servers: boolean }).servers = false;
    }).toThrow(TypeError);
  });

  it("compares structurally", () => {
    const same = PhaseSet.of("u1", flags, BUT_STATE);
    expect(set.equals(same)).toBe(true);
    expect(set.equals(PhaseSet.of("u2", flags, BUT_STATE))).toBe(false);
    expect(set.equals(PhaseSet.of("u1", { servers: true, replicas: true, client: true }))).toBe(
      false,
    );
    const allBuilt = PhaseSet.of("u1", flags, ALL);
    expect(set.equals(allBuilt)).toBe(false); // noEffect differs
  });

  it("round-trips through JSON", () => {
    const blocked = PhaseSet.of("u7", { servers: true, client: true, state: true, logging: true });
    for (const s of [set, blocked, PhaseSet.of("x")]) {
      const text = JSON.stringify(s);
      const back = PhaseSet.parse(text);
      expect(back.equals(s)).toBe(true);
      expect(JSON.stringify(back)).toBe(text);
    }
    expect(JSON.parse(JSON.stringify(blocked))).toEqual({
      clusterId: "u7",
      flagsOn: { servers: true, replicas: false, logging: true, client: true, state: true },
      inForce: { servers: true, replicas: false, logging: true, client: false, state: false },
      blocked: { client: ["replicas"], state: ["client"] },
      noEffect: [],
    });
  });

  it("parse rejects garbage with InvalidPhaseSet", () => {
    const noState = PhaseSet.of("u1", { ...flags, state: false });
    const good = JSON.parse(JSON.stringify(noState)) as Record<string, unknown>;
    const variants: [string, unknown][] = [
      ["not json", "{nope"],
      ["array", []],
      ["null", null],
      ["missing field", { ...good, noEffect: undefined }],
      ["extra field", { ...good, extra: 1 }],
      ["empty cluster", { ...good, clusterId: "" }],
      ["non-boolean flag", { ...good, flagsOn: { ...(good.flagsOn as object), servers: "yes" } }],
      ["unknown phase", { ...good, inForce: { ...(good.inForce as object), other: true } }],
      // state in force although its flag is off: inconsistent with the graph
      ["inconsistent inForce", { ...good, inForce: { ...(good.inForce as object), state: true } }],
      [
        "client in force without replicas",
        {
          ...good,
          flagsOn: { ...(good.flagsOn as object), replicas: false },
        },
      ],
      ["wrong blocked", { ...good, blocked: { client: ["replicas"] } }],
      ["noEffect not in force", { ...good, noEffect: ["state"] }],
      ["noEffect duplicate", { ...good, noEffect: ["client", "client"] }],
      ["noEffect unknown", { ...good, noEffect: ["nope"] }],
    ];
    for (const [what, value] of variants) {
      const text = typeof value === "string" ? value : JSON.stringify(value);
      expect(() => PhaseSet.parse(text), what).toThrow(InvalidPhaseSet);
    }
    expect(() => PhaseSet.parse(JSON.stringify(good))).not.toThrow();
  });

  it("cannot be constructed directly", () => {
    const Ctor = PhaseSet as unknown as new (...args: unknown[]) => PhaseSet;
    expect(() => new Ctor(Symbol("x"), "u1", resolvePhases({}))).toThrow(TypeError);
  });
});
