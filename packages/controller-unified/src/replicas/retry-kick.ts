/**
 * `RetryKick`: the wait between a replica task's connection attempts, which `kick()` ends at once
 * — the controller learned that the replica (re)started (the orchestrator saw it ready), so the
 * next attempt need not wait out the backoff. A restarted replica was otherwise found up to one
 * capped backoff (1 s, ±20 %) after it began serving (issue 16, rehydration after a kill -9).
 *
 * ## Invariants
 * - `wait(ms, signal)` resolves after `ms`, at a `kick()` (with true), or when `signal` aborts;
 *   never rejects and leaves no listener behind (`abortable-sleep.ts`).
 * - A `kick()` while no wait runs (an attempt is in flight) ends the next wait at once, so a
 *   kick is never lost to the attempt it raced; `connected()` forgets such a kick.
 */
import { sleep } from "./abortable-sleep.js";

export class RetryKick {
  #pending = false;
  #wake: (() => void) | undefined;

  /** Ends the current wait, or the next one when none runs. */
  kick(): void {
    if (this.#wake !== undefined) this.#wake();
    else this.#pending = true;
  }

  /** The attempt connected: a kick that came during it is spent. */
  connected(): void {
    this.#pending = false;
  }

  /** Waits `ms`, or until a kick or `signal`; true when a kick ended it. */
  async wait(ms: number, signal: AbortSignal): Promise<boolean> {
    if (this.#pending) {
      this.#pending = false;
      return true;
    }
    if (signal.aborted) return false;
    const local = new AbortController();
    const onAbort = () => local.abort();
    let kicked = false;
    signal.addEventListener("abort", onAbort, { once: true });
    this.#wake = () => {
      kicked = true;
      local.abort();
    };
    try {
      await sleep(ms, local.signal);
    } finally {
      this.#wake = undefined;
      signal.removeEventListener("abort", onAbort);
    }
    return kicked;
  }
}
