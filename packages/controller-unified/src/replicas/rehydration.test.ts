/**
 * The unified rehydration policy on a fake clock: at once after a long run, crash loops backed
 * off (doubling to the cap, jittered), cancel drops a pending respawn, and bad tuning is refused.
 */
import { describe, expect, it, vi } from "vitest";
import { InvalidBackoff } from "../errors.js";
import { createRehydrationPolicy, DEFAULT_REHYDRATION } from "./rehydration.js";

describe("rehydration policy", () => {
  it("respawns at once after a long run, backs off quick failures, and resets", () => {
    vi.useFakeTimers();
    try {
      let now = 0;
      const r = createRehydrationPolicy(DEFAULT_REHYDRATION, {
        now: () => now,
        random: () => 0.5, // no jitter at the midpoint
      }).forReplica();
      let respawns = 0;
      const respawn = () => {
        respawns++;
        r.started();
      };
      r.started();
      now += 60_000; // a long run, then a crash: at once, synchronously
      expect(r.failed(respawn)).toBe(0);
      expect(respawns).toBe(1);
      const delays: number[] = [];
      for (let i = 0; i < 8; i++) {
        now += 100; // each incarnation fails 100 ms after its start
        const d = r.failed(respawn);
        delays.push(d);
        now += d;
        vi.advanceTimersByTime(d);
      }
      expect(delays).toEqual([0, 125, 250, 500, 1000, 2000, 4000, 5000]);
      expect(respawns).toBe(9);
      expect(r.quickFailures).toBe(8);
      now += 5000; // ran long enough: the loop is over
      expect(r.failed(respawn)).toBe(0);
      expect(r.quickFailures).toBe(0);
    } finally {
      vi.useRealTimers();
    }
  });

  it("jitters crash-loop pauses by ±20 % and cancel drops a pending respawn", () => {
    vi.useFakeTimers();
    try {
      const lo = createRehydrationPolicy(DEFAULT_REHYDRATION, { now: () => 0, random: () => 0 });
      const hi = createRehydrationPolicy(DEFAULT_REHYDRATION, {
        now: () => 0,
        random: () => 0.999,
      });
      const a = lo.forReplica();
      const b = hi.forReplica();
      let ran = 0;
      a.failed(() => {});
      b.failed(() => {});
      expect(a.failed(() => ran++)).toBe(100);
      expect(b.failed(() => ran++)).toBe(150);
      expect(a.pending && b.pending).toBe(true);
      a.cancel();
      b.cancel();
      vi.advanceTimersByTime(10_000);
      expect(ran).toBe(0);
      expect(a.pending || b.pending).toBe(false);
    } finally {
      vi.useRealTimers();
    }
  });

  it("refuses a backoff out of range", () => {
    expect(() =>
      createRehydrationPolicy({
        quickFailureMs: 1,
        backoff: { initialMs: 0, maxMs: 1, jitter: 0 },
      }),
    ).toThrow(InvalidBackoff);
  });
});
