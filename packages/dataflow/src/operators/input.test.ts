import { FrontierRegression } from "@mzts/repr";
import { describe, expect, it } from "vitest";
import type { Batch } from "../batch.js";
import { InvalidUpdate, UnknownImport, UpdateBeforeFrontier } from "../errors.js";
import { createGraph } from "../graph.js";
import { render } from "../render.js";
import { batchOf, createInput } from "./input.js";

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

describe("InputHandle.sendBatch", () => {
  it("sends one batch to several inputs as it is, checked against each input's frontier", () => {
    const batch = batchOf([
      [["a"], 5n, 1],
      [["b"], 5n, 0],
      [["c"], 6n, -1],
    ]);
    expect(batch.rows).toEqual([["a"], ["c"]]);
    const seen: Batch[] = [];
    for (let k = 0; k < 2; k++) {
      const g = createGraph();
      const i = createInput(g, `u${k}`);
      const port = i.output.connect();
      i.advanceTo(5n);
      i.sendBatch(batch);
      seen.push(...port.takeBatches());
    }
    expect(seen).toEqual([batch, batch]);
    expect(seen[0]).toBe(seen[1]);
    const late = createInput(createGraph(), "late");
    late.advanceTo(6n);
    expect(() => late.sendBatch(batch)).toThrow(UpdateBeforeFrontier);
    expect(() => late.sendBatch(batchOf([[["a"], 7n, 0.5]]))).toThrow(InvalidUpdate);
  });
});

describe("InputPort", () => {
  it("hands over one batch per take, and every batch when several came", () => {
    const g = createGraph();
    const i = createInput(g, "u");
    const port = i.output.connect();
    for (let t = 0n; t < 3n; t++) {
      i.send([[[`a${t}`], t, 1]]);
      const got = port.takeBatches();
      expect(got.map((b) => b.rows[0]![0])).toEqual([`a${t}`]);
      expect(port.takeBatches()).toHaveLength(0);
    }
    i.send([[["x"], 3n, 1]]);
    i.send([[["y"], 3n, 1]]);
    i.send([[["z"], 3n, 1]]);
    expect(port.takeBatches().map((b) => b.rows[0]![0])).toEqual(["x", "y", "z"]);
    i.send([[["w"], 3n, 1]]);
    expect(port.takeBatches().map((b) => b.rows[0]![0])).toEqual(["w"]);
  });
});
