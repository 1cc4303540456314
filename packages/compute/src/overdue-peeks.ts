/**
 * `OverduePeeks`: the replica main thread's guard against a peek left waiting for a worker's
 * answer (issue 16: once, in a phase-1 bench run under load, one sequential peek of a ready
 * index went unanswered for 60 s; it never recurred and no log was kept). It proves nothing
 * wrong by itself — a peek of an index that is not yet readable rightly waits — but when a peek
 * waits long, the replica says so once, so a stall is located (with the merge's view of which
 * workers answered: `ComputeResponseMerger`) instead of guessed at.
 *
 * ## Rules
 * - The peeks pending are the merger's own (`pending()`: those whose merged answer has not left);
 *   the merger calls `observe()` for every peek command, which only makes sure sweeps run.
 * - A sweep runs every `sweepMs` while peeks are pending (an unref'd timer: it never keeps the
 *   process up; none at idle). A peek pending at two consecutive sweeps has waited at least
 *   `sweepMs`: it is reported once (`onOverdue`, one call per sweep for all it found: a replica
 *   logs at most one line per interval), then never again. Nothing is done per peek
 *   beyond `observe()`'s check — no clock read, no bookkeeping (issue 16: the per-peek cost); a
 *   sweep costs O(pending peeks).
 * - `close()` (the connection ended: its peeks will never be answered to it) stops the sweeps.
 */

export interface OverduePeeksOptions {
  /** The sweep interval and threshold; default `OVERDUE_PEEK_MS`. */
  readonly sweepMs?: number;
  /** The uuids of the peeks pending now. */
  readonly pending: () => Iterable<string>;
  /**
   * Told once per sweep that found peeks that waited at least `sweepMs` (and less than twice
   * that): their uuids, each reported once.
   */
  readonly onOverdue: (uuids: readonly string[]) => void;
}

/** Default threshold: a peek of a readable index is answered in well under a second. */
export const OVERDUE_PEEK_MS = 10_000;

export class OverduePeeks {
  readonly #sweepMs: number;
  readonly #pending: () => Iterable<string>;
  readonly #onOverdue: (uuids: readonly string[]) => void;
  /** Peeks pending at the last sweep and not reported. */
  #previous = new Set<string>();
  /** Peeks reported and still pending at the last sweep (never reported again). */
  #reported = new Set<string>();
  #timer: ReturnType<typeof setTimeout> | undefined;
  #closed = false;

  constructor(opts: OverduePeeksOptions) {
    this.#sweepMs = opts.sweepMs ?? OVERDUE_PEEK_MS;
    this.#pending = opts.pending;
    this.#onOverdue = opts.onOverdue;
  }

  /** The threshold (ms). */
  get sweepMs(): number {
    return this.#sweepMs;
  }

  /** A peek is pending: sweeps run from now until none is. */
  observe(): void {
    if (this.#timer === undefined && !this.#closed) this.#arm();
  }

  close(): void {
    this.#closed = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#previous.clear();
    this.#reported.clear();
  }

  #arm(): void {
    this.#timer = setTimeout(() => this.#sweep(), this.#sweepMs);
    this.#timer.unref?.();
  }

  #sweep(): void {
    this.#timer = undefined;
    if (this.#closed) return;
    const fresh = new Set<string>();
    const reported = new Set<string>();
    const overdue: string[] = [];
    for (const uuid of this.#pending()) {
      if (this.#reported.has(uuid)) reported.add(uuid);
      else if (this.#previous.has(uuid)) {
        // Pending at the previous sweep too: it waited at least one whole interval.
        reported.add(uuid);
        overdue.push(uuid);
      } else fresh.add(uuid);
    }
    this.#previous = fresh;
    this.#reported = reported;
    if (overdue.length > 0) this.#onOverdue(overdue);
    // Only reported peeks left: no more sweeps until the next peek.
    if (fresh.size > 0) this.#arm();
  }
}
