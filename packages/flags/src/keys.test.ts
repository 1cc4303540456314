/** Tests of the phase names, flag keys and prerequisite graph. */
import { describe, expect, it } from "vitest";
import { BUILT_PHASES, FLAG_KEYS, isPhase, PHASES, PREREQUISITES, phaseOfFlagKey } from "./keys.js";

describe("keys", () => {
  it("maps each phase to its flag key and back", () => {
    expect(FLAG_KEYS).toEqual({
      servers: "cluster-unification-servers",
      logging: "cluster-unification-logging",
      replicas: "cluster-unification-replicas",
      client: "cluster-unification-client",
      state: "cluster-unification-state",
    });
    for (const phase of PHASES) expect(phaseOfFlagKey(FLAG_KEYS[phase])).toBe(phase);
    expect(phaseOfFlagKey("cluster-unification-server")).toBeUndefined();
    expect(isPhase("state")).toBe(true);
    expect(isPhase("State")).toBe(false);
  });

  it("has the prerequisite graph of the design", () => {
    expect(PREREQUISITES).toEqual({
      servers: [],
      replicas: [],
      logging: ["servers"],
      client: ["servers", "replicas"],
      state: ["client"],
    });
  });

  it("lists phases in dependency order (what resolvePhases relies on)", () => {
    PHASES.forEach((phase, i) => {
      for (const prerequisite of PREREQUISITES[phase]) {
        expect(PHASES.indexOf(prerequisite)).toBeLessThan(i);
      }
    });
  });

  it("builds servers, replicas, logging and client so far, and the constants are frozen", () => {
    expect(BUILT_PHASES).toEqual(["servers", "replicas", "logging", "client", "state"]);
    expect(Object.isFrozen(FLAG_KEYS) && Object.isFrozen(PREREQUISITES)).toBe(true);
    expect(Object.isFrozen(PREREQUISITES.client)).toBe(true);
  });
});
