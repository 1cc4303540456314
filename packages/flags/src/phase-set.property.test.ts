/**
 * Properties of `resolvePhases` and `PhaseSet` over every flag combination (booleans and
 * migration stages) and build set.
 */
import { fc, test } from "@fast-check/vitest";
import { describe, expect } from "vitest";
import { PHASES, type Phase, PREREQUISITES } from "./keys.js";
import { PhaseSet, resolvePhases } from "./phase-set.js";
import { authoritativePath, isMigrating, type PhaseFlagValue, STAGES, stageOf } from "./stages.js";

const value: fc.Arbitrary<PhaseFlagValue> = fc.oneof(fc.boolean(), fc.constantFrom(...STAGES));
const flags = fc.record(
  Object.fromEntries(PHASES.map((p) => [p, value])) as Record<Phase, fc.Arbitrary<PhaseFlagValue>>,
  { requiredKeys: [] },
);
/** Whether a flag value is on (`true`/`complete`); absent is off. */
const on = (v: PhaseFlagValue | undefined) => v !== undefined && stageOf(v) === "complete";
const middle = (v: PhaseFlagValue | undefined) => v !== undefined && isMigrating(stageOf(v));
const built = fc.subarray([...PHASES]);

describe("resolvePhases properties", () => {
  test.prop([flags, built])("in force ⇔ flag on and all prerequisites in force", (f, b) => {
    const r = resolvePhases(f, b);
    for (const p of PHASES) {
      const expected = on(f[p]) && PREREQUISITES[p].every((q) => r.inForce[q]);
      expect(r.inForce[p]).toBe(expected);
      expect(r.flagsOn[p]).toBe(on(f[p]));
    }
  });

  test.prop([flags, built])("blocked ⇔ on or migrating, a prerequisite not in force", (f, b) => {
    const r = resolvePhases(f, b);
    for (const p of PHASES) {
      const isBlocked = r.blocked[p] !== undefined;
      const missing = !PREREQUISITES[p].every((q) => r.inForce[q]);
      expect(isBlocked).toBe((on(f[p]) || middle(f[p])) && missing);
      expect(r.migrating.includes(p)).toBe(middle(f[p]) && !missing);
      if (isBlocked) {
        expect(r.blocked[p]).toEqual(PREREQUISITES[p].filter((q) => !r.inForce[q]));
        expect(r.blocked[p]?.length).toBeGreaterThan(0);
      }
    }
  });

  test.prop([flags, built])("no effect ⇔ in force or migrating, and not built", (f, b) => {
    const r = resolvePhases(f, b);
    expect(r.noEffect).toEqual(
      PHASES.filter((p) => (r.inForce[p] || r.migrating.includes(p)) && !b.includes(p)),
    );
  });

  test.prop([fc.string({ minLength: 1 }), flags, built])(
    "the path run: unified ⇔ built and (in force, or migrating with unified authoritative)",
    (clusterId, f, b) => {
      const set = PhaseSet.of(clusterId, f, b);
      for (const p of PHASES) {
        const unified =
          b.includes(p) &&
          (set.inForce[p] ||
            (set.migrating.includes(p) && authoritativePath(set.stages[p]) === "unified"));
        expect(set.path(p)).toBe(unified ? "unified" : "legacy");
        expect(set.takesEffect(p)).toBe(unified);
      }
    },
  );

  test.prop([flags])("in force is transitively closed over the graph", (f) => {
    const r = resolvePhases(f, [...PHASES]);
    const closure = (p: Phase): Phase[] => PREREQUISITES[p].flatMap((q) => [q, ...closure(q)]);
    for (const p of PHASES) {
      if (r.inForce[p]) for (const q of closure(p)) expect(r.inForce[q]).toBe(true);
    }
  });

  test.prop([fc.string({ minLength: 1 }), flags, built])(
    "PhaseSet survives JSON and equals its copy",
    (clusterId, f, b) => {
      const set = PhaseSet.of(clusterId, f, b);
      const back = PhaseSet.parse(JSON.stringify(set));
      expect(back.equals(set)).toBe(true);
      expect(set.equals(PhaseSet.of(clusterId, f, b))).toBe(true);
    },
  );
});
