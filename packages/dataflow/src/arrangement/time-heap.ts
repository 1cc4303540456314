/**
 * `TimeHeap<T>`: a binary min-heap of values keyed by a `Timestamp` — what lets an arrangement's
 * compaction visit only the entries it can compact (keyed by the time at which they become
 * compactable), instead of every entry holding history.
 *
 * Keys are bigints compared with `<`; ties pop in no particular order. Parallel arrays (keys,
 * values) keep a record at two slots and no allocation per push.
 */
import type { Timestamp } from "@mzts/repr";

export class TimeHeap<T> {
  readonly #keys: Timestamp[] = [];
  readonly #values: T[] = [];

  /** Number of records held. */
  get size(): number {
    return this.#keys.length;
  }

  /** The smallest key, or undefined when empty. */
  peekKey(): Timestamp | undefined {
    return this.#keys[0];
  }

  /** Adds `value` under `key`. O(log n). */
  push(key: Timestamp, value: T): void {
    const keys = this.#keys;
    const values = this.#values;
    let i = keys.length;
    keys.push(key);
    values.push(value);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (keys[parent]! <= key) break;
      keys[i] = keys[parent]!;
      values[i] = values[parent]!;
      i = parent;
    }
    keys[i] = key;
    values[i] = value;
  }

  /** Removes the record with the smallest key; its value (undefined when empty). O(log n). */
  pop(): T | undefined {
    const keys = this.#keys;
    const values = this.#values;
    const n = keys.length;
    if (n === 0) return undefined;
    const top = values[0];
    const lastKey = keys.pop()!;
    const lastValue = values.pop()!;
    const size = n - 1;
    if (size === 0) return top;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= size) break;
      const r = l + 1;
      const c = r < size && keys[r]! < keys[l]! ? r : l;
      if (keys[c]! >= lastKey) break;
      keys[i] = keys[c]!;
      values[i] = values[c]!;
      i = c;
    }
    keys[i] = lastKey;
    values[i] = lastValue;
    return top;
  }

  /** Removes every record. */
  clear(): void {
    this.#keys.length = 0;
    this.#values.length = 0;
  }
}
