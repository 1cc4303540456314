/**
 * Unit tests of `TickClock`: the tick ↔ time mapping, resume points, real-time due ticks and
 * validation. The inverse laws over random clocks are in `tick-clock.property.test.ts`.
 */
import { Timestamp } from "@mzts/repr";
import { describe, expect, it } from "vitest";
import { InvalidSourceSpec, InvalidTick, StorageError } from "../../errors.js";
import { TickClock } from "./tick-clock.js";

describe("TickClock", () => {
  const clock = new TickClock({ startMs: 1_000n, intervalMs: 250n });

  it("maps tick n to startMs + n * intervalMs", () => {
    expect(clock.timeAt(0n)).toBe(1_000n);
    expect(clock.timeAt(1n)).toBe(1_250n);
    expect(clock.timeAt(8n)).toBe(3_000n);
  });

  it("tickAt is the last tick at or before a time", () => {
    expect(clock.tickAt(999n)).toBeUndefined();
    expect(clock.tickAt(1_000n)).toBe(0n);
    expect(clock.tickAt(1_249n)).toBe(0n);
    expect(clock.tickAt(1_250n)).toBe(1n);
  });

  it("resumes at the first tick whose time is at or after the upper", () => {
    expect(clock.firstTickAtOrAfter(0n)).toBe(0n);
    expect(clock.firstTickAtOrAfter(1_000n)).toBe(0n);
    expect(clock.firstTickAtOrAfter(1_001n)).toBe(1n);
    expect(clock.firstTickAtOrAfter(1_250n)).toBe(1n);
    expect(clock.firstTickAtOrAfter(1_251n)).toBe(2n);
    expect(clock.upperAfter(3n)).toBe(1_750n);
    expect(clock.firstTickAtOrAfter(clock.upperAfter(3n))).toBe(3n);
  });

  it("real-time mode: ticks due at a wall time and the delay to the next one", () => {
    expect(clock.ticksDue(0n)).toBe(0n);
    expect(clock.nextTickDelayMs(0n)).toBe(1_000n);
    expect(clock.ticksDue(1_000n)).toBe(1n);
    expect(clock.nextTickDelayMs(1_000n)).toBe(250n);
    expect(clock.ticksDue(1_600n)).toBe(3n);
    expect(clock.nextTickDelayMs(1_600n)).toBe(150n);
  });

  it("rejects a zero or negative interval, naming the field", () => {
    expect(() => new TickClock({ startMs: 0n, intervalMs: 0n })).toThrow(InvalidSourceSpec);
    try {
      new TickClock({ startMs: 0n, intervalMs: -5n });
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(StorageError);
      expect((e as InvalidSourceSpec).field).toBe("clock.intervalMs");
    }
  });

  it("rejects a start time that is not a timestamp", () => {
    expect(() => new TickClock({ startMs: -1n, intervalMs: 1n })).toThrow(/clock\.startMs/);
    expect(() => new TickClock({ startMs: 5 as unknown as bigint, intervalMs: 1n })).toThrow(
      InvalidSourceSpec,
    );
  });

  it("rejects negative ticks and ticks whose time overflows u64", () => {
    expect(() => clock.timeAt(-1n)).toThrow(InvalidTick);
    const late = new TickClock({ startMs: Timestamp.MAX - 10n, intervalMs: 5n });
    expect(late.timeAt(2n)).toBe(Timestamp.MAX);
    expect(() => late.timeAt(3n)).toThrow(InvalidTick);
  });
});
