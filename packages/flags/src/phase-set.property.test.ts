/** Properties of `resolvePhases` and `PhaseSet` over every flag combination and build set. */
import { fc, test } from "@fast-check/vitest";
import { describe, expect } from "vitest";
import { PHASES, type Phase, PREREQUISITES } from "./keys.js";
import { PhaseSet, resolvePhases } from "./phase-set.js";

const flags = fc.record(
  Object.fromEntries(PHASES.map((p) => [p, fc.boolean()])) as Record<Phase, fc.Arbitrary<boolean>>,
  { requiredKeys: [] },
);
const built = fc.subarray([...PHASES]);

describe("resolvePhases properties", () => {
  test.prop([flags, built])("in force ⇔ flag on and all prerequisites in force", (f, b) => {
    const r = resolvePhases(f, b);
    for (const p of PHASES) {
      const expected = f[p] === true && PREREQUISITES[p].every((q) => r.inForce[q]);
      expect(r.inForce[p]).toBe(expected);
      expect(r.flagsOn[p]).toBe(f[p] === true);
    }
  });

  test.prop([flags, built])("blocked ⇔ on and not in force; it lists the missing", (f, b) => {
    const r = resolvePhases(f, b);
    for (const p of PHASES) {
      const isBlocked = r.blocked[p] !== undefined;
      expect(isBlocked).toBe(r.flagsOn[p] && !r.inForce[p]);
      if (isBlocked) {
        expect(r.blocked[p]).toEqual(PREREQUISITES[p].filter((q) => !r.inForce[q]));
        expect(r.blocked[p]?.length).toBeGreaterThan(0);
      }
    }
  });

  test.prop([flags, built])("no effect ⇔ in force and not built", (f, b) => {
    const r = resolvePhases(f, b);
    expect(r.noEffect).toEqual(PHASES.filter((p) => r.inForce[p] && !b.includes(p)));
  });

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
