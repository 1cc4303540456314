/**
 * `MaintenanceTimer` never forgets a request (issue 16's unanswered-peek hunt: "a timer that
 * believes it is armed"): over any sequence of requests (some from inside a run), clock advances
 * and run results (nothing, a delay, `Infinity`, a throw), every request is followed by a run no
 * later than `max(request time, last run + interval)` (+1 ms: delays are whole milliseconds), and
 * whenever the timer says it is armed a timer or an immediate really is pending. On vitest's fake
 * clock (timers and immediates).
 */
import { fc, test } from "@fast-check/vitest";
import { afterEach, describe, expect, vi } from "vitest";
import { MaintenanceTimer } from "./maintenance-timer.js";

const INTERVAL = 10;

type Op =
  | { readonly kind: "request" }
  | { readonly kind: "advance"; readonly ms: number }
  | { readonly kind: "immediates" };
type RunResult = "nothing" | "infinity" | "throw" | { readonly due: number };

const op: fc.Arbitrary<Op> = fc.oneof(
  fc.constant({ kind: "request" } as const),
  fc.record({ kind: fc.constant("advance" as const), ms: fc.integer({ min: 0, max: 25 }) }),
  fc.constant({ kind: "immediates" } as const),
);
const runResult: fc.Arbitrary<RunResult> = fc.oneof(
  fc.constant("nothing" as const),
  fc.constant("infinity" as const),
  fc.constant("throw" as const),
  fc.record({ due: fc.integer({ min: 0, max: 30 }) }),
);

describe("MaintenanceTimer (property)", () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  test.prop([
    fc.array(op, { maxLength: 80 }),
    fc.array(runResult, { minLength: 1, maxLength: 10 }),
    fc.array(fc.boolean(), { minLength: 1, maxLength: 10 }),
  ])(
    "every request is followed by a run in time; armed means really pending",
    (ops, results, requestInRun) => {
      vi.useFakeTimers();
      vi.setSystemTime(0);
      const runs: number[] = [];
      /** Requests not yet followed by a run: the latest time a run may come for each. */
      let owed: number[] = [];
      let lastRun = Number.NEGATIVE_INFINITY;
      let timer: MaintenanceTimer | undefined;
      /** At the end, runs stop asking again, so what is owed can be settled. */
      let draining = false;
      const request = () => {
        owed.push(Math.max(Date.now(), lastRun + INTERVAL) + 1);
        timer!.request();
      };
      timer = new MaintenanceTimer({
        intervalMs: INTERVAL,
        now: () => Date.now(),
        run: () => {
          const i = runs.length;
          const now = Date.now();
          for (const by of owed) expect(now).toBeLessThanOrEqual(by);
          owed = [];
          runs.push(now);
          lastRun = now;
          // A run may itself ask again (a workload whose maintenance made more work).
          if (!draining && requestInRun[i % requestInRun.length]) request();
          const r = results[i % results.length]!;
          // The workload's maintain never throws; the timer stays usable if it does (`step`).
          if (r === "throw") throw new Error("maintain failed");
          return r === "nothing" ? undefined : r === "infinity" ? Number.POSITIVE_INFINITY : r.due;
        },
      });
      const step = (f: () => void) => {
        try {
          f();
        } catch (e) {
          if ((e as Error).message !== "maintain failed") throw e;
        }
      };
      for (const o of ops) {
        if (o.kind === "request") request();
        else if (o.kind === "advance") step(() => vi.advanceTimersByTime(o.ms));
        else step(() => vi.runOnlyPendingTimers());
        if (timer.armed) expect(vi.getTimerCount()).toBeGreaterThan(0);
        // Nothing owed is overdue at this moment either.
        for (const by of owed) expect(Date.now()).toBeLessThanOrEqual(by);
      }
      // Let everything owed run: every request gets its run, in time.
      draining = true;
      for (let i = 0; i < 20 && owed.length > 0; i++) step(() => vi.advanceTimersByTime(INTERVAL));
      expect(owed).toEqual([]);
      timer.close();
      expect(vi.getTimerCount()).toBe(0);
    },
  );
});
