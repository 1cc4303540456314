/**
 * `CollectionFrontiers`: the meet over N parts (workers) of one collection's three frontiers
 * (write, input, output) — the frontier rule of `PartitionedComputeState` (issue 16).
 *
 * An idle replica with 1,000 indexes merges ~1,000 frontier reports a second per worker, so this
 * is the merge's hot path. It keeps the parts' frontiers of all three kinds in one flat array and
 * rescans a kind's W parts only when the part that moved held the meet (any other part moving
 * cannot change it): no per-report allocation, no multiset of times. With one part every advance
 * is the meet's. Semantics are those of `@mzts/repr` `PartitionedFrontier` per kind (every part
 * starts at the minimum, a backward move throws `FrontierRegression`, `set` returns the meet
 * only when it strictly advanced); `collection-frontiers.property.test.ts` checks them against it.
 */
import { Frontier, FrontierRegression, type GlobalId } from "@mzts/repr";

/** Kind indexes. */
export const WRITE = 0;
export const INPUT = 1;
export const OUTPUT = 2;
export type FrontierKind = typeof WRITE | typeof INPUT | typeof OUTPUT;
const NAMES = ["write", "input", "output"] as const;

export class CollectionFrontiers {
  readonly #n: number;
  /** Part `p`'s frontier of kind `k` at `k * n + p`. */
  readonly #parts: Frontier[];
  /** The meet per kind (last returned as advanced). */
  readonly #joint: [Frontier, Frontier, Frontier] = [Frontier.MIN, Frontier.MIN, Frontier.MIN];

  /** `parts` ≥ 1 (the caller checked it). */
  constructor(parts: number) {
    this.#n = parts;
    this.#parts = new Array<Frontier>(3 * parts).fill(Frontier.MIN);
  }

  /**
   * Sets `part`'s frontier of `kind` to `f`; returns the new meet if it strictly advanced.
   * @throws FrontierRegression when the part's frontier would move backward (`id` names it).
   */
  set(id: GlobalId, kind: FrontierKind, part: number, f: Frontier): Frontier | undefined {
    const n = this.#n;
    const at = kind * n + part;
    const old = this.#parts[at] as Frontier;
    if (old === f) return undefined;
    if (!Frontier.lessEqual(old, f)) {
      throw new FrontierRegression(`${id} ${NAMES[kind]} frontier part ${part}`, old, f);
    }
    this.#parts[at] = f;
    const joint = this.#joint[kind];
    // Another part is at the meet, and it did not move.
    if (old !== joint) return undefined;
    let meet = f;
    for (let i = kind * n, end = i + n; i < end; i++) {
      meet = Frontier.meet(meet, this.#parts[i] as Frontier);
    }
    if (meet === joint) return undefined;
    this.#joint[kind] = meet;
    return meet;
  }

  /** The meet of `kind`. */
  frontier(kind: FrontierKind): Frontier {
    return this.#joint[kind];
  }

  /** True when every kind's meet is empty (nothing follows; the collection can be forgotten). */
  get isEmpty(): boolean {
    return (
      this.#joint[WRITE] === null && this.#joint[INPUT] === null && this.#joint[OUTPUT] === null
    );
  }
}
