import { describe, expect, it } from "vitest";
import { buildPeek } from "./peek-command.js";

describe("buildPeek", () => {
  it("fills in every column, unfiltered, unordered, unlimited", () => {
    const p = buildPeek("u", { target: "u1", timestamp: 7n }, 3);
    expect(p).toEqual({
      uuid: "u",
      target: { kind: "index", id: "u1" },
      arity: 3,
      timestamp: 7n,
      mapFilterProject: { exprs: [], predicates: [], projection: [0, 1, 2] },
      finishing: { orderBy: [], offset: 0, project: [0, 1, 2] },
    });
    const narrowed = buildPeek(
      "v",
      {
        target: "u1",
        timestamp: 7n,
        mapFilterProject: { exprs: [], predicates: [], projection: [2] },
      },
      3,
    );
    expect(narrowed.finishing).toEqual({ orderBy: [], offset: 0, project: [0] });
  });

  it("shares frozen defaults between peeks of one width (no arrays per peek)", () => {
    const a = buildPeek("a", { target: "u1", timestamp: 1n }, 4);
    const b = buildPeek("b", { target: "u2", timestamp: 2n }, 4);
    expect(b.mapFilterProject).toBe(a.mapFilterProject);
    expect(b.finishing).toBe(a.finishing);
    expect(Object.isFrozen(a.mapFilterProject.projection)).toBe(true);
    expect(Object.isFrozen(a.finishing.project)).toBe(true);
    expect(buildPeek("c", { target: "u1", timestamp: 1n }, 5).mapFilterProject.projection).toEqual([
      0, 1, 2, 3, 4,
    ]);
  });
});
