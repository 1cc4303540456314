/**
 * `MaintenanceTimer`: when a worker thread runs its workload's `maintain()` (issue 16). Before,
 * every worker ran it on a fixed 10 ms interval whether anything had changed or not: at idle that
 * was 100 wakeups a second per worker, each followed by a step round, about a quarter of an idle
 * compute worker's busy time.
 *
 * ## When it runs
 * - **Asked** (`request()`, the workload's `ctx.requestMaintenance()`): something changed that
 *   maintenance reports (a dataflow ran, a command was applied, a peek was answered). It runs at
 *   once when the last run is at least `intervalMs` ago, else at `intervalMs` after the last run:
 *   a report never waits longer than the fixed interval made it wait (a change after a quiet
 *   spell is reported within about a millisecond instead of up to 10 ms later), and under load it
 *   runs at most once per `intervalMs`, as before. "At once" is an immediate queued from an
 *   immediate: it runs in the event loop's next check phase, after every immediate queued with
 *   the request (the step a command asked for), so a peek's answer never waits behind
 *   maintenance. (A 0 ms timeout does not guarantee that: Node runs a timer before or after the
 *   immediates of the same turn depending on where in the loop it was set and how long the turn
 *   took; CI saw maintenance run first.)
 * - **Due** (what `run()` returns): the ms until the workload must run again unasked, e.g. the
 *   next log interval boundary (log indexes advance with the wall clock); `Infinity` = only when
 *   asked. A workload whose `maintain()` returns nothing keeps the fixed cadence (`intervalMs`).
 * The earlier of the two wins; a timer is armed only while a run is pending, so an idle worker
 * whose workload has nothing periodic sleeps.
 *
 * A run that throws is the caller's problem (`run` is the workload's `maintain`, which never
 * throws); the timer stays usable. `close()` disarms it for good.
 */

export interface MaintenanceTimerOptions {
  /** The shortest time between two runs (the runtime's `maintenanceIntervalMs`). */
  readonly intervalMs: number;
  /**
   * One maintenance run; returns the ms until the next one is due unasked (`Infinity`: only when
   * asked), or nothing for the fixed cadence.
   */
  readonly run: () => unknown;
  /** Monotonic clock in ms (default `performance.now`). */
  readonly now?: () => number;
}

export class MaintenanceTimer {
  readonly #intervalMs: number;
  readonly #run: () => unknown;
  readonly #now: () => number;
  #lastRun = Number.NEGATIVE_INFINITY;
  /** When the armed run is due (Infinity: none armed). */
  #dueAt = Number.POSITIVE_INFINITY;
  #timeout: ReturnType<typeof setTimeout> | undefined;
  #immediate: ReturnType<typeof setImmediate> | undefined;
  #closed = false;
  #runs = 0;

  constructor(options: MaintenanceTimerOptions) {
    this.#intervalMs = options.intervalMs;
    this.#run = options.run;
    this.#now = options.now ?? (() => performance.now());
  }

  /** Something changed: run soon (at once, or `intervalMs` after the last run). */
  request(): void {
    // Already armed no later than `intervalMs` after the last run: a request cannot make it
    // earlier (it asks for max(now, lastRun + intervalMs)), so it needs no clock read — a worker
    // requests several times per peek, and a read of the clock is the cost (issue 16).
    if (this.#dueAt <= this.#lastRun + this.#intervalMs) return;
    this.#armAt(Math.max(this.#now(), this.#lastRun + this.#intervalMs));
  }

  /** Whether a run is pending (for tests). */
  get armed(): boolean {
    return this.#dueAt !== Number.POSITIVE_INFINITY;
  }

  /** Runs so far (for tests). */
  get runs(): number {
    return this.#runs;
  }

  /** Disarms for good. */
  close(): void {
    this.#closed = true;
    this.#disarm();
  }

  #armAt(at: number): void {
    if (this.#closed || at >= this.#dueAt) return;
    this.#disarm();
    this.#dueAt = at;
    const delay = Math.max(0, Math.ceil(at - this.#now()));
    if (delay > 0) this.#timeout = setTimeout(() => this.#fire(), delay);
    else
      this.#immediate = setImmediate(() => {
        this.#immediate = setImmediate(() => this.#fire());
      });
  }

  #disarm(): void {
    if (this.#timeout !== undefined) clearTimeout(this.#timeout);
    if (this.#immediate !== undefined) clearImmediate(this.#immediate);
    this.#timeout = undefined;
    this.#immediate = undefined;
    this.#dueAt = Number.POSITIVE_INFINITY;
  }

  #fire(): void {
    this.#timeout = undefined;
    this.#immediate = undefined;
    this.#dueAt = Number.POSITIVE_INFINITY;
    if (this.#closed) return;
    const now = this.#now();
    this.#lastRun = now;
    this.#runs++;
    const next = this.#run();
    const due = typeof next === "number" ? next : this.#intervalMs;
    if (Number.isFinite(due)) this.#armAt(now + Math.max(0, due));
  }
}
