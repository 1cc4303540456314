/**
 * `sleep(ms, signal)`: the pause between a replica task's connection attempts. It resolves after
 * `ms` or as soon as `signal` aborts, and in both cases leaves no listener on `signal` — a task's
 * signal lives across every retry of an incarnation, so a listener left per sleep piles up
 * (`MaxListenersExceededWarning` after a replica stays down for a dozen attempts; issue 10).
 */

/** Resolves after `ms`, or at once when `signal` is (or becomes) aborted; never rejects. */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
  });
}
