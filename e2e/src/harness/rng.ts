/**
 * A seeded pseudo-random generator (mulberry32) for `pnpm chaos`: the same seed gives the same
 * sequence of kill kinds, gaps and DDL delays, so a failing run names the seed that reproduces
 * its schedule (process timing still varies from run to run).
 */
export class Rng {
  #state: number;

  constructor(seed: number) {
    this.#state = seed >>> 0;
  }

  /** Uniform in [0, 1). */
  next(): number {
    this.#state = (this.#state + 0x6d2b79f5) >>> 0;
    let t = this.#state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** Uniform in [min, max). */
  between(min: number, max: number): number {
    return min + (max - min) * this.next();
  }

  /** One of `choices`, picked with the given weights. */
  weighted<T>(choices: ReadonlyArray<readonly [T, number]>): T {
    const total = choices.reduce((s, [, w]) => s + w, 0);
    let x = this.next() * total;
    for (const [c, w] of choices) {
      x -= w;
      if (x < 0) return c;
    }
    return (choices[choices.length - 1] as readonly [T, number])[0];
  }
}
