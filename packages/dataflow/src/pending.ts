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
 * has one time and all are ready): no copying, the received batches are returned as they are.
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

interface Held {
  readonly batch: Batch;
  readonly min: Timestamp;
  readonly max: Timestamp;
}

/** Buffers updates until the frontier passes their times; releases them grouped by time. */
export class PendingUpdates {
  /** Batches held, in arrival order; every held update has `time >= ` the last frontier taken. */
  #held: Held[] = [];

  /** Number of batches held. */
  get size(): number {
    return this.#held.length;
  }

  /** Holds a batch (which must not be mutated afterwards). */
  push(batch: Batch): void {
    const n = batch.length;
    if (n === 0) return;
    const times = batch.times;
    let min = times[0]!;
    let max = min;
    for (let i = 1; i < n; i++) {
      const t = times[i]!;
      if (t < min) min = t;
      else if (t > max) max = t;
    }
    this.#held.push({ batch, min, max });
  }

  /** Removes and returns the updates with `time < f` (all for the empty frontier), by time. */
  takeReady(f: Frontier): TimeGroup[] {
    const held = this.#held;
    if (held.length === 0) return [];
    const ready: Held[] = [];
    const keep: Held[] = [];
    for (const h of held) {
      if (f === null || h.max < f) ready.push(h);
      else if (h.min >= f) keep.push(h);
      else {
        // Split a straddling batch.
        const now = new Batch();
        const later = new Batch();
        const { rows, times, diffs } = h.batch;
        for (let i = 0; i < rows.length; i++) {
          const t = times[i]!;
          (t < f ? now : later).push(rows[i]!, t, diffs[i]!);
        }
        ready.push(summarize(now));
        keep.push(summarize(later));
      }
    }
    this.#held = keep;
    if (ready.length === 0) return [];
    // Fast path: every ready batch has one and the same time.
    const t0 = ready[0]!.min;
    let uniform = true;
    for (const h of ready) {
      if (h.min !== t0 || h.max !== t0) {
        uniform = false;
        break;
      }
    }
    if (uniform) return [{ time: t0, batches: ready.map((h) => h.batch) }];
    const buckets = new Map<Timestamp, Batch>();
    for (const h of ready) {
      const { rows, times, diffs } = h.batch;
      for (let i = 0; i < rows.length; i++) {
        const t = times[i]!;
        let b = buckets.get(t);
        if (!b) buckets.set(t, (b = new Batch()));
        b.push(rows[i] as Row, t, diffs[i]!);
      }
    }
    const keys = [...buckets.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    return keys.map((time) => ({ time, batches: [buckets.get(time)!] }));
  }
}

function summarize(batch: Batch): Held {
  const times = batch.times;
  let min = times[0]!;
  let max = min;
  for (const t of times) {
    if (t < min) min = t;
    if (t > max) max = t;
  }
  return { batch, min, max };
}
