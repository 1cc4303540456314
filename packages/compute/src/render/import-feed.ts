/**
 * `ImportFeed`: how an import's updates enter a dataflow on one worker — the rules shared by
 * persist source imports and index imports.
 *
 * - Times below the dataflow's `asOf` are forwarded to `asOf` (the dataflow is only correct,
 *   and only read, at times ≥ asOf), so the input's frontier is `join(upstream, asOf)`.
 * - Updates at times ≥ `until` are dropped, and once the upstream frontier reaches `until` the
 *   input closes (empty): the dataflow never produces times ≥ until.
 * - The frontier only moves forward (`InputHandle` throws `FrontierRegression` otherwise; a
 *   stale upstream frontier is ignored here instead).
 */
import { type Batch, batchOf, type InputHandle } from "@mzts/dataflow";
import { Frontier, Timestamp, type Update } from "@mzts/repr";

export class ImportFeed {
  readonly input: InputHandle;
  readonly asOf: Timestamp;
  readonly until: Frontier;

  constructor(input: InputHandle, asOf: Timestamp, until: Frontier) {
    this.input = input;
    this.asOf = asOf;
    this.until = until;
  }

  /** The input's frontier. */
  get frontier(): Frontier {
    return this.input.frontier;
  }

  /**
   * Sends `updates` (times forwarded to asOf, those ≥ until dropped). An array whose times all lie
   * in `[asOf, until)` — every event after a source's snapshot — goes to the input as it is (the
   * input copies it into its batch; the array may be shared with other dataflows' feeds).
   */
  send(updates: Iterable<Update>): void {
    if (this.input.frontier === null) return;
    const { asOf, until } = this;
    if (Array.isArray(updates) && inRange(updates as readonly Update[], asOf, until)) {
      if ((updates as readonly Update[]).length > 0) this.input.send(updates);
      return;
    }
    const out: Update[] = [];
    for (const [row, t, d] of updates) {
      if (until !== null && t >= until) continue;
      out.push([row, Timestamp.max(t, asOf), d]);
    }
    if (out.length > 0) this.input.send(out);
  }

  /**
   * `send(updates)` for an array handed to many feeds and never mutated afterwards (one event of a
   * worker's shared shard listener, one step's changes of an index tap): the input batch is built
   * once per array and shared by every feed whose range holds all of it (issue 16: with 1,000
   * dataflows on one source each tick's row was copied into 1,000 batches).
   */
  sendShared(updates: readonly Update[]): void {
    if (this.input.frontier === null) return;
    if (updates.length === 0 || !inRange(updates, this.asOf, this.until)) {
      this.send(updates);
      return;
    }
    const batch = sharedBatch(updates);
    if (batch.length > 0) this.input.sendBatch(batch);
  }

  /** Advances to `join(f, asOf)`, or closes when `f` reached `until`. */
  advance(f: Frontier): void {
    let target = Frontier.join(f, this.asOf);
    if (this.until !== null && target !== null && target >= this.until) target = null;
    if (Frontier.lessThan(this.input.frontier, target)) this.input.advanceTo(target);
  }

  /** Closes the input (no more data). */
  close(): void {
    if (this.input.frontier !== null) this.input.close();
  }
}

/**
 * The input batches of the last shared update arrays (`sendShared`): the feeds of one event are
 * fed one after the other (a worker step pumps every reader of the shard), so the last two
 * arrays cover them (two: a second shard's event may interleave). Not a `WeakMap`: its
 * ephemeron entries cost every scavenge, and one per event is one per tick.
 */
const sharedKeys: Array<readonly Update[] | undefined> = [undefined, undefined];
const sharedBatches: Array<Batch | undefined> = [undefined, undefined];
let sharedNext = 0;

function sharedBatch(updates: readonly Update[]): Batch {
  if (sharedKeys[0] === updates) return sharedBatches[0]!;
  if (sharedKeys[1] === updates) return sharedBatches[1]!;
  const batch = batchOf(updates);
  sharedKeys[sharedNext] = updates;
  sharedBatches[sharedNext] = batch;
  sharedNext ^= 1;
  return batch;
}

/** Whether every update's time lies in `[asOf, until)`. */
function inRange(updates: readonly Update[], asOf: Timestamp, until: Frontier): boolean {
  for (let i = 0; i < updates.length; i++) {
    const t = updates[i]![1];
    if (t < asOf || (until !== null && t >= until)) return false;
  }
  return true;
}
