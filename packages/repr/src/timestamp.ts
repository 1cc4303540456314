/**
 * Timestamps: `bigint` milliseconds since the Unix epoch with u64 semantics, totally ordered.
 *
 * `bigint` (not `number`) so that every u64 value, including `Timestamp.MAX`, is exact.
 */
import { InvalidTimestamp } from "./errors.js";

/** Milliseconds since the Unix epoch, in `[0, 2^64)`. */
export type Timestamp = bigint;

const MAX = (1n << 64n) - 1n;

export const Timestamp = {
  /** The least timestamp. */
  MIN: 0n as Timestamp,
  /** The greatest timestamp (u64::MAX). */
  MAX: MAX as Timestamp,
  /** True when `v` is a bigint in `[0, 2^64)`. */
  is(v: unknown): v is Timestamp {
    return typeof v === "bigint" && v >= 0n && v <= MAX;
  },
  /**
   * Returns `v` as a timestamp.
   * @throws InvalidTimestamp when `v` is not a bigint in range.
   */
  check(v: unknown): Timestamp {
    if (typeof v !== "bigint" || v < 0n || v > MAX) throw new InvalidTimestamp(v);
    return v;
  },
  /** Parses a decimal string (the protobuf JSON form of uint64). @throws InvalidTimestamp */
  parse(s: string): Timestamp {
    if (!/^[0-9]{1,20}$/.test(s)) throw new InvalidTimestamp(s);
    return Timestamp.check(BigInt(s));
  },
  /** The current wall-clock time. */
  now(): Timestamp {
    return BigInt(Date.now());
  },
  /** The smaller of two timestamps. */
  min(a: Timestamp, b: Timestamp): Timestamp {
    return a < b ? a : b;
  },
  /** The larger of two timestamps. */
  max(a: Timestamp, b: Timestamp): Timestamp {
    return a > b ? a : b;
  },
  /** `t` rounded up to the next multiple of `interval` (t itself if already a multiple). */
  roundUp(t: Timestamp, interval: bigint): Timestamp {
    if (interval <= 0n) return t;
    const r = t % interval;
    return r === 0n ? t : t + (interval - r);
  },
} as const;
