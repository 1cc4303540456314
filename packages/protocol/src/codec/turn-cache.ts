/**
 * A cache that lives for one event-loop turn (issue 16's "encode once"): the replica tasks of
 * one instance flush the commands of a turn in that same turn (`SendCoalescer`), each handed the
 * same command object, so the second replica reuses the bytes the first one's encode made. The
 * cache is dropped at the next turn (`setImmediate`), so nothing is held longer. Keys are
 * compared by identity; they must be immutable for the turn (readonly domain commands are).
 */
export class TurnCache<K extends object, V> {
  #entries = new Map<K, V>();
  #clearScheduled = false;

  /** The value of `key` this turn, made by `make` the first time it is asked. */
  get(key: K, make: (key: K) => V): V {
    let value = this.#entries.get(key);
    if (value === undefined) {
      value = make(key);
      this.#entries.set(key, value);
      if (!this.#clearScheduled) {
        this.#clearScheduled = true;
        setImmediate(() => {
          this.#entries = new Map();
          this.#clearScheduled = false;
        });
      }
    }
    return value;
  }
}
