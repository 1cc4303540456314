/**
 * The engine against the reference evaluator: for random valid plans and random update streams
 * (retractions, several times, frontier advances), on 1 and 4 workers with randomised exchange
 * delivery and partial scheduling, the output and error collections as of every time equal a
 * from-scratch evaluation of the plan on the inputs as of that time; output below a frontier
 * never changes afterwards; arrangements answer as-of reads before and after compaction, and
 * refuse reads outside `[since, upper)`.
 */
import { fc, test } from "@fast-check/vitest";
import { type Plan, validatePlan } from "@mzts/expr";
import { collectionAsOf, type Update } from "@mzts/repr";
import { describe, expect } from "vitest";
import { NotYetAvailable, SinceViolation } from "../src/index.js";
import { genPlan, genSteps, IMPORTS, type Step } from "./arbitraries.js";
import { buildCluster, canon, capturedAsOf, quiesce, stepSome } from "./harness.js";
import { type Collection, evaluate, type Result } from "./reference.js";

const IDS = Object.keys(IMPORTS);

function referenceAt(plan: Plan, steps: readonly Step[], t: bigint): Result {
  const inputs = new Map<string, Collection>();
  for (const id of IDS) {
    const ups: Update[] = steps.filter((s) => s.id === id).flatMap((s) => s.updates);
    inputs.set(id, collectionAsOf(ups, t));
  }
  return evaluate(plan, inputs);
}

function runCase(plan: Plan, steps: readonly Step[], workers: number, seed: number): void {
  const c = buildCluster(plan, IDS, workers, seed);
  const top = c.arrangements.map((a) => a[a.length - 1]!.arrangement);
  let maxTime = 0n;
  for (const s of steps) {
    if (s.advanceTo > maxTime) maxTime = s.advanceTo;
    for (const [, t] of s.updates) if (t > maxTime) maxTime = t;
  }
  let since = 0n;
  const readArrangement = (t: bigint) => top.flatMap((a) => a.asOf(t));
  for (const step of steps) {
    for (const u of step.updates) c.inputs[Math.floor(c.random() * workers)]![step.id]!.send([u]);
    for (const ins of c.inputs) ins[step.id]!.advanceTo(step.advanceTo);
    stepSome(c, Math.floor(c.random() * 3));
    if (c.random() < 0.3) {
      // Compact, then check reads in [since, upper) and refusals outside.
      const s = BigInt(Math.floor(c.random() * Number(maxTime + 1n)));
      if (s > since) since = s;
      for (const a of top) a.allowCompaction(since);
      let upper: bigint | null = null;
      for (const a of top) {
        const u = a.upper;
        if (u !== null && (upper === null || u < upper)) upper = u;
      }
      const end = upper ?? maxTime + 1n;
      for (let t = since; t < end; t++) {
        expect(canon(readArrangement(t)), `arrangement as of ${t} (since ${since})`).toEqual(
          canon(referenceAt(plan, steps, t).oks),
        );
      }
      if (since > 0n) expect(() => top[0]!.asOf(since - 1n)).toThrow(SinceViolation);
      if (upper !== null && upper >= since)
        expect(() => {
          for (const a of top) a.asOf(upper);
        }).toThrow(NotYetAvailable);
    }
  }
  for (const ins of c.inputs) for (const id of IDS) ins[id]!.close();
  quiesce(c);

  for (const cap of [...c.oks, ...c.errs]) expect(cap.frontier).toBeNull();
  for (const a of top) expect(a.upper).toBeNull();
  for (let t = 0n; t <= maxTime + 1n; t++) {
    const want = referenceAt(plan, steps, t);
    expect(canon(capturedAsOf(c.oks, t)), `oks as of ${t}`).toEqual(canon(want.oks));
    expect(canon(capturedAsOf(c.errs, t)), `errs as of ${t}`).toEqual(canon(want.errs));
    if (t >= since)
      expect(canon(readArrangement(t)), `arrangement as of ${t}`).toEqual(canon(want.oks));
  }
  // Finality: nothing arrived below a frontier after that frontier was announced.
  for (const [cap, f, held] of c.marks) {
    for (const [, t] of cap.updates.slice(held)) {
      expect(f === null || t >= f, `update at ${t} after frontier ${f}`).toBe(true);
    }
  }
  // Compaction after the end still answers every read at or beyond the new since.
  const last = maxTime;
  for (const a of top) a.allowCompaction(last);
  expect(canon(readArrangement(last + 1n))).toEqual(canon(referenceAt(plan, steps, last + 1n).oks));
  expect(canon(readArrangement(last))).toEqual(canon(referenceAt(plan, steps, last).oks));
}

describe("render vs reference", () => {
  test.prop([fc.gen(), fc.integer({ min: 0, max: 2 ** 31 - 1 })], { numRuns: 1000 })(
    "random plans and update streams, 1 and 4 workers",
    (g, seed) => {
      const { plan, types } = genPlan(g, 4);
      expect(validatePlan(plan)).toBe(types.length);
      const key = Array.from(
        { length: g(fc.integer, { min: 0, max: Math.min(2, types.length) }) },
        () => g(fc.integer, { min: 0, max: types.length - 1 }),
      );
      const wrapped: Plan = { kind: "arrangeBy", input: plan, key };
      const steps = genSteps(g, 10);
      for (const workers of [1, 4]) {
        try {
          runCase(wrapped, steps, workers, seed);
        } catch (e) {
          throw new Error(
            `workers=${workers}\nplan=${JSON.stringify(wrapped, (_k, v) => (typeof v === "bigint" ? `${v}n` : v))}\n${(e as Error).message}`,
          );
        }
      }
    },
    120_000,
  );
});
