/**
 * `Batch`: the unit of data on a dataflow edge — parallel arrays of rows, times and diffs.
 *
 * Parallel arrays rather than `[row, time, diff]` tuples: no allocation per update beyond the row
 * itself, and a batch crosses `postMessage`/`structuredClone` as three plain arrays.
 *
 * Invariants: the three arrays have equal length; a batch is immutable once sent on a stream
 * (several readers may hold the same batch), so operators build a new batch for their output.
 */
import type { Row, Timestamp, Update } from "@mzts/repr";

/** A batch of updates as parallel arrays. */
export class Batch {
  constructor(
    readonly rows: Row[] = [],
    readonly times: Timestamp[] = [],
    readonly diffs: number[] = [],
  ) {}

  get length(): number {
    return this.rows.length;
  }

  push(row: Row, time: Timestamp, diff: number): void {
    this.rows.push(row);
    this.times.push(time);
    this.diffs.push(diff);
  }

  /** The batch as `Update` tuples (allocates; for tests and sinks). */
  toUpdates(): Update[] {
    const out: Update[] = new Array(this.rows.length);
    for (let i = 0; i < this.rows.length; i++) {
      out[i] = [this.rows[i]!, this.times[i]!, this.diffs[i]!];
    }
    return out;
  }

  /** A batch of `updates`. */
  static fromUpdates(updates: readonly Update[]): Batch {
    const b = new Batch();
    for (const [row, time, diff] of updates) b.push(row, time, diff);
    return b;
  }
}
