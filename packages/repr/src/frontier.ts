/**
 * Frontiers over totally ordered timestamps.
 *
 * With totally ordered times a frontier (an antichain) is either one timestamp `t` — every time
 * `>= t` may still change, every time `< t` is final — or **empty**: nothing will ever change
 * again. We represent the empty frontier as `null` (not a symbol) so that frontiers survive
 * `structuredClone`/`postMessage` between worker threads and JSON round trips.
 *
 * Order: frontiers are ordered by how far they have advanced; the empty frontier is the greatest.
 * `Frontier.lessEqual(a, b)` means `b` is at or beyond `a`.
 *
 * `MonotoneFrontier` is the writer-side guard: every writer of a frontier holds one, and a
 * backward move throws `FrontierRegression` at the source (shared/style.md §23).
 */
import { FrontierRegression } from "./errors.js";
import type { Timestamp } from "./timestamp.js";

/** A timestamp (the least time that may still change) or `null` for the empty (closed) frontier. */
export type Frontier = Timestamp | null;

export const Frontier = {
  /** The empty frontier: closed, no time will change again. */
  EMPTY: null as Frontier,
  /** The least frontier: every time may still change. */
  MIN: 0n as Frontier,
  /** True for the empty frontier. */
  isEmpty(f: Frontier): f is null {
    return f === null;
  },
  /** `a <= b` in frontier order (the empty frontier is greatest). */
  lessEqual(a: Frontier, b: Frontier): boolean {
    if (b === null) return true;
    if (a === null) return false;
    return a <= b;
  },
  /** `a < b` in frontier order. */
  lessThan(a: Frontier, b: Frontier): boolean {
    return Frontier.lessEqual(a, b) && a !== b;
  },
  /** Equality of frontiers. */
  equal(a: Frontier, b: Frontier): boolean {
    return a === b;
  },
  /** The later of two frontiers (least upper bound). */
  join(a: Frontier, b: Frontier): Frontier {
    return Frontier.lessEqual(a, b) ? b : a;
  },
  /** The earlier of two frontiers (greatest lower bound). */
  meet(a: Frontier, b: Frontier): Frontier {
    return Frontier.lessEqual(a, b) ? a : b;
  },
  /** True when time `t` is not yet final under `f` (i.e. `f <= t`). */
  includes(f: Frontier, t: Timestamp): boolean {
    return f !== null && f <= t;
  },
  /** True when every time `< f` is readable below `upper`: `since <= t < upper`. */
  readable(since: Frontier, upper: Frontier, t: Timestamp): boolean {
    return since !== null && since <= t && (upper === null || t < upper);
  },
  /** `[t]` or `[]`, as frontiers are printed in logs and errors. */
  format(f: Frontier): string {
    return f === null ? "[]" : `[${f}]`;
  },
  /** Decimal string, or null for the empty frontier; the form used in JSON. */
  toJSON(f: Frontier): string | null {
    return f === null ? null : f.toString();
  },
} as const;

/**
 * A frontier that only moves forward. `advance()` throws `FrontierRegression` on a backward move;
 * `tryAdvance()` reports whether the frontier strictly advanced.
 */
export class MonotoneFrontier {
  /** The frontier in force; starts at the constructor argument, only ever advances. */
  #current: Frontier;
  readonly #what: string;

  constructor(what: string, initial: Frontier = Frontier.MIN) {
    this.#what = what;
    this.#current = initial;
  }

  get current(): Frontier {
    return this.#current;
  }

  /**
   * Moves the frontier to `to`. Returns true if it strictly advanced, false if unchanged.
   * @throws FrontierRegression when `to` is behind the current frontier.
   */
  advance(to: Frontier): boolean {
    if (to === this.#current) return false;
    if (!Frontier.lessEqual(this.#current, to)) {
      throw new FrontierRegression(this.#what, this.#current, to);
    }
    this.#current = to;
    return true;
  }
}
