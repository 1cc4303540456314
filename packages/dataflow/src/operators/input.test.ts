import { FrontierRegression } from "@mzts/repr";
import { describe, expect, it } from "vitest";
import { InvalidUpdate, UnknownImport, UpdateBeforeFrontier } from "../errors.js";
import { createGraph } from "../graph.js";
import { render } from "../render.js";
import { createInput } from "./input.js";

describe("InputHandle", () => {
  it("refuses updates behind the frontier, bad times and diffs, and frontier regressions", () => {
    const g = createGraph();
    const i = createInput(g, "u1");
    i.advanceTo(5n);
    expect(() => i.send([[["a"], 4n, 1]])).toThrow(UpdateBeforeFrontier);
    expect(() => i.send([[["a"], -1n, 1]])).toThrow(InvalidUpdate);
    expect(() => i.send([[["a"], 5n, 0.5]])).toThrow(InvalidUpdate);
    expect(() => i.advanceTo(4n)).toThrow(FrontierRegression);
    i.close();
    expect(() => i.send([[["a"], 9n, 1]])).toThrow(UpdateBeforeFrontier);
  });

  it("render refuses unknown imports", () => {
    const g = createGraph();
    expect(() => render(g, { kind: "get", id: "u9", arity: 1 }, { imports: {} })).toThrow(
      UnknownImport,
    );
  });
});
