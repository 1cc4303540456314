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

/** A multiset of read holds with its meet. */
export class ReadHolds {
  /** Hold frontier (`"[]"` or the decimal time) → [frontier, count > 0]. */
  #holds = new Map<string, [Frontier, number]>();

  /** Adds one hold at `f`. */
  acquire(f: Frontier): void {
    const key = Frontier.format(f);
    const entry = this.#holds.get(key);
    if (entry === undefined) this.#holds.set(key, [f, 1]);
    else entry[1]++;
  }

  /** Removes one hold at `f`; it must exist. */
  release(f: Frontier): void {
    const key = Frontier.format(f);
    const entry = this.#holds.get(key);
    invariant(entry !== undefined, `read hold at ${key} released but never acquired`);
    if (entry[1] === 1) this.#holds.delete(key);
    else entry[1]--;
  }

  /** Moves one hold from `from` to `to` (`to` must not be earlier). */
  downgrade(from: Frontier, to: Frontier): void {
    invariant(Frontier.lessEqual(from, to), "a read hold may only move forward");
    if (Frontier.equal(from, to)) return;
    this.acquire(to);
    this.release(from);
  }

  /** The meet of all holds; empty when there are none. */
  since(): Frontier {
    let since: Frontier = Frontier.EMPTY;
    for (const [f] of this.#holds.values()) since = Frontier.meet(since, f);
    return since;
  }

  /** The number of holds (with multiplicity). */
  get size(): number {
    let n = 0;
    for (const [, c] of this.#holds.values()) n += c;
    return n;
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
