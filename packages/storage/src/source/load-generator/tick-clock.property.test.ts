/**
 * Property tests of `TickClock`: `tickAt` inverts `timeAt`, `firstTickAtOrAfter` splits the
 * ticks exactly at an upper (written ticks below, unwritten at or above), and `ticksDue` counts
 * the ticks at or before a wall time.
 */
import { fc, test } from "@fast-check/vitest";
import { describe, expect } from "vitest";
import { TickClock } from "./tick-clock.js";

const clockArb = fc
  .record({
    startMs: fc.bigInt({ min: 0n, max: 1n << 45n }),
    intervalMs: fc.bigInt({ min: 1n, max: 100_000n }),
  })
  .map((s) => new TickClock(s));
const tickArb = fc.bigInt({ min: 0n, max: 1n << 20n });
const timeArb = fc.bigInt({ min: 0n, max: 1n << 46n });

describe("TickClock properties", () => {
  test.prop([clockArb, tickArb])("tickAt(timeAt(n)) === n", (clock, n) => {
    expect(clock.tickAt(clock.timeAt(n))).toBe(n);
  });

  test.prop([clockArb, timeArb])("tickAt brackets a time between two ticks", (clock, t) => {
    const n = clock.tickAt(t);
    if (n === undefined) {
      expect(t < clock.startMs).toBe(true);
    } else {
      expect(clock.timeAt(n) <= t).toBe(true);
      expect(t < clock.timeAt(n + 1n)).toBe(true);
    }
  });

  test.prop([clockArb, timeArb])(
    "firstTickAtOrAfter(upper): earlier ticks are below the upper, it is not (no dup, no gap)",
    (clock, upper) => {
      const k = clock.firstTickAtOrAfter(upper);
      expect(clock.timeAt(k) >= upper).toBe(true);
      if (k > 0n) expect(clock.timeAt(k - 1n) < upper).toBe(true);
    },
  );

  test.prop([clockArb, tickArb])("firstTickAtOrAfter(upperAfter(n)) === n", (clock, n) => {
    expect(clock.firstTickAtOrAfter(clock.upperAfter(n))).toBe(n);
  });

  test.prop([clockArb, timeArb])("ticksDue counts the ticks at or before now", (clock, now) => {
    const due = clock.ticksDue(now);
    if (due > 0n) expect(clock.timeAt(due - 1n) <= now).toBe(true);
    expect(clock.timeAt(due) > now).toBe(true);
    expect(clock.nextTickDelayMs(now)).toBe(clock.timeAt(due) - now);
  });
});
