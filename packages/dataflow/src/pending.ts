/**
 * `PendingUpdates`: the buffer in front of every stateful operator, releasing updates in time
 * order once the input frontier has passed them.
 *
 * With totally ordered times, a stateful operator is simple and efficient if it applies the
 * updates of each time `t` only when `t` is complete (`t < input frontier`), and in ascending
 * time order: its output at `t` then depends only on inputs at times `<= t`, never needs to be
 * corrected, and the output frontier can follow the input frontier.
 *
 * ## Algorithm
 * Batches are kept as received, with their min/max time computed once. `takeReady(f)` returns
 * the updates with `time < f` grouped by time, ascending. Fast path (the common case: each batch
 * has one time and all are ready): no copying, the received batches are returned as they are
 * (one ready batch: in a reused group, so an idle tick allocates nothing).
 * Otherwise ready updates are bucketed by time (a Map) and the buckets sorted; not-yet-ready
 * updates stay pending.
 */
import type { Frontier, Row, Timestamp } from "@mzts/repr";
import { Batch } from "./batch.js";

/** Updates of one time, as one or more batches (every update in them has that time). */
export interface TimeGroup {
  readonly time: Timestamp;
  readonly batches: readonly Batch[];
}

/** Returned when nothing is ready (shared, never mutated: callers only iterate it). */
const NONE: readonly TimeGroup[] = Object.freeze([]);

/** A time group whose fields this class rewrites (handed out as a read-only `TimeGroup`). */
interface Reused {
  time: Timestamp;
  readonly batches: Batch[];
}

/**
 * Buffers updates until the frontier passes their times; releases them grouped by time.
 *
 * What `takeReady` returns is only valid until the next `push` or `takeReady` on the same
 * instance (an operator iterates it at once): the common answer, one ready batch, reuses one
 * array and one group, so an idle dataflow's tick allocates nothing here.
 */
export class PendingUpdates {
  /**
   * Batches held (the first `#n` slots, in arrival order), with each one's least and greatest
   * time. Parallel arrays written by index and never shrunk: emptying an array (`length = 0`)
   * drops its backing store, and the next push allocates a new one.
   */
  #batches: Array<Batch | undefined> = [];
  #mins: Timestamp[] = [];
  #maxs: Timestamp[] = [];
  #n = 0;
  readonly #one: Reused = { time: 0n, batches: [] };
  readonly #oneResult: readonly TimeGroup[] = [this.#one];

  /** Number of batches held. */
  get size(): number {
    return this.#n;
  }

  /** Holds a batch (which must not be mutated afterwards). */
  push(batch: Batch): void {
    const len = batch.length;
    if (len === 0) return;
    const times = batch.times;
    let min = times[0]!;
    let max = min;
    for (let i = 1; i < len; i++) {
      const t = times[i]!;
      if (t < min) min = t;
      else if (t > max) max = t;
    }
    const n = this.#n++;
    this.#batches[n] = batch;
    this.#mins[n] = min;
    this.#maxs[n] = max;
  }

  /**
   * Removes and returns the updates with `time < f` (all for the empty frontier), by time —
   * valid until the next call on this instance (see the class comment).
   */
  takeReady(f: Frontier): readonly TimeGroup[] {
    const n = this.#n;
    if (n === 0) return NONE;
    const batches = this.#batches;
    const mins = this.#mins;
    const maxs = this.#maxs;
    // Fast path (an idle index's tick: every held batch ready, all at one time): the held
    // batches as they are, no copy of any update.
    const t0 = mins[0]!;
    let allReady = true;
    let uniform = true;
    for (let i = 0; i < n; i++) {
      const max = maxs[i]!;
      if (f !== null && max >= f) {
        allReady = false;
        break;
      }
      if (uniform && (mins[i] !== t0 || max !== t0)) uniform = false;
    }
    if (allReady && uniform) {
      this.#n = 0;
      if (n === 1) {
        const one = this.#one;
        one.time = t0;
        one.batches[0] = batches[0]!;
        batches[0] = undefined;
        return this.#oneResult;
      }
      const ready = batches.slice(0, n) as Batch[];
      for (let i = 0; i < n; i++) batches[i] = undefined;
      return [{ time: t0, batches: ready }];
    }
    return this.#takeSome(f, n);
  }

  /** `takeReady` when some batch is not ready, or the ready ones span several times. */
  #takeSome(f: Frontier, n: number): readonly TimeGroup[] {
    const batches = this.#batches;
    const mins = this.#mins;
    const maxs = this.#maxs;
    const ready: Batch[] = [];
    let readyUniform = true;
    let readyTime: Timestamp | undefined;
    const keepB: Batch[] = [];
    const keepMin: Timestamp[] = [];
    const keepMax: Timestamp[] = [];
    const readyBatch = (b: Batch, min: Timestamp, max: Timestamp) => {
      if (readyTime === undefined) readyTime = min;
      if (min !== readyTime || max !== readyTime) readyUniform = false;
      ready.push(b);
    };
    for (let i = 0; i < n; i++) {
      const b = batches[i]!;
      const min = mins[i]!;
      const max = maxs[i]!;
      if (f === null || max < f) readyBatch(b, min, max);
      else if (min >= f) {
        keepB.push(b);
        keepMin.push(min);
        keepMax.push(max);
      } else {
        // Split a straddling batch.
        const now = new Batch();
        const later = new Batch();
        const { rows, times, diffs } = b;
        for (let j = 0; j < rows.length; j++) {
          const t = times[j]!;
          (t < f ? now : later).push(rows[j]!, t, diffs[j]!);
        }
        const [nowMin, nowMax] = bounds(now);
        readyBatch(now, nowMin, nowMax);
        const [laterMin, laterMax] = bounds(later);
        keepB.push(later);
        keepMin.push(laterMin);
        keepMax.push(laterMax);
      }
    }
    this.#batches = keepB;
    this.#mins = keepMin;
    this.#maxs = keepMax;
    this.#n = keepB.length;
    if (ready.length === 0) return NONE;
    if (readyUniform) return [{ time: readyTime!, batches: ready }];
    const buckets = new Map<Timestamp, Batch>();
    for (const b of ready) {
      const { rows, times, diffs } = b;
      for (let i = 0; i < rows.length; i++) {
        const t = times[i]!;
        let out = buckets.get(t);
        if (!out) buckets.set(t, (out = new Batch()));
        out.push(rows[i] as Row, t, diffs[i]!);
      }
    }
    const keys = [...buckets.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    return keys.map((time) => ({ time, batches: [buckets.get(time)!] }));
  }
}

/** A non-empty batch's least and greatest time. */
function bounds(batch: Batch): [Timestamp, Timestamp] {
  const times = batch.times;
  let min = times[0]!;
  let max = min;
  for (const t of times) {
    if (t < min) min = t;
    if (t > max) max = t;
  }
  return [min, max];
}
