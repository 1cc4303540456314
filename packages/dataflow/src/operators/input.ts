/**
 * `InputHandle`: an import fed from outside the dataflow (a persist source or another index):
 * `send(updates)` then `advanceTo(frontier)`; `close()` is `advanceTo(empty)`.
 *
 * ## Correctness
 * Updates must be at or beyond the input's frontier (`UpdateBeforeFrontier` otherwise), so every
 * update downstream operators see is at a time their input frontier still includes. With W
 * workers, each worker has its own handle and receives its own part of the data (any split
 * works: keyed operators exchange by key); every worker's handle must be advanced.
 */
import { Frontier, MonotoneFrontier, type Row, type Timestamp, type Update } from "@mzts/repr";
import { Batch } from "../batch.js";
import { InvalidUpdate, UpdateBeforeFrontier } from "../errors.js";
import { type Graph, Operator } from "../graph.js";
import { Stream } from "../stream.js";

const U64_MAX = (1n << 64n) - 1n;

/** An input of the dataflow. Data goes straight onto its stream; `run()` has nothing to do. */
export class InputHandle extends Operator {
  readonly output: Stream;
  readonly #frontier: MonotoneFrontier;

  constructor(graph: Graph, name = "input") {
    super(graph, name);
    this.output = new Stream(graph, name);
    this.#frontier = new MonotoneFrontier(`input ${name}`);
  }

  /** The input's frontier: updates may be sent at times at or beyond it. */
  get frontier(): Frontier {
    return this.#frontier.current;
  }

  /**
   * Sends updates `(row, time, diff)`.
   * @throws UpdateBeforeFrontier when a time is below the frontier.
   * @throws InvalidUpdate when a time is not a u64 bigint or a diff not a safe integer.
   */
  send(updates: Iterable<Update>): void {
    const batch = new Batch();
    for (const [row, time, diff] of updates) {
      this.#check(time, diff);
      if (diff !== 0) batch.push(row, time, diff);
    }
    this.output.send(batch);
  }

  /**
   * Sends a batch built elsewhere as it is (checked like `send`, not copied): several inputs may
   * be handed the same batch (one persist event read by many dataflows of a worker). Batches are
   * immutable once sent; `batchOf()` builds one from updates, without zero diffs.
   * @throws UpdateBeforeFrontier | InvalidUpdate as `send`.
   */
  sendBatch(batch: Batch): void {
    const { times, diffs } = batch;
    for (let i = 0; i < times.length; i++) this.#check(times[i]!, diffs[i]!);
    this.output.send(batch);
  }

  /**
   * Sends `rows`, all at `time`, each with diff `diffs[i]` (default +1). The cheapest way in.
   * @throws UpdateBeforeFrontier | InvalidUpdate as `send`.
   */
  sendRows(rows: readonly Row[], time: Timestamp, diffs?: readonly number[]): void {
    if (rows.length === 0) return;
    this.#check(time, 1);
    const times = new Array<Timestamp>(rows.length).fill(time);
    let d: number[];
    if (diffs) {
      if (diffs.length !== rows.length) {
        throw new InvalidUpdate(this.name, `${rows.length} rows but ${diffs.length} diffs`);
      }
      for (const x of diffs) this.#check(time, x);
      d = diffs.slice();
    } else d = new Array<number>(rows.length).fill(1);
    this.output.send(new Batch(rows.slice(), times, d));
  }

  /**
   * Advances the frontier: times below `f` are final.
   * @throws FrontierRegression (from @mzts/repr) when `f` is behind the current frontier.
   */
  advanceTo(f: Frontier): void {
    this.#frontier.advance(f);
    this.output.advance(f);
  }

  /** Closes the input: no update will ever follow. */
  close(): void {
    this.advanceTo(Frontier.EMPTY);
  }

  run(): boolean {
    return false;
  }

  #check(time: Timestamp, diff: number): void {
    if (typeof time !== "bigint" || time < 0n || time > U64_MAX) {
      throw new InvalidUpdate(this.name, `time ${String(time)} is not a u64 bigint`);
    }
    if (!Number.isSafeInteger(diff)) {
      throw new InvalidUpdate(this.name, `diff ${String(diff)} is not a safe integer`);
    }
    const f = this.#frontier.current;
    if (f === null || time < f) throw new UpdateBeforeFrontier(this.name, time, f);
  }
}

/** The batch `InputHandle.send(updates)` would send (updates with a zero diff left out). */
export function batchOf(updates: Iterable<Update>): Batch {
  const batch = new Batch();
  for (const [row, time, diff] of updates) if (diff !== 0) batch.push(row, time, diff);
  return batch;
}

/** A new input on `graph`. */
export function createInput(graph: Graph, name?: string): InputHandle {
  return new InputHandle(graph, name);
}
