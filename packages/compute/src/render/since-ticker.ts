/**
 * `SinceTicker`: one timer per interval for every since hold of this thread (`ShardSinceHolds`:
 * one per shard per worker), instead of one timer per hold. All holds of a thread then downgrade
 * their since handles in the same turn of the event loop, which persist folds into one
 * compare-and-set per shard (`ShardMachine.applyBatch`): consensus writes per second do not grow
 * with the number of dataflows or workers importing a shard (issue 16: 100 indexes on one source
 * had 100 state rewrites a second, each listing all 100 readers).
 *
 * The timer is unref'd, starts with the first registration of its interval and stops with the
 * last. A tick that throws does not stop the others (holds' ticks never throw; this is a
 * guard).
 */
export class SinceTicker {
  readonly #timers = new Map<
    number,
    { timer: ReturnType<typeof setInterval>; ticks: Set<() => void> }
  >();

  /** Calls `tick` every `intervalMs` with the other ticks of that interval; returns the stop. */
  register(intervalMs: number, tick: () => void): () => void {
    let entry = this.#timers.get(intervalMs);
    if (entry === undefined) {
      const ticks = new Set<() => void>();
      const timer = setInterval(() => {
        for (const t of ticks) {
          try {
            t();
          } catch {
            // A hold's tick never throws; one that did must not starve the others.
          }
        }
      }, intervalMs);
      timer.unref?.();
      entry = { timer, ticks };
      this.#timers.set(intervalMs, entry);
    }
    const e = entry;
    e.ticks.add(tick);
    return () => {
      e.ticks.delete(tick);
      if (e.ticks.size === 0 && this.#timers.get(intervalMs) === e) {
        clearInterval(e.timer);
        this.#timers.delete(intervalMs);
      }
    };
  }

  /** Live timers (for tests). */
  get timers(): number {
    return this.#timers.size;
  }
}

/** The ticker of this thread (one per worker thread). */
export const sinceTicker = new SinceTicker();
