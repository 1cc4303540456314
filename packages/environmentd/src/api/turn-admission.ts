/**
 * `TurnAdmission`: at most `perTurn` calls start per event-loop turn; the rest wait, in arrival
 * order, for the next turns (issue 16).
 *
 * ## Why
 * At 256 API peeks in flight the calls arrive together (one socket read holds hundreds of
 * requests) and, started all at once, travel as one convoy: every call of the read is handled
 * before the first peek command leaves for the replicas (HTTP/2 writes leave at the end of the
 * turn), the replicas idle meanwhile, and environmentd idles while they answer the whole batch.
 * The per-stage trace (`mz_environment_api_peek_stage_seconds`) showed each stage's mean time
 * growing with the calls in flight while no process was busy. Starting at most `perTurn` calls a
 * turn lets the commands of the first ones leave, and the replicas work on them, while
 * environmentd handles the next.
 *
 * ## Invariants
 * - Calls start in the order they were admitted; none waits while fewer than `perTurn` started
 *   in the current turn and none is waiting (so a lightly loaded server starts every call at once).
 * - A turn ends at `setImmediate`: the waiting calls then start, `perTurn` a turn.
 */

/** Calls a turn starts at most (the API's lean gRPC path). */
export const CALLS_PER_TURN = 32;

export class TurnAdmission {
  readonly #perTurn: number;
  #started = 0;
  #scheduled = false;
  readonly #waiting: (() => void)[] = [];
  #head = 0;

  constructor(perTurn = CALLS_PER_TURN) {
    if (!Number.isInteger(perTurn) || perTurn < 1) {
      throw new RangeError(`perTurn must be a positive integer, got ${perTurn}`);
    }
    this.#perTurn = perTurn;
  }

  /** Calls admitted and not started yet. */
  get waiting(): number {
    return this.#waiting.length - this.#head;
  }

  /** Runs `start` now, or in a later turn (see the file comment). */
  admit(start: () => void): void {
    if (this.#started < this.#perTurn && this.waiting === 0) {
      this.#started++;
      this.#schedule();
      start();
      return;
    }
    this.#waiting.push(start);
    this.#schedule();
  }

  #schedule(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    setImmediate(() => this.#turn());
  }

  #turn(): void {
    this.#scheduled = false;
    this.#started = 0;
    while (this.#started < this.#perTurn && this.#head < this.#waiting.length) {
      const start = this.#waiting[this.#head++]!;
      this.#started++;
      start();
    }
    if (this.#head === this.#waiting.length) {
      this.#waiting.length = 0;
      this.#head = 0;
    }
    if (this.#started > 0 || this.waiting > 0) this.#schedule();
  }
}
