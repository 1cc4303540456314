import { type Phase, PhaseSet } from "@mzts/flags";
import { describe, expect, it } from "vitest";
import { nextFlipStep, phasesText, type RunningReplica } from "./flip-plan.js";

const set = (flags: { readonly [P in Phase]?: boolean } = {}) => PhaseSet.of("u1", flags);
const replica = (
  id: string,
  name: string,
  flags: { readonly [P in Phase]?: boolean } = {},
  slot: "legacy" | "unified" = "legacy",
) => ({ id, name, phases: set(flags), slot }) satisfies RunningReplica;

describe("nextFlipStep", () => {
  it("is done when what runs matches the target", () => {
    expect(nextFlipStep(set(), [replica("u2", "r1")], set())).toEqual({ kind: "done" });
  });

  it("reseats the controllers first for a controller-side phase", () => {
    const target = set({ replicas: true, servers: true });
    const step = nextFlipStep(set(), [replica("u2", "r1")], target);
    expect(step).toEqual({ kind: "reseat" });
    // Once reseated, the replicas are rolled for servers.
    expect(nextFlipStep(target, [replica("u2", "r1")], target)).toMatchObject({ kind: "roll" });
  });

  it("rolls replicas one at a time, in name order, for a server-side phase", () => {
    const target = set({ servers: true });
    const rs = [replica("u3", "r2"), replica("u2", "r1")];
    expect(nextFlipStep(target, rs, target)).toEqual({ kind: "roll", replica: rs[1] });
    const rolled = [replica("u3", "r2"), replica("u9", "r1", { servers: true })];
    expect(nextFlipStep(target, rolled, target)).toEqual({ kind: "roll", replica: rolled[0] });
  });

  it("does not roll for a phase that is on but blocked (nothing runs differently)", () => {
    const target = set({ logging: true }); // needs servers
    expect(target.inForce.logging).toBe(false);
    expect(nextFlipStep(set(), [replica("u2", "r1")], target)).toEqual({ kind: "record" });
  });

  it("migration stages roll only the replicas whose slot's PhaseSet changes", () => {
    const stage = (servers: "shadow" | "live" | "complete") => PhaseSet.of("u1", { servers });
    const before = [replica("u2", "r1"), replica("u3", "r2", {}, "unified")];
    // off → shadow: the unified slot's replica is rolled onto servers; the legacy one stays.
    expect(nextFlipStep(set(), before, stage("shadow"))).toEqual({
      kind: "roll",
      replica: before[1],
    });
    const split = [replica("u2", "r1"), replica("u4", "r2", { servers: true }, "unified")];
    expect(nextFlipStep(stage("shadow"), split, stage("shadow"))).toEqual({ kind: "done" });
    // shadow → live changes only which path is authoritative: no roll.
    expect(nextFlipStep(stage("shadow"), split, stage("live"))).toEqual({ kind: "record" });
    // live → complete rolls the legacy slot's replica.
    expect(nextFlipStep(stage("live"), split, stage("complete"))).toEqual({
      kind: "roll",
      replica: split[0],
    });
  });

  it("rebuilds the controller when the state stage's shape changes (one path ↔ both, authority, comparing)", () => {
    const pre = { servers: true, replicas: true, client: true } as const;
    const stage = (state: "off" | "dualwrite" | "shadow" | "live" | "complete") =>
      PhaseSet.of("u1", { ...pre, state });
    const rs = [replica("u2", "r1", pre)];
    const steps = (a: Parameters<typeof stage>[0], b: Parameters<typeof stage>[0]) =>
      nextFlipStep(stage(a), rs, stage(b)).kind;
    expect(steps("off", "shadow")).toBe("rebuild"); // legacy alone → both, legacy authoritative
    expect(steps("shadow", "live")).toBe("rebuild"); // the other side authoritative
    expect(steps("live", "complete")).toBe("rebuild"); // both → unified alone
    expect(steps("dualwrite", "shadow")).toBe("rebuild"); // now compared
    expect(steps("shadow", "shadow")).not.toBe("rebuild");
  });

  it("rebuilds the controller first when whether state takes effect changes (on, or off through a prerequisite)", () => {
    const on = set({ servers: true, replicas: true, client: true, state: true });
    expect(on.takesEffect("state")).toBe(true);
    const off = set({ servers: true, replicas: true, client: true });
    const rs = [replica("u2", "r1", { servers: true, replicas: true, client: true })];
    expect(nextFlipStep(off, rs, on)).toEqual({ kind: "rebuild" });
    expect(nextFlipStep(on, rs, off)).toEqual({ kind: "rebuild" });
    // `client` off turns state off: the controller is rebuilt before the replicas roll.
    const clientOff = set({ servers: true, replicas: true, state: true });
    expect(clientOff.takesEffect("state")).toBe(false);
    expect(nextFlipStep(on, rs, clientOff)).toEqual({ kind: "rebuild" });
    expect(nextFlipStep(clientOff, rs, clientOff)).toMatchObject({ kind: "roll" });
    // state on but blocked changes nothing that runs: no rebuild.
    expect(
      nextFlipStep(off, rs, set({ servers: true, replicas: true, state: true })),
    ).toMatchObject({ kind: "roll" });
  });

  it("records a server-side change on a cluster without replicas", () => {
    expect(nextFlipStep(set(), [], set({ servers: true }))).toEqual({ kind: "record" });
  });

  it("names the phases in force", () => {
    expect(phasesText(set({ servers: true, logging: true, replicas: true }))).toBe(
      "servers,replicas,logging",
    );
    expect(phasesText(set())).toBe("");
  });
});
