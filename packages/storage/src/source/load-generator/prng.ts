/**
 * A small keyed pseudo-random generator (SplitMix64) for load generators.
 *
 * Generators never keep a random state across ticks: every draw comes from a fresh stream keyed
 * by `(seed, stream, key)` (`key` is usually the tick), so the values of tick `n` are computable
 * without replaying ticks `0..n-1` and do not depend on the order in which other streams are
 * drawn. The key is folded in with the SplitMix64 finaliser, which is a bijection on 64 bits, so
 * distinct keys give unrelated streams.
 *
 * Arithmetic is on `bigint` masked to 64 bits: exact, and identical in every process.
 */

const MASK64 = (1n << 64n) - 1n;
const GOLDEN = 0x9e3779b97f4a7c15n;

/** The SplitMix64 finaliser: a 64-bit bijection with good avalanche. */
export function mix64(x: bigint): bigint {
  let z = x & MASK64;
  z = ((z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n) & MASK64;
  z = ((z ^ (z >> 27n)) * 0x94d049bb133111ebn) & MASK64;
  return z ^ (z >> 31n);
}

/** A SplitMix64 stream. Mutable, but only ever used within one tick's computation. */
export class SplitMix64 {
  #state: bigint;

  constructor(seed: bigint) {
    this.#state = seed & MASK64;
  }

  /** The stream for `(seed, stream, key)`: independent of every other triple. */
  static keyed(seed: bigint, stream: number, key: bigint): SplitMix64 {
    const s = mix64(mix64(seed ^ (BigInt(stream) * GOLDEN)) ^ (key & MASK64));
    return new SplitMix64(s);
  }

  /** The next 64-bit value. */
  nextU64(): bigint {
    this.#state = (this.#state + GOLDEN) & MASK64;
    return mix64(this.#state);
  }

  /** A value in `[0, bound)` for `1 <= bound < 2^32` (multiply-shift; bias below 2^-32). */
  int(bound: number): number {
    return Number((this.nextU64() * BigInt(bound)) >> 64n);
  }

  /** A value in `[lo, hi]` (inclusive). */
  range(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1);
  }

  /** One element of a non-empty list. */
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)] as T;
  }
}
