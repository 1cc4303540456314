/**
 * Properties of releasing stashed subscribe runs (`consolidated-runs.ts`): whatever the runs —
 * consolidated by the parts or not, sharing rows or not, with rows that compare equal in another
 * representation (int64 5 and float 5) — the released updates are exactly, element by element and
 * in order, `consolidateUpdates` of the updates below the upper, and the kept runs hold exactly
 * the rest. And the subscribe merge of `PartitionedComputeState` releases what the unoptimized
 * merge (stash everything, split, consolidate) releases.
 */
import { fc, test } from "@fast-check/vitest";
import { consolidateUpdates, type Datum, Frontier, type Update } from "@mzts/repr";
import { describe, expect } from "vitest";
import { isStrictlyConsolidated, releaseRuns } from "./consolidated-runs.js";
import { PartitionedComputeState } from "./partitioned-state.js";
import type { ComputeResponse } from "./response.js";

/** Few distinct values, so runs share rows; 5n and 5 compare equal with different keys. */
const datum: fc.Arbitrary<Datum> = fc.constantFrom<Datum>(5n, 5, 7n, "a", "b", null, -0, 0);
const update: fc.Arbitrary<Update> = fc.tuple(
  fc.array(datum, { minLength: 1, maxLength: 2 }),
  fc.bigInt({ min: 0n, max: 6n }),
  fc.integer({ min: -2, max: 2 }),
);
/** A run: raw, or consolidated as a worker sends it. */
const run: fc.Arbitrary<readonly Update[]> = fc.oneof(
  fc.array(update, { maxLength: 8 }),
  fc.array(update, { maxLength: 12 }).map(consolidateUpdates),
);
const upper: fc.Arbitrary<Frontier> = fc.option(fc.bigInt({ min: 0n, max: 7n }), { nil: null });

const reference = (runs: readonly (readonly Update[])[], f: Frontier) =>
  consolidateUpdates(runs.flat().filter((u) => !Frontier.includes(f, u[1])));

describe("releaseRuns", () => {
  test.prop([fc.array(run, { maxLength: 4 }), upper])(
    "equals consolidateUpdates of the updates below the upper, in order; keeps the rest",
    (runs, f) => {
      const { out, keep } = releaseRuns(runs, f);
      expect(out).toEqual(reference(runs, f));
      // Element identity too: `toEqual` treats 5n and 5 as different already; -0 and 0 not.
      expect(out.map((u) => u[0].map((d) => Object.is(d, -0)))).toEqual(
        reference(runs, f).map((u) => u[0].map((d) => Object.is(d, -0))),
      );
      const kept = keep.flat();
      expect(kept.every((u) => Frontier.includes(f, u[1]))).toBe(true);
      expect(consolidateUpdates(kept)).toEqual(
        consolidateUpdates(runs.flat().filter((u) => Frontier.includes(f, u[1]))),
      );
    },
  );

  test.prop([fc.array(update, { maxLength: 12 })])(
    "consolidateUpdates' output is strictly consolidated unless rows tie by compare",
    (us) => {
      const c = consolidateUpdates(us);
      const { out } = releaseRuns([c], null);
      expect(out).toEqual(c);
      if (c.length > 0 && isStrictlyConsolidated(c)) expect(out).toBe(c);
    },
  );
});

/** The least of `times` (bigints: no `Math.min`). */
function meetOf(times: readonly bigint[]): bigint {
  let m = times[0] as bigint;
  for (const t of times) if (t < m) m = t;
  return m;
}

/** The merge before issue 16's change: stash every update, split at the meet, consolidate. */
function referenceMerge(parts: number, batches: readonly (readonly [number, Update[], bigint])[]) {
  const uppers = new Array<bigint>(parts).fill(0n);
  let stash: Update[] = [];
  let released = 0n;
  const out: { lower: bigint; upper: bigint; updates: Update[] }[] = [];
  for (const [part, updates, upper] of batches) {
    stash.push(...updates);
    const before = meetOf(uppers);
    uppers[part] = upper;
    const meet = meetOf(uppers);
    if (meet <= before) continue;
    out.push({
      lower: released,
      upper: meet,
      updates: consolidateUpdates(stash.filter((u) => u[1] < meet)),
    });
    stash = stash.filter((u) => u[1] >= meet);
    released = meet;
  }
  return out;
}

describe("subscribe merge", () => {
  test.prop([
    fc.integer({ min: 1, max: 3 }).chain((parts) =>
      fc.tuple(
        fc.constant(parts),
        fc.array(fc.tuple(fc.nat(parts - 1), fc.array(update, { maxLength: 6 }), fc.nat(3)), {
          maxLength: 10,
        }),
        fc.boolean(),
      ),
    ),
  ])("releases what the stash-split-consolidate merge releases", ([parts, steps, consolidate]) => {
    // Each part's batches advance its upper; updates lie in [its lower, its upper), as a worker's.
    const at = new Array<bigint>(parts).fill(0n);
    const batches: [number, Update[], bigint][] = [];
    for (const [part, raw, step] of steps) {
      const lower = at[part] as bigint;
      const upper = lower + BigInt(step + 1);
      const us = raw.map((u): Update => [u[0], lower + (u[1] % (upper - lower)), u[2]]);
      batches.push([part, consolidate ? consolidateUpdates(us) : us, upper]);
      at[part] = upper;
    }
    const s = new PartitionedComputeState(parts);
    const got = batches.flatMap(([part, updates, upper]) =>
      s.absorb(part, {
        kind: "subscribeResponse",
        id: "t1",
        response: {
          kind: "batch",
          lower: 0n,
          upper,
          result: { kind: "updates", updates },
        },
      }),
    );
    const want: ComputeResponse[] = referenceMerge(parts, batches).map((b) => ({
      kind: "subscribeResponse",
      id: "t1",
      response: {
        kind: "batch",
        lower: b.lower,
        upper: b.upper,
        result: { kind: "updates", updates: b.updates },
      },
    }));
    expect(got).toEqual(want);
  });
});
