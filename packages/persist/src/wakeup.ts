/**
 * In-process wakeups: when a write commits, listeners and waiting snapshots of the same shard in
 * the same process are woken at once instead of at their next poll.
 *
 * Keyed by `consensus.location + shard id`, and process-global, so two clients opened on the
 * same data directory wake each other. Writers in other processes are still seen by polling.
 */

/** Per key, the callbacks waiting for the next commit. */
const waiters = new Map<string, Set<() => void>>();

/** Wakes everything waiting on `key`. */
export function notify(key: string): void {
  const set = waiters.get(key);
  if (set === undefined) return;
  waiters.delete(key);
  for (const f of set) f();
}

/**
 * Resolves after the next `notify(key)` or after `ms`, whichever is first; `signal` aborts early.
 * Resolves (never rejects); the caller re-reads the state either way.
 */
export function waitForChange(key: string, ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    let set = waiters.get(key);
    if (set === undefined) {
      set = new Set();
      waiters.set(key, set);
    }
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      const s = waiters.get(key);
      s?.delete(done);
      if (s?.size === 0) waiters.delete(key);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener("abort", done, { once: true });
    set.add(done);
    if (signal?.aborted) done();
  });
}

/**
 * Calls `f` once at the next `notify(key)`; returns the unsubscribe (a shared watcher waiting for
 * many listeners, see `change-watch.ts`).
 */
export function subscribeOnce(key: string, f: () => void): () => void {
  let set = waiters.get(key);
  if (set === undefined) {
    set = new Set();
    waiters.set(key, set);
  }
  const s = set;
  s.add(f);
  return () => {
    s.delete(f);
    if (s.size === 0 && waiters.get(key) === s) waiters.delete(key);
  };
}
