/**
 * `SubscribeSink`: one worker's part of a subscribe export — batches of the exported
 * collection's updates, one per frontier advance.
 *
 * ## Algorithm
 * Updates are buffered as they arrive (those at times ≥ until are dropped). When the input
 * frontier advances to `f` (capped: at or beyond `until` it is the empty frontier), one batch
 * `[lower, f)` is emitted with the buffered updates at times `< f`, consolidated (a buffer already
 * strictly in (time, row) order is consolidated as it is: `isStrictlyConsolidated`); `lower`
 * starts at the dataflow's as-of (so the first batch carries the snapshot) and becomes `f`.
 * Every worker emits its own batches, including empty ones (they carry the worker's upper), and
 * the process merger (`PartitionedComputeState`) releases a batch when the meet of the workers'
 * uppers advances.
 *
 * ## Ending with an error
 * `fail(message)` ends a subscribe that can never advance (its dataflow is stalled: a source
 * import stopped for good on some worker, `SourceFailures`): one batch `[lower, ∅)` whose result
 * is the error (Materialize's `SubscribeBatch` with `Err`). The process merger's error is sticky:
 * every batch it releases from then on is that error, the last one with the empty upper once
 * every worker sent theirs; the controllers end the client's stream with the first
 * (`SubscribeFailed`) — instead of the subscribe waiting forever on a frontier that will not
 * move. Buffered updates are
 * discarded (they are beyond what every worker completed: the merged stream never had them).
 * `frontier` stays at the last batch of updates (a failed subscribe is not hydrated).
 *
 * ## Invariants
 * - Batches are contiguous (`lower` = previous `upper`) and strictly advancing.
 * - After the empty upper, after `fail()` (its error batch has the empty upper), or after `drop()`
 *   (which sends `droppedAt(lower)` once), nothing more.
 */
import { type Graph, type InputPort, Operator, type Stream } from "@mzts/dataflow";
import type { SubscribeResponse } from "@mzts/protocol";
import { isStrictlyConsolidated } from "@mzts/protocol/domain";
import { consolidateUpdates, Frontier, type GlobalId, type Update } from "@mzts/repr";

export class SubscribeSink extends Operator {
  readonly sinkId: GlobalId;
  readonly #input: InputPort;
  readonly #until: Frontier;
  readonly #emit: (r: SubscribeResponse) => void;
  #buffer: Update[] = [];
  /** Lower of the next batch. */
  #lower: Frontier;
  /** True after the final batch (of updates or an error) or `droppedAt`. */
  #done = false;

  constructor(
    graph: Graph,
    input: Stream,
    opts: {
      readonly id: GlobalId;
      readonly asOf: Frontier;
      readonly until: Frontier;
      readonly emit: (r: SubscribeResponse) => void;
    },
  ) {
    super(graph, `subscribe ${opts.id}`);
    this.sinkId = opts.id;
    this.#input = input.connect(this.id);
    this.#until = opts.until;
    this.#emit = opts.emit;
    this.#lower = opts.asOf;
    if (opts.asOf === null) this.#done = true;
  }

  /** The frontier emitted so far (the next batch's lower). */
  get frontier(): Frontier {
    return this.#lower;
  }

  /** True after the final batch, a failure or a drop. */
  get done(): boolean {
    return this.#done;
  }

  run(): boolean {
    const port = this.#input;
    if (!port.pending) return false;
    const until = this.#until;
    for (const b of port.takeBatches()) {
      if (this.#done) continue;
      for (let i = 0; i < b.length; i++) {
        const t = b.times[i]!;
        if (until !== null && t >= until) continue;
        this.#buffer.push([b.rows[i]!, t, b.diffs[i]!]);
      }
    }
    if (!port.takeFrontier() || this.#done) return true;
    let f = port.frontier;
    if (until !== null && f !== null && f >= until) f = null;
    if (!Frontier.lessThan(this.#lower, f)) return true;
    const out: Update[] = [];
    const keep: Update[] = [];
    for (const u of this.#buffer) (Frontier.includes(f, u[1]) ? keep : out).push(u);
    this.#buffer = keep;
    const lower = this.#lower;
    this.#lower = f;
    if (f === null) this.#done = true;
    this.#emit({
      kind: "batch",
      lower,
      upper: f,
      // Already in (time, row) order with distinct rows and no zero diff (e.g. one update per
      // row): consolidation would return it unchanged, so skip hashing and sorting it.
      result: {
        kind: "updates",
        updates: isStrictlyConsolidated(out) ? out : consolidateUpdates(out),
      },
    });
    return true;
  }

  /**
   * The subscribe can never advance: ends it with one error batch `[lower, ∅)` carrying `message`
   * (see the file comment), unless it already finished. True when the batch was sent.
   */
  fail(message: string): boolean {
    if (this.#done) return false;
    this.#done = true;
    this.#buffer = [];
    this.#emit({
      kind: "batch",
      lower: this.#lower,
      upper: null,
      result: { kind: "error", message },
    });
    return true;
  }

  /** The subscribe was dropped by compaction: `droppedAt` once, unless already finished. */
  drop(): void {
    if (this.#done) return;
    this.#done = true;
    this.#buffer = [];
    this.#emit({ kind: "droppedAt", frontier: this.#lower });
  }
}
