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
 * 3. Marking sets `df.failure` (the first failure wins) and asks for a step, in which the peeks
 *    waiting on the dataflow are answered with the error (`evaluatePeek`).
 */
import type { ExchangeMesh } from "@mzts/mz-cluster/runtime";
import type { DataflowInstance } from "./dataflow.js";
import type { SourceImportFailure } from "./source-import.js";

/** The mesh channel of the relay (`[seq, SourceImportFailure]`). */
export const SOURCE_FAILURE_CHANNEL = "compute:source-failure";

export interface SourceFailuresOptions {
  readonly mesh: ExchangeMesh;
  /** The live dataflow of a build sequence number. */
  readonly dataflow: (seq: number) => DataflowInstance | undefined;
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

  /** A source reader of `df` in this worker stopped for good. */
  reported(df: DataflowInstance, failure: SourceImportFailure): void {
    const { mesh } = this.#o;
    for (let w = 0; w < mesh.peers; w++)
      if (w !== mesh.index) mesh.send(w, SOURCE_FAILURE_CHANNEL, [df.seq, failure]);
    this.#stalled(df.seq, failure);
  }

  /** `df` was just built: a failure another worker reported for it earlier applies now. */
  built(df: DataflowInstance): void {
    const early = this.#early.get(df.seq);
    if (early === undefined) return;
    this.#early.delete(df.seq);
    df.failure ??= early;
  }

  #stalled(seq: number, failure: SourceImportFailure): void {
    const df = this.#o.dataflow(seq);
    if (df !== undefined) df.failure ??= failure;
    else if (seq >= this.#o.nextSeq() && !this.#early.has(seq)) this.#early.set(seq, failure);
    this.#o.requestStep();
  }
}
