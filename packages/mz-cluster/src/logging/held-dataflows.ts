/**
 * `HeldDataflows`: the row writes of dataflows created since the last flush, held back so that a
 * dataflow created and dropped within one log time costs no table work at all (both hosts' event
 * → row rules use it; profiles of create + drop showed most of logging's cost in writing, keying
 * and retracting ~18 rows that net to nothing).
 *
 * A dataflow is held from its creation until `flush` (which the hosts call before the log time
 * moves on and before the log indexes advance): every write about it (its creation rows, then
 * frontiers, sizes, hydration, an export's drop) is queued in order instead of applied. Dropped
 * while held, its queue is discarded — the rows it would have written and retracted at that one
 * log time net to nothing. Flushed, its queue is applied in order, so the tables end exactly as
 * if every write had been applied as it came (writes of different dataflows touch different
 * keys, so their relative order does not matter).
 *
 * Invariant: a dataflow is held only while none of its rows is in a table.
 */

/** The held dataflows of one host, keyed by the host's own dataflow records. */
export class HeldDataflows<K extends object> {
  /** Held dataflow → its writes not yet applied, in order. */
  readonly #held = new Map<K, Array<() => void>>();

  /** Holds the writes of `dataflow` (just created, none of its rows in a table) from now on. */
  hold(dataflow: K): void {
    this.#held.set(dataflow, []);
  }

  /** Number of held dataflows (0 between a flush and the next creation: nothing to look up). */
  get size(): number {
    return this.#held.size;
  }

  /** Whether `dataflow`'s writes are held (a caller may then skip building a closure). */
  holds(dataflow: K): boolean {
    return this.#held.has(dataflow);
  }

  /** Applies `write` now, or queues it when `dataflow` is held. */
  write(dataflow: K, write: () => void): void {
    const queue = this.#held.get(dataflow);
    if (queue === undefined) write();
    else queue.push(write);
  }

  /** Forgets a dropped dataflow's held writes; true when it was held (nothing to retract). */
  discard(dataflow: K): boolean {
    return this.#held.delete(dataflow);
  }

  /**
   * Applies every held write in order; nothing is held afterwards. Returns how many writes threw
   * (each is skipped; the hosts count them as rejected, never throw).
   */
  flush(): number {
    if (this.#held.size === 0) return 0;
    let failed = 0;
    for (const queue of this.#held.values()) {
      for (const write of queue) {
        try {
          write();
        } catch {
          failed++;
        }
      }
    }
    this.#held.clear();
    return failed;
  }

  /** Forgets everything held (a host torn down). */
  clear(): void {
    this.#held.clear();
  }
}
