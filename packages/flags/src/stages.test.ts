/** Migration stages in `PhaseSet`: what each stage runs, blocking, JSON forms, equality. */
import { describe, expect, it } from "vitest";
import { InvalidPhaseSet } from "./errors.js";
import { PHASES } from "./keys.js";
import { PhaseSet } from "./phase-set.js";
import { authoritativePath, comparesPaths, isMigrating, STAGES, stageOf } from "./stages.js";

const ALL = [...PHASES];

describe("stages", () => {
  it("booleans are off and complete; the middle four migrate", () => {
    expect(stageOf(false)).toBe("off");
    expect(stageOf(true)).toBe("complete");
    expect(STAGES.filter(isMigrating)).toEqual(["dualwrite", "shadow", "live", "rampdown"]);
    expect(STAGES.map(authoritativePath)).toEqual([
      "legacy",
      "legacy",
      "legacy",
      "unified",
      "unified",
      "unified",
    ]);
    expect(STAGES.filter(comparesPaths)).toEqual(["shadow", "live"]);
  });

  it("a migrating phase runs its authoritative path and is not in force", () => {
    const shadow = PhaseSet.of("u1", { servers: "shadow" }, ALL);
    expect(shadow.migrating).toEqual(["servers"]);
    expect(shadow.inForce.servers).toBe(false);
    expect(shadow.flagsOn.servers).toBe(false);
    expect(shadow.path("servers")).toBe("legacy");
    expect(shadow.takesEffect("servers")).toBe(false);
    const live = PhaseSet.of("u1", { servers: "live" }, ALL);
    expect(live.path("servers")).toBe("unified");
    expect(live.takesEffect("servers")).toBe(true);
    expect(live.stage("servers")).toBe("live");
    expect(
      PhaseSet.of("u1", { servers: "complete" }, ALL).equals(
        PhaseSet.of("u1", { servers: true }, ALL),
      ),
    ).toBe(true);
  });

  it("a dependant of a migrating phase is blocked until the phase is complete", () => {
    const set = PhaseSet.of("u1", { servers: "live", logging: true }, ALL);
    expect(set.blocked).toEqual({ logging: ["servers"] });
    expect(set.path("logging")).toBe("legacy");
    // A middle stage whose prerequisite is missing is blocked, not migrating.
    const early = PhaseSet.of("u1", { logging: "shadow" }, ALL);
    expect(early.migrating).toEqual([]);
    expect(early.blocked).toEqual({ logging: ["servers"] });
  });

  it("a migrating phase that is not built has no effect and runs legacy", () => {
    const set = PhaseSet.of("u1", { servers: true, replicas: true, client: "live" }, [
      "servers",
      "replicas",
    ]);
    expect(set.migrating).toEqual(["client"]);
    expect(set.noEffect).toEqual(["client"]);
    expect(set.path("client")).toBe("legacy");
  });

  it("JSON keeps its boolean form unless some phase migrates, and round-trips both", () => {
    const plain = PhaseSet.of("u1", { servers: true }, ALL);
    expect(Object.keys(plain.toJSON())).not.toContain("stages");
    const migrating = PhaseSet.of("u1", { servers: true, replicas: "shadow" }, ALL);
    const json = migrating.toJSON();
    expect(json.stages?.replicas).toBe("shadow");
    const back = PhaseSet.parse(JSON.stringify(migrating));
    expect(back.equals(migrating)).toBe(true);
    expect(back.equals(PhaseSet.of("u1", { servers: true, replicas: "live" }, ALL))).toBe(false);
    expect(back.toString()).toBe("u1: servers [migrating replicas shadow]");
  });

  it("parse refuses stages that disagree with flagsOn, or stages with nothing migrating", () => {
    const json = PhaseSet.of("u1", { servers: true, replicas: "shadow" }, ALL).toJSON();
    const withStage = (stage: unknown) =>
      JSON.stringify({ ...json, stages: { ...json.stages, servers: stage } });
    expect(() => PhaseSet.parse(withStage("off"))).toThrow(/flagsOn.servers is true/);
    expect(() => PhaseSet.parse(withStage("sideways"))).toThrow(InvalidPhaseSet);
    const plain = PhaseSet.of("u1", { servers: true }, ALL).toJSON();
    const stages = {
      servers: "complete",
      replicas: "off",
      logging: "off",
      client: "off",
      state: "off",
    };
    expect(() => PhaseSet.parse(JSON.stringify({ ...plain, stages }))).toThrow(
      /only when some phase is in a middle stage/,
    );
  });

  it("forSlot resolves every migrating phase to the slot's path and keeps the rest", () => {
    const set = PhaseSet.of("u1", { servers: true, replicas: "shadow", logging: "live" }, ALL);
    expect(set.migrating).toEqual(["replicas", "logging"]);
    const unified = set.forSlot("unified");
    expect(unified.migrating).toEqual([]);
    expect(unified.phases).toEqual(["servers", "replicas", "logging"]);
    const legacy = set.forSlot("legacy");
    expect(legacy.phases).toEqual(["servers"]);
    expect(legacy.stage("logging")).toBe("off");
    expect(PhaseSet.of("u1", { servers: true }, ALL).forSlot("legacy").phases).toEqual(["servers"]);
    // A phase that is not built stays without effect on its slot.
    const unbuilt = PhaseSet.of("u1", { servers: true, replicas: true, client: "live" }, [
      "servers",
      "replicas",
    ]);
    expect(unbuilt.forSlot("unified").noEffect).toEqual(["client"]);
  });
});
