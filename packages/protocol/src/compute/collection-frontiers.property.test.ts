/**
 * `CollectionFrontiers` against its model, three `@mzts/repr` `PartitionedFrontier`s (one per
 * kind): for any sequence of reports — advancing, repeated, regressing, empty — both return the
 * same advanced meets, throw `FrontierRegression` with the same message at the same report, and
 * agree on the meets and on emptiness after every report. Also: `PartitionedComputeState` passes
 * a report on as is only when it is exactly the merged one.
 */
import { fc, test } from "@fast-check/vitest";
import { type Frontier, FrontierRegression, PartitionedFrontier } from "@mzts/repr";
import { describe, expect } from "vitest";
import { CollectionFrontiers, type FrontierKind } from "./collection-frontiers.js";
import { PartitionedComputeState } from "./partitioned-state.js";
import type { ComputeResponse } from "./response.js";

const NAMES = ["write", "input", "output"] as const;
/** Small times so that reports collide, repeat and regress often. */
const time: fc.Arbitrary<Frontier> = fc.option(fc.bigInt({ min: 0n, max: 6n }), {
  nil: null,
  freq: 8,
});
const scenario = fc
  .integer({ min: 1, max: 4 })
  .chain((parts) =>
    fc.tuple(
      fc.constant(parts),
      fc.array(
        fc.tuple(
          fc.integer({ min: 0, max: parts - 1 }),
          fc.constantFrom<FrontierKind>(0, 1, 2),
          time,
        ),
        { maxLength: 60 },
      ),
    ),
  );

function outcome(f: () => Frontier | undefined): Frontier | undefined | string {
  try {
    return f();
  } catch (e) {
    expect(e).toBeInstanceOf(FrontierRegression);
    return (e as Error).message;
  }
}

/** The model: one `PartitionedFrontier` per kind of collection u7. */
const modelOf = (parts: number) =>
  NAMES.map((k) => new PartitionedFrontier(`u7 ${k} frontier`, parts));

describe("CollectionFrontiers", () => {
  test.prop([scenario], { numRuns: 500 })(
    "behaves as a PartitionedFrontier per kind",
    ([parts, reports]) => {
      const got = new CollectionFrontiers(parts);
      const model = modelOf(parts);
      for (const [part, kind, f] of reports) {
        expect(outcome(() => got.set("u7", kind, part, f))).toEqual(
          outcome(() => model[kind]!.set(part, f)),
        );
        for (const k of [0, 1, 2] as const) expect(got.frontier(k)).toBe(model[k]!.frontier);
        expect(got.isEmpty).toBe(model.every((m) => m.isEmpty));
      }
    },
  );
});

describe("PartitionedComputeState frontier reports", () => {
  test.prop([scenario], { numRuns: 300 })(
    "the merged report holds exactly the kinds whose meet advanced, at the meet",
    ([parts, reports]) => {
      const s = new PartitionedComputeState(parts);
      const model = modelOf(parts);
      for (const [part, kind, f] of reports) {
        const r: ComputeResponse = { kind: "frontiers", id: "u7", frontiers: { [NAMES[kind]]: f } };
        const want = outcome(() => model[kind]!.set(part, f));
        let out: ComputeResponse[] | string;
        try {
          out = s.absorb(part, r);
        } catch (e) {
          out = (e as Error).message;
        }
        if (typeof want === "string") expect(out).toBe(want);
        else if (want === undefined) expect(out).toEqual([]);
        else
          expect(out).toEqual([
            { kind: "frontiers", id: "u7", frontiers: { [NAMES[kind]]: want } },
          ]);
        // Once every kind is empty the collection is forgotten: a fresh state starts at the minimum.
        if (model.every((m) => m.isEmpty)) break;
      }
    },
  );

  test("a report is passed on as is only when it is the merged one", () => {
    const s = new PartitionedComputeState(2);
    const a: ComputeResponse = { kind: "frontiers", id: "u1", frontiers: { write: 5n, input: 5n } };
    expect(s.absorb(0, a)).toEqual([]);
    const b: ComputeResponse = { kind: "frontiers", id: "u1", frontiers: { write: 3n, input: 7n } };
    const [merged] = s.absorb(1, b);
    // input's meet advanced to 5 (part 0's), not to b's 7: a new response.
    expect(merged).toEqual({ kind: "frontiers", id: "u1", frontiers: { write: 3n, input: 5n } });
    expect(merged).not.toBe(b);
    const c: ComputeResponse = { kind: "frontiers", id: "u1", frontiers: { write: 4n } };
    const [same] = s.absorb(1, c);
    expect(same).toBe(c);
  });
});
