/**
 * `SendCoalescer<C>`: the commands a replica task is given during one event-loop turn leave in
 * one stream message (issue 16: "concurrent peeks and commands to one replica leave in one stream
 * message per event-loop turn"). 256 API peeks in flight otherwise cost 2 × 256 request messages
 * per replica (each peek, then its cancel), each encoded, framed and written on its own.
 *
 * ## Invariants
 * - Commands are flushed in the order they were added, all of one turn in one `flush` call, at the
 *   end of the turn (`setImmediate`: after the I/O callbacks of the current poll phase, so the
 *   peeks of the API calls that arrived together share a message) — unless `maxBatch` (default
 *   `SEND_BATCH_MAX`) are pending: those are flushed at once, in the `add` that reached it.
 * - Why the cap (issue 16, the per-stage trace of API peeks at 256 in flight): holding a whole
 *   turn's peeks to its end made them travel as one convoy — the replica idle while environmentd
 *   handled every call of the turn, then environmentd idle while the replica's main thread
 *   decoded the one big message before its worker saw the first peek. Messages of at most
 *   `maxBatch` let the replica's worker start on the first while its main thread reads the next.
 * - `discard()` drops what is pending (the stream ended: those commands are in the history the
 *   next incarnation's replay reads, or were meant for a stream that is gone) and cancels the
 *   scheduled flush; `add` after that starts a new batch.
 * - `flushNow()` writes what is pending at once (e.g. before the stream is ended on purpose).
 */

/**
 * Commands per message at most: a turn that adds more flushes every `SEND_BATCH_MAX` at once
 * (see "Invariants").
 */
export const SEND_BATCH_MAX = 64;

/** Collects commands and hands them to `flush` once per event-loop turn (see the file comment). */
export class SendCoalescer<C> {
  readonly #flush: (commands: readonly C[]) => void;
  readonly #maxBatch: number;
  #pending: C[] = [];
  #scheduled: NodeJS.Immediate | undefined;

  constructor(flush: (commands: readonly C[]) => void, maxBatch = SEND_BATCH_MAX) {
    if (!Number.isInteger(maxBatch) || maxBatch < 1) {
      throw new RangeError(`maxBatch must be a positive integer, got ${maxBatch}`);
    }
    this.#flush = flush;
    this.#maxBatch = maxBatch;
  }

  /** Commands waiting for the end of the turn. */
  get pending(): number {
    return this.#pending.length;
  }

  add(commands: readonly C[]): void {
    if (commands.length === 0) return;
    for (const c of commands) this.#pending.push(c);
    if (this.#pending.length >= this.#maxBatch) {
      this.flushNow();
      return;
    }
    this.#scheduled ??= setImmediate(() => {
      this.#scheduled = undefined;
      this.flushNow();
    });
  }

  flushNow(): void {
    if (this.#scheduled !== undefined) {
      clearImmediate(this.#scheduled);
      this.#scheduled = undefined;
    }
    if (this.#pending.length === 0) return;
    const batch = this.#pending;
    this.#pending = [];
    this.#flush(batch);
  }

  discard(): void {
    if (this.#scheduled !== undefined) clearImmediate(this.#scheduled);
    this.#scheduled = undefined;
    this.#pending = [];
  }
}
