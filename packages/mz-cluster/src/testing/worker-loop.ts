/**
 * `TestWorkerLoop`: the part of a worker thread's loop (`worker/worker-main.ts`) that a test of one
 * workload state, run in the test's own thread, needs: steps on request (`requestStep`: up to
 * `stepsPerTurn` steps in one event-loop turn, again next turn while the workload has more) and
 * maintenance through a `MaintenanceTimer` (`requestMaintenance`, 10 ms interval). Hand its
 * `requestStep` / `requestMaintenance` to the state as a worker loop would; `close()` stops both.
 * Tests only (@internal — no semver): the compute and storage maintenance tests use it.
 */
import { MaintenanceTimer } from "../worker/maintenance-timer.js";

export interface TestWorkerLoopOptions {
  /** One step of the workload; true while it has more to do. */
  step(): boolean;
  /**
   * One maintenance run (the workload's `maintain()`): ms until it is next due, or nothing for
   * the fixed cadence (`MaintenanceTimerOptions.run`).
   */
  maintain(): unknown;
  /** The timer's shortest time between runs (default 10 ms, the runtime's). */
  readonly intervalMs?: number;
  /** Steps per event-loop turn before yielding (default 100). */
  readonly stepsPerTurn?: number;
}

export class TestWorkerLoop {
  readonly timer: MaintenanceTimer;
  readonly #o: TestWorkerLoopOptions;
  #scheduled = false;
  #closed = false;

  constructor(options: TestWorkerLoopOptions) {
    this.#o = options;
    this.timer = new MaintenanceTimer({
      intervalMs: options.intervalMs ?? 10,
      run: () => options.maintain(),
    });
  }

  /** Steps soon (the next check phase), unless already scheduled or closed. */
  readonly requestStep = (): void => {
    if (this.#scheduled || this.#closed) return;
    this.#scheduled = true;
    setImmediate(() => {
      this.#scheduled = false;
      if (this.#closed) return;
      let more = true;
      for (let i = 0; i < (this.#o.stepsPerTurn ?? 100) && more; i++) more = this.#o.step();
      if (more) this.requestStep();
    });
  };

  /** Maintenance soon (`MaintenanceTimer.request`). */
  readonly requestMaintenance = (): void => this.timer.request();

  get closed(): boolean {
    return this.#closed;
  }

  /** No more steps or maintenance. */
  close(): void {
    this.#closed = true;
    this.timer.close();
  }
}

/** Polls `cond` every `pollMs` until it holds; fails naming `what` after `timeoutMs`. */
export async function until(
  cond: () => boolean,
  what: string,
  timeoutMs = 10_000,
  pollMs = 2,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, pollMs));
  }
}
