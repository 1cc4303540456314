/**
 * `TimeCounts`: how many held updates an arrangement has at each distinct time (times below the
 * since counted at the since) — what its `timeCount` (introspection's batches) reads in O(1).
 *
 * Times arrive almost always in ascending order (the operators insert complete times in order)
 * and leave from the front (compaction forwards the oldest times to the since), so the counts
 * are a run of ascending times in two parallel arrays with a moving head: adding at the newest
 * time or at the since, and forwarding the front to a new since, are O(1) amortized with no
 * hashing and no allocation besides array growth (a bigint-keyed map cost a hash per change).
 * An out-of-order time is found by binary search and spliced in, O(distinct times held).
 *
 * Every count held is positive (a time whose count drops to zero is removed), so `size` is the
 * number of distinct times.
 */
import type { Timestamp } from "@mzts/repr";

export class TimeCounts {
  /** Ascending times from `#head` on (slots before it are dead). */
  #times: Timestamp[] = [];
  #counts: number[] = [];
  #head = 0;

  /** Number of distinct times with a non-zero count. */
  get size(): number {
    return this.#times.length - this.#head;
  }

  /** `n` more (or, negative, fewer) updates at `t`; a count reaching zero drops its time. */
  add(t: Timestamp, n: number): void {
    if (n === 0) return;
    const times = this.#times;
    const counts = this.#counts;
    const last = times.length - 1;
    const head = this.#head;
    // Bigint comparisons are calls in V8: the common cases first, one comparison each.
    if (last < head) {
      times.push(t);
      counts.push(n);
      return;
    }
    if (times[last] === t) {
      const c = counts[last]! + n;
      if (c !== 0) counts[last] = c;
      else if (last === head) this.clear();
      else {
        times.pop();
        counts.pop();
      }
      return;
    }
    if (times[last]! < t) {
      times.push(t);
      counts.push(n);
      return;
    }
    if (times[head] === t) {
      const c = counts[head]! + n;
      if (c !== 0) counts[head] = c;
      else this.#head = head + 1;
      return;
    }
    // Out of order: the first slot at or after `t` (there is one: `t` < the last time).
    let lo = head;
    let hi = last;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (times[mid]! < t) lo = mid + 1;
      else hi = mid;
    }
    if (times[lo] === t) {
      const c = counts[lo]! + n;
      if (c !== 0) counts[lo] = c;
      else {
        times.splice(lo, 1);
        counts.splice(lo, 1);
      }
    } else {
      times.splice(lo, 0, t);
      counts.splice(lo, 0, n);
    }
  }

  /** Forwards every time below `since` to `since` (their counts merge into its count). */
  advance(since: Timestamp): void {
    const times = this.#times;
    const counts = this.#counts;
    const len = times.length;
    let i = this.#head;
    if (i === len || times[i]! >= since) return;
    let below = 0;
    while (i < len && times[i]! < since) below += counts[i++]!;
    if (i < len && times[i] === since) counts[i] = counts[i]! + below;
    else {
      i--;
      times[i] = since;
      counts[i] = below;
    }
    this.#head = i;
    // Drop the dead front now and then (amortized O(1) per slot).
    if (i >= 64 && i * 2 >= len) {
      times.splice(0, i);
      counts.splice(0, i);
      this.#head = 0;
    }
  }

  /** Forgets every time. */
  clear(): void {
    this.#times.length = 0;
    this.#counts.length = 0;
    this.#head = 0;
  }
}
