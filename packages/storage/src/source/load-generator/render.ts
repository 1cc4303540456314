/**
 * Rendering a generator's ticks into timestamped updates, and sharing them between workers.
 *
 * `updatesBetween(gen, from, to)` turns ticks `[from, to)` into one `Update[]` per output, each
 * update stamped `gen.clock.timeAt(tick)`; the batch's bounds for a compare-and-append are
 * `[gen.clock.timeAt(from), gen.clock.upperAfter(to))`. Because every tick is computed on its own,
 * `updatesBetween(g, 0, k)` followed by `updatesBetween(g, k, n)` is exactly
 * `updatesBetween(g, 0, n)`: resuming at `firstTickAtOrAfter(upper)` neither duplicates nor skips.
 *
 * ## Partitioning across W workers
 * With `partition: {worker: w, workers: W}`, only the updates whose row hashes to `w`
 * (`hashRow(row) % W`, the stable hash of `@mzts/repr`) are kept. Each update goes to exactly one
 * worker, so the W workers together emit each update exactly once; and since the partition is by
 * the whole row, a retraction lands on the same worker as the insertion it cancels.
 */
import { hashRow, type Row, type Update } from "@mzts/repr";
import { InvalidPartition, InvalidTick } from "../../errors.js";
import type { LoadGenerator } from "./load-generator.js";
import { checkTick } from "./tick-clock.js";

/** A worker's share of the data: worker `worker` of `workers`. */
export interface WorkerPartition {
  readonly worker: number;
  readonly workers: number;
}

/** Options of `updatesBetween`. */
export interface RenderOptions {
  /** Keep only this worker's share; absent = every update. */
  readonly partition?: WorkerPartition;
}

/**
 * The worker (in `[0, workers)`) that owns `row`.
 * @throws InvalidPartition when `workers` is not a positive integer.
 */
export function workerForRow(row: Row, workers: number): number {
  checkPartition({ worker: 0, workers });
  return hashRow(row) % workers;
}

/**
 * The updates of ticks `[fromTick, toTick)`, per output index (every output has an entry, possibly
 * empty), each stamped with its tick's time, in tick order.
 * @throws InvalidTick when a bound is negative, `fromTick > toTick`, or a time is out of range.
 * @throws InvalidPartition when `options.partition` is not a valid share.
 */
export function updatesBetween(
  gen: LoadGenerator,
  fromTick: bigint,
  toTick: bigint,
  options: RenderOptions = {},
): Map<number, Update[]> {
  checkTick(fromTick);
  checkTick(toTick);
  if (fromTick > toTick) {
    throw new InvalidTick(
      toTick,
      `the range ends before it starts (from ${fromTick}); pass from <= to`,
    );
  }
  const partition = options.partition;
  if (partition) checkPartition(partition);
  const out = new Map<number, Update[]>();
  for (let i = 0; i < gen.outputs.length; i++) out.set(i, []);
  for (let tick = fromTick; tick < toTick; tick++) {
    const time = gen.clock.timeAt(tick);
    for (const u of gen.updatesAt(tick)) {
      if (partition && hashRow(u.row) % partition.workers !== partition.worker) continue;
      out.get(u.output)!.push([u.row, time, u.diff]);
    }
  }
  return out;
}

function checkPartition(p: WorkerPartition): void {
  const ok =
    Number.isSafeInteger(p.workers) &&
    p.workers >= 1 &&
    Number.isSafeInteger(p.worker) &&
    p.worker >= 0 &&
    p.worker < p.workers;
  if (!ok) throw new InvalidPartition(p.worker, p.workers);
}
