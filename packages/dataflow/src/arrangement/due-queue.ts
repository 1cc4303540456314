/**
 * `DueQueue<T>`: values keyed by a `Timestamp`, popped smallest key first — the entries an
 * arrangement's compaction will visit, keyed by the time they become due.
 *
 * Almost every key arrives in ascending order (an entry is queued at its second time, which is
 * the time being inserted, and times are inserted in order), so those go to a FIFO run: push and
 * pop are O(1) with one key comparison on push. Only a key below the run's last goes to a
 * `TimeHeap` (O(log n)); a pop takes the smaller of both fronts. Bigint comparisons are calls in
 * V8, and a heap of 10k records paid ~30 of them per pop; the run pays none.
 *
 * Ties pop in no particular order.
 */
import type { Timestamp } from "@mzts/repr";
import { TimeHeap } from "./time-heap.js";

export class DueQueue<T> {
  /** The ascending run from `#head` on (slots before it are dead, their values cleared). */
  #keys: Timestamp[] = [];
  #values: Array<T | undefined> = [];
  #head = 0;
  /** Records pushed below the run's last key. */
  readonly #heap = new TimeHeap<T>();

  /** Number of records held. */
  get size(): number {
    return this.#keys.length - this.#head + this.#heap.size;
  }

  /** The smallest key, or undefined when empty. */
  peekKey(): Timestamp | undefined {
    const h = this.#heap.peekKey();
    const r = this.#head < this.#keys.length ? this.#keys[this.#head] : undefined;
    if (h === undefined) return r;
    if (r === undefined || h < r) return h;
    return r;
  }

  /** Adds `value` under `key`: O(1) when `key` is at or past every key of the run. */
  push(key: Timestamp, value: T): void {
    const keys = this.#keys;
    const n = keys.length;
    if (n === this.#head || keys[n - 1]! <= key) {
      keys.push(key);
      this.#values.push(value);
    } else this.#heap.push(key, value);
  }

  /** Removes a record with the smallest key; its value (undefined when empty). */
  pop(): T | undefined {
    const keys = this.#keys;
    const head = this.#head;
    if (head === keys.length) return this.#heap.pop();
    const h = this.#heap.peekKey();
    if (h !== undefined && h < keys[head]!) return this.#heap.pop();
    const values = this.#values;
    const v = values[head];
    values[head] = undefined;
    if (head + 1 === keys.length) {
      keys.length = 0;
      values.length = 0;
      this.#head = 0;
    } else if (head >= 1024 && head * 2 >= keys.length) {
      // Drop the dead front now and then (amortized O(1) per record).
      keys.splice(0, head + 1);
      values.splice(0, head + 1);
      this.#head = 0;
    } else this.#head = head + 1;
    return v;
  }

  /** Removes every record. */
  clear(): void {
    this.#keys.length = 0;
    this.#values.length = 0;
    this.#head = 0;
    this.#heap.clear();
  }
}
