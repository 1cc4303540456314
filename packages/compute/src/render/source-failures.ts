/**
 * `SourceFailures`: a worker's side of the stalled-dataflow relay. A source import that stops for
 * good on one worker (`SourceImportFailure`) stalls its dataflow on every worker — an index's
 * frontier needs every worker's input — but only that worker's reader knows. Without the relay
 * the other workers keep waiting on the peeks of the dataflow, and the merged answer (which
 * needs every worker's) never comes.
 *
 * ## Flow
 * 1. `reported(df, failure)` (the reader of this worker stopped): send `[seq, failure]` to every
 *    other worker on `SOURCE_FAILURE_CHANNEL`, then mark the dataflow stalled here.
 * 2. A failure from another worker marks the dataflow of that build sequence number (identical
 *    on every worker). One that arrives before this worker built the dataflow waits for
 *    `built(df)`; one for a dropped dataflow is ignored.
 * 3. Marking sets `df.failure` (the first failure wins), stops the dataflow's source readers
 *    here (see `stall`) and asks for a step, in which the peeks waiting on the dataflow are
 *    answered with the error (`evaluatePeek`). Its subscribes end at once with the error
 *    (`SubscribeSink.fail`: one batch `[lower, ∅)` whose result is the error): a subscribe only
 *    ever waits on frontiers the stall keeps from moving.
 * 4. A stall carries downstream: a dataflow importing an index of a stalled dataflow stalls too
 *    (its input never passes the stalled frontier), with the same failure — marked when the
 *    upstream one is, or when it is built over an index of a stalled one.
 *
 * ## What else reads a stalled dataflow
 * - A persist sink (materialized view) writes what every worker's input completed and stops
 *   there: its write frontier stays put, which the controller sees in its frontier reports;
 *   nothing on the replica waits on it, and with the readers stopped worker 0's gather buffer
 *   no longer grows. (A peek of its shard waits on the shard's upper, which another replica may
 *   still advance: it is not answered with the stall.)
 * - Dropping a stalled dataflow (`allowCompaction` to the empty frontier) frees it like any
 *   other: the mark lives on the `DataflowInstance`; `#early` only holds failures of dataflows
 *   not built here yet, each taken when that dataflow is built (`pendingEarly` counts them).
 */
import type { ExchangeMesh } from "@mzts/mz-cluster/runtime";
import type { GlobalId } from "@mzts/repr";
import type { DataflowInstance } from "./dataflow.js";
import type { SourceImportFailure } from "./source-import.js";

/** The mesh channel of the relay (`[seq, SourceImportFailure]`). */
export const SOURCE_FAILURE_CHANNEL = "compute:source-failure";

/**
 * Why a reader of a dataflow that `failure` stalled gets no more data (the reason part of a
 * stalled peek's or subscribe's error): the source, the shard, the cause and what to do next.
 */
export function stalledReason(failure: SourceImportFailure): string {
  return `its dataflow is stalled: ${failure.message}`;
}

export interface SourceFailuresOptions {
  readonly mesh: ExchangeMesh;
  /** The live dataflow of a build sequence number. */
  readonly dataflow: (seq: number) => DataflowInstance | undefined;
  /** The live dataflow exporting `id`. */
  readonly exporter: (id: GlobalId) => DataflowInstance | undefined;
  /** Every live dataflow. */
  readonly dataflows: () => Iterable<DataflowInstance>;
  /** The next build sequence number (a failure for a lower one without a dataflow: dropped). */
  readonly nextSeq: () => number;
  readonly requestStep: () => void;
}

export class SourceFailures {
  readonly #o: SourceFailuresOptions;
  /** Failures from other workers for dataflows not built here yet, by seq. */
  readonly #early = new Map<number, SourceImportFailure>();

  constructor(o: SourceFailuresOptions) {
    this.#o = o;
    o.mesh.on(SOURCE_FAILURE_CHANNEL, (payload) => {
      const [seq, failure] = payload as [number, SourceImportFailure];
      this.#stalled(seq, failure);
    });
  }

  /** Failures held for dataflows not built here yet (tests: nothing is left behind). */
  get pendingEarly(): number {
    return this.#early.size;
  }

  /** A source reader of `df` in this worker stopped for good. */
  reported(df: DataflowInstance, failure: SourceImportFailure): void {
    const { mesh } = this.#o;
    for (let w = 0; w < mesh.peers; w++)
      if (w !== mesh.index) mesh.send(w, SOURCE_FAILURE_CHANNEL, [df.seq, failure]);
    this.#stalled(df.seq, failure);
  }

  /**
   * `df` was just built: a failure another worker reported for it earlier, or the stall of a
   * dataflow whose index it imports, applies now.
   */
  built(df: DataflowInstance): void {
    const early = this.#early.get(df.seq);
    if (early !== undefined) {
      this.#early.delete(df.seq);
      this.#mark(df, early);
    }
    for (const imp of df.desc.indexImports) {
      const failure = this.#o.exporter(imp.id)?.failure;
      if (failure !== undefined) this.#mark(df, failure);
    }
  }

  #stalled(seq: number, failure: SourceImportFailure): void {
    const df = this.#o.dataflow(seq);
    if (df !== undefined) this.#mark(df, failure);
    else if (seq >= this.#o.nextSeq() && !this.#early.has(seq)) this.#early.set(seq, failure);
    this.#o.requestStep();
  }

  /** Marks `df` and, transitively, the dataflows importing its indexes (first failure wins). */
  #mark(df: DataflowInstance, failure: SourceImportFailure): void {
    if (df.failure !== undefined) return;
    stall(df, failure);
    const stalled = [df];
    for (let i = 0; i < stalled.length; i++) {
      const up = stalled[i]!;
      for (const down of this.#o.dataflows()) {
        if (down.failure !== undefined) continue;
        if (down.desc.indexImports.some((imp) => up.indexes.has(imp.id))) {
          stall(down, failure);
          stalled.push(down);
        }
      }
    }
  }
}

/**
 * Marks one dataflow stalled, stops its source readers and ends its subscribes with the error.
 * The readers stop on every worker, not only the failed one's: what they would still read can
 * never be completed (every export's frontier is the meet over workers), yet it would pile up in
 * the dataflow's operators (arrangements and worker 0's persist sink buffer wait for that
 * frontier) for as long as the dataflow lives, and hold the shard's since. What was read stays:
 * reads below the stalled frontier are answered as before. A reader that failed is left alone:
 * it reads nothing more, and what it read before failing is still queued for the next pump.
 * (Trade-off: a failure after the snapshot, at a position another worker had not read up to
 * yet, leaves that worker's part — and so the dataflow — at the position it had reached: the
 * times in between become unreadable too. The failure does not carry its position.)
 */
function stall(df: DataflowInstance, failure: SourceImportFailure): void {
  df.failure = failure;
  for (const reader of df.sources) if (reader.failure === undefined) void reader.stop();
  const reason = stalledReason(failure);
  for (const sink of df.subscribes.values()) sink.fail(reason);
}
