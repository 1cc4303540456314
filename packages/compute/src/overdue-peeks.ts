/**
 * `OverduePeeks`: the replica main thread's guard against a peek left waiting for a worker's
 * answer (issue 16: once, in a phase-1 bench run under load, one sequential peek of a ready
 * index went unanswered for 60 s; it never recurred and no log was kept). It proves nothing
 * wrong by itself — a peek of an index that is not yet readable rightly waits — but when a peek
 * waits long, the replica says so once, with the workers whose answers are still missing, so a
 * stall is located (a worker that never answered, or an answer lost on the way to the merge)
 * instead of guessed at.
 *
 * ## Rules
 * - The merger calls `observe(uuid)` for every peek command, `answered(uuid, part)` for every
 *   worker answer and `done(uuid)` when the merged answer leaves (all parts answered).
 * - A sweep runs every `sweepMs` while peeks are pending (an unref'd timer: it never keeps the
 *   process up; none at idle). A peek pending at two consecutive sweeps has waited at least
 *   `sweepMs`: it is reported once (`onOverdue`), then never again. No clock is read per peek —
 *   a peek remembers the sweep count when it was observed (issue 16: the per-peek cost).
 * - `close()` (the connection ended: its peeks will never be answered to it) stops the sweeps and
 *   forgets every peek.
 * - Parts 0 to 30 are tracked (a bit each); a higher part is always listed as missing.
 */

/** A peek that waited at least `sweepMs` (see the file comment). */
export interface OverduePeek {
  readonly uuid: string;
  /** The workers whose answers had not arrived at the sweep. */
  readonly missingParts: readonly number[];
  /** At least this long, and less than twice as long. */
  readonly waitedAtLeastMs: number;
}

export interface OverduePeeksOptions {
  /** Number of parts (workers). */
  readonly parts: number;
  /** The sweep interval and threshold; default `OVERDUE_PEEK_MS`. */
  readonly sweepMs?: number;
  readonly onOverdue: (peek: OverduePeek) => void;
}

/** Default threshold: a peek of a readable index is answered in well under a second. */
export const OVERDUE_PEEK_MS = 10_000;

/** Parts tracked in an entry's bitmask. */
const TRACKED_PARTS = 31;

interface Entry {
  /** The sweep count when the peek was observed. */
  readonly sweep: number;
  /** Bit `p`: part `p` answered. */
  answered: number;
}

export class OverduePeeks {
  readonly #parts: number;
  readonly #sweepMs: number;
  readonly #onOverdue: (peek: OverduePeek) => void;
  readonly #pending = new Map<string, Entry>();
  #sweeps = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #closed = false;

  constructor(opts: OverduePeeksOptions) {
    this.#parts = opts.parts;
    this.#sweepMs = opts.sweepMs ?? OVERDUE_PEEK_MS;
    this.#onOverdue = opts.onOverdue;
  }

  /** Peeks being watched (for tests). */
  get pending(): number {
    return this.#pending.size;
  }

  observe(uuid: string): void {
    if (this.#closed) return;
    this.#pending.set(uuid, { sweep: this.#sweeps, answered: 0 });
    if (this.#timer === undefined) this.#arm();
  }

  answered(uuid: string, part: number): void {
    const e = this.#pending.get(uuid);
    if (e !== undefined && part < TRACKED_PARTS) e.answered |= 1 << part;
  }

  done(uuid: string): void {
    this.#pending.delete(uuid);
  }

  close(): void {
    this.#closed = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#pending.clear();
  }

  #arm(): void {
    this.#timer = setTimeout(() => this.#sweep(), this.#sweepMs);
    this.#timer.unref?.();
  }

  #sweep(): void {
    this.#timer = undefined;
    if (this.#closed) return;
    this.#sweeps++;
    // Observed before the previous sweep: waited at least one whole interval. Reported once
    // (then forgotten).
    for (const [uuid, e] of this.#pending) {
      if (e.sweep > this.#sweeps - 2) continue;
      const missingParts: number[] = [];
      for (let p = 0; p < this.#parts; p++) {
        if (p >= TRACKED_PARTS || (e.answered & (1 << p)) === 0) missingParts.push(p);
      }
      this.#pending.delete(uuid);
      this.#onOverdue({ uuid, missingParts, waitedAtLeastMs: this.#sweepMs });
    }
    if (this.#pending.size > 0) this.#arm();
  }
}
