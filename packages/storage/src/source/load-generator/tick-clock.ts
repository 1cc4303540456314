/**
 * The tick clock: the mapping between a load generator's logical ticks and timestamps.
 *
 * Tick `n` (n >= 0) happens at time `startMs + n * intervalMs`. Every update a generator emits
 * for tick `n` carries that time, and generators that put times into rows (auction `end_time`,
 * `bid_time`) derive them from the same mapping, so a generator's output is a pure function of
 * `(spec, seed, clock, tick)`.
 *
 * ## Two modes, one mapping
 * - **Deterministic mode** (tests, flag-off/flag-on comparisons, design §5): `startMs` is fixed by
 *   the test and the caller drives ticks explicitly (`updatesBetween(gen, 0n, 10n)`); nothing
 *   reads the wall clock, so two runs produce identical data at identical timestamps.
 * - **Real-time mode**: `startMs` is still fixed once, when the ingestion is created, and travels
 *   with the ingestion's command so every replica uses the same clock; only *when* ticks are
 *   emitted follows the wall clock: at wall time `now`, ticks `[0, ticksDue(now))` are due and the
 *   driver sleeps `nextTickDelayMs(now)` before the next one. Because the data never depends on
 *   when it was computed, replicas racing to compare-and-append write identical batches.
 *
 * ## Resume rule (no duplicates, no gaps)
 * A shard whose upper is `u` holds every update at a time `< u` and none at a time `>= u`. The ticks
 * with `timeAt(n) < u` are therefore written and the rest are not, so an ingestion resumes at
 * `firstTickAtOrAfter(u)`. After writing ticks `[from, to)` the new upper is `upperAfter(to)` =
 * `timeAt(to)`, and `firstTickAtOrAfter(upperAfter(to)) === to`. This needs `intervalMs >= 1`
 * (distinct ticks have distinct times).
 */
import { Timestamp } from "@mzts/repr";
import { InvalidSourceSpec, InvalidTick } from "../../errors.js";

/** The plain-data form of a tick clock (what a command carries). */
export interface TickClockSpec {
  /** Time of tick 0, in ms since the Unix epoch. */
  readonly startMs: bigint;
  /** Time between consecutive ticks, in ms; at least 1. */
  readonly intervalMs: bigint;
}

/** Maps ticks to times and back. Immutable. */
export class TickClock implements TickClockSpec {
  /** Time of tick 0. */
  readonly startMs: Timestamp;
  /** Time between ticks (>= 1). */
  readonly intervalMs: bigint;

  /**
   * A clock from its plain-data form.
   * @throws InvalidSourceSpec when `startMs` is not a timestamp or `intervalMs` is below 1.
   */
  constructor(spec: TickClockSpec) {
    if (!Timestamp.is(spec.startMs)) {
      throw new InvalidSourceSpec(
        "clock.startMs",
        spec.startMs,
        "a bigint timestamp in [0, 2^64) (ms since the Unix epoch)",
      );
    }
    if (typeof spec.intervalMs !== "bigint" || spec.intervalMs < 1n) {
      throw new InvalidSourceSpec(
        "clock.intervalMs",
        spec.intervalMs,
        "a bigint of at least 1n (ms between ticks)",
      );
    }
    this.startMs = spec.startMs;
    this.intervalMs = spec.intervalMs;
  }

  /** The plain-data form. */
  toSpec(): TickClockSpec {
    return { startMs: this.startMs, intervalMs: this.intervalMs };
  }

  /**
   * The time of tick `tick`: `startMs + tick * intervalMs`.
   * @throws InvalidTick when `tick` is negative or its time is beyond `Timestamp.MAX`.
   */
  timeAt(tick: bigint): Timestamp {
    checkTick(tick);
    const t = this.startMs + tick * this.intervalMs;
    if (t > Timestamp.MAX) {
      throw new InvalidTick(tick, "its time is beyond the largest timestamp; use a smaller tick");
    }
    return t;
  }

  /**
   * The last tick at or before `time`, or `undefined` when `time` is before tick 0. Inverse of
   * `timeAt`: `tickAt(timeAt(n)) === n`, and `timeAt(tickAt(t)) <= t < timeAt(tickAt(t) + 1)`.
   */
  tickAt(time: Timestamp): bigint | undefined {
    if (time < this.startMs) return undefined;
    return (time - this.startMs) / this.intervalMs;
  }

  /**
   * The first tick whose time is at or after `upper`: where an ingestion resumes when its shard's
   * upper is `upper` (every earlier tick has a time `< upper`, so it is already written).
   */
  firstTickAtOrAfter(upper: Timestamp): bigint {
    if (upper <= this.startMs) return 0n;
    const d = upper - this.startMs;
    return (d + this.intervalMs - 1n) / this.intervalMs;
  }

  /**
   * The shard upper after ticks `[.., toTick)` are written: `timeAt(toTick)`, the least time no
   * written tick occupies. `firstTickAtOrAfter(upperAfter(n)) === n`.
   * @throws InvalidTick as `timeAt`.
   */
  upperAfter(toTick: bigint): Timestamp {
    return this.timeAt(toTick);
  }

  /**
   * Real-time mode: how many ticks are due at wall time `nowMs`, i.e. ticks `[0, result)` have
   * times `<= nowMs`. A driver emits `[firstTickAtOrAfter(upper), ticksDue(now))`.
   */
  ticksDue(nowMs: Timestamp): bigint {
    const last = this.tickAt(nowMs);
    return last === undefined ? 0n : last + 1n;
  }

  /** Real-time mode: milliseconds from `nowMs` until the next tick is due (>= 1). */
  nextTickDelayMs(nowMs: Timestamp): bigint {
    return this.timeAt(this.ticksDue(nowMs)) - nowMs;
  }
}

/** @throws InvalidTick when `tick` is not a non-negative bigint. */
export function checkTick(tick: bigint): void {
  if (typeof tick !== "bigint" || tick < 0n) {
    throw new InvalidTick(tick, "ticks are bigints >= 0n (tick 0 carries the initial snapshot)");
  }
}
