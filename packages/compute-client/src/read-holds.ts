/**
 * Read holds of one compute collection (materialize.md §4.2 "Read holds"): a multiset of
 * frontiers whose meet is the collection's **since** — the least time the controller still lets
 * readers read, and therefore the frontier it sends in `allowCompaction`.
 *
 * ## Holds
 * - The **implied** hold (one per collection, owned by the controller): the read policy applied to
 *   the write frontier, `join(floor, write − compactionWindow)`, where `floor` starts at the
 *   dataflow's as-of and is raised by the client's `allowCompaction(id, f)`. A write frontier that
 *   becomes empty (closed inputs) keeps the hold where it was: the empty frontier would drop the
 *   collection on the replicas. Dropping the collection releases it.
 * - **Peek** holds, one per pending peek, at the peek's timestamp; released after the peek was
 *   answered *and* cancelled on every replica.
 *
 * ## Invariants
 * - No negative counts (`release` of an absent hold is an `InvariantViolation`, a bug).
 * - `since()` never moves backward: holds are only acquired at or beyond the current since (the
 *   caller checks and throws `SinceViolation` otherwise), and the implied hold only advances.
 * - No holds at all = the empty frontier (the collection may be dropped on the replicas).
 */
import { Frontier, invariant, type Timestamp } from "@mzts/repr";

/**
 * A multiset of read holds with its meet.
 *
 * Keyed by the frontier itself (a bigint or `null`; a `Map` compares bigints by value), so an
 * advance of the implied hold — once a second per collection on an idle replica (issue 16) —
 * allocates no key string and no entry. The meet is cached and recomputed only when the hold
 * that held it went away.
 */
export class ReadHolds {
  /** Hold frontier → count > 0. */
  readonly #holds = new Map<Frontier, number>();
  /** The meet of the holds' frontiers (`EMPTY` when there are none); `undefined` = stale. */
  #since: Frontier | undefined = Frontier.EMPTY;
  /** The number of holds with multiplicity. */
  #size = 0;

  /** Adds one hold at `f`. */
  acquire(f: Frontier): void {
    this.#holds.set(f, (this.#holds.get(f) ?? 0) + 1);
    this.#size++;
    if (this.#since !== undefined) this.#since = Frontier.meet(this.#since, f);
  }

  /** Removes one hold at `f`; it must exist. */
  release(f: Frontier): void {
    const count = this.#holds.get(f);
    invariant(
      count !== undefined,
      `read hold at ${Frontier.format(f)} released but never acquired`,
    );
    this.#size--;
    if (count > 1) {
      this.#holds.set(f, count - 1);
      return;
    }
    this.#holds.delete(f);
    // The meet moves only when its last hold went.
    if (this.#since === f) this.#since = undefined;
  }

  /** Moves one hold from `from` to `to` (`to` must not be earlier). */
  downgrade(from: Frontier, to: Frontier): void {
    invariant(Frontier.lessEqual(from, to), "a read hold may only move forward");
    if (from === to) return;
    this.acquire(to);
    this.release(from);
  }

  /** The meet of all holds; empty when there are none. */
  since(): Frontier {
    if (this.#since !== undefined) return this.#since;
    let since: Frontier = Frontier.EMPTY;
    for (const f of this.#holds.keys()) since = Frontier.meet(since, f);
    this.#since = since;
    return since;
  }

  /** The number of holds (with multiplicity). */
  get size(): number {
    return this.#size;
  }
}

/** The implied hold for `write` under a compaction window: `join(floor, write − window)`. */
export function impliedHold(
  current: Frontier,
  floor: Timestamp,
  write: Frontier,
  windowMs: bigint,
): Frontier {
  // A closed collection keeps its hold: the empty frontier would mean "drop".
  const lagged = write === null ? current : write > windowMs ? write - windowMs : 0n;
  return Frontier.join(Frontier.join(current, floor), lagged);
}
