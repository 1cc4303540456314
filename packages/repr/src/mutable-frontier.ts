/**
 * Frontiers that are the minimum over many parts.
 *
 * `MutableFrontier` is a multiset of times (timely's `MutableAntichain` for a total order): each
 * holder of a capability adds `+1` at its time and `-1` when it lets go; the frontier is the least
 * time with a positive count, or empty when none remains. Counts never go negative (a bug).
 *
 * `PartitionedFrontier` is the common case of N parts (workers, replicas, shards): each part has
 * its own monotone frontier, and the joint frontier is their meet. `set()` says whether the joint
 * frontier strictly advanced — the rule for reporting a merged frontier exactly once per advance
 * (shared/design.md §4).
 */
import { FrontierRegression, InvariantViolation } from "./errors.js";
import { Frontier } from "./frontier.js";
import type { Timestamp } from "./timestamp.js";

/** A multiset of times whose frontier is the least time with a positive count. */
export class MutableFrontier {
  /** time → count (> 0); entries reaching zero are deleted. */
  readonly #counts = new Map<Timestamp, number>();
  /** Cached least time, or undefined when it must be recomputed. */
  #min: Timestamp | null | undefined = null;

  /** Adds `diff` to the count at `time`. @throws InvariantViolation if a count goes negative. */
  update(time: Timestamp, diff: number): void {
    if (diff === 0) return;
    const next = (this.#counts.get(time) ?? 0) + diff;
    if (next < 0) {
      throw new InvariantViolation(`MutableFrontier count at ${time} went negative (${next})`);
    }
    if (next === 0) {
      this.#counts.delete(time);
      if (this.#min === time) this.#min = undefined;
    } else {
      this.#counts.set(time, next);
      if (this.#min !== undefined && (this.#min === null || time < this.#min)) this.#min = time;
    }
  }

  /** The least time with a positive count, or the empty frontier. */
  frontier(): Frontier {
    if (this.#min === undefined) {
      let min: Timestamp | null = null;
      for (const t of this.#counts.keys()) if (min === null || t < min) min = t;
      this.#min = min;
    }
    return this.#min;
  }

  /** Number of distinct times held. */
  get size(): number {
    return this.#counts.size;
  }
}

/** The meet of N parts' frontiers, each of which only advances. */
export class PartitionedFrontier {
  /** Per part: its current frontier (starts at `initial`). */
  readonly #parts: Frontier[];
  /** Multiset over the non-empty part frontiers. */
  readonly #multiset = new MutableFrontier();
  /** The joint frontier last returned as advanced. */
  #joint: Frontier;
  readonly #what: string;

  constructor(what: string, parts: number, initial: Frontier = Frontier.MIN) {
    if (!Number.isInteger(parts) || parts < 1) {
      throw new InvariantViolation(`PartitionedFrontier needs at least one part, got ${parts}`);
    }
    this.#what = what;
    this.#parts = new Array<Frontier>(parts).fill(initial);
    if (initial !== null) this.#multiset.update(initial, parts);
    this.#joint = initial;
  }

  /** The joint frontier (meet over parts). */
  get frontier(): Frontier {
    return this.#joint;
  }

  /** Part `i`'s frontier. */
  part(i: number): Frontier {
    const f = this.#parts[i];
    if (f === undefined) throw new InvariantViolation(`${this.#what}: no part ${i}`);
    return f;
  }

  get parts(): number {
    return this.#parts.length;
  }

  /**
   * Sets part `i`'s frontier. Returns the new joint frontier if it strictly advanced, else
   * `undefined`.
   * @throws FrontierRegression when part `i` would move backward.
   */
  set(i: number, f: Frontier): Frontier | undefined {
    const old = this.part(i);
    if (old === f) return undefined;
    if (!Frontier.lessEqual(old, f)) {
      throw new FrontierRegression(`${this.#what} part ${i}`, old, f);
    }
    this.#parts[i] = f;
    if (old !== null) this.#multiset.update(old, -1);
    if (f !== null) this.#multiset.update(f, 1);
    const joint = this.#multiset.frontier();
    if (joint === this.#joint) return undefined;
    this.#joint = joint;
    return joint;
  }

  /** True when every part is empty. */
  get isEmpty(): boolean {
    return this.#joint === null;
  }
}
