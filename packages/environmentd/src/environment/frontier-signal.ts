/**
 * Awaiting a frontier: a reader that needs the inputs of a collection to pass a time registers a
 * condition here and is woken by frontier updates instead of polling. The updates come from the
 * three frontier sources the environment reads (see `frontiers.ts`): the compute controller
 * (a replica reported a write frontier), the storage controller (`writeFrontier` events) and the
 * persist read holds (each tick refreshes the shards' uppers) — each calls `notify()`.
 *
 * ## Invariants
 * - A waiter's condition is evaluated at once, then after every `notify()` until it yields a
 *   value (resolve), throws (reject with that error) or the timeout passes (reject with the
 *   caller's error); its timer and registration are removed on every outcome.
 * - `close(error)` rejects every pending waiter with `error`; later waits reject at once.
 * - Conditions must be cheap and synchronous: they run on the controllers' response paths.
 */

/** A condition: `undefined` = not yet; a value = done; a throw = fail. */
export type FrontierCondition<T> = () => T | undefined;

interface Waiter {
  /** Re-evaluates the condition; true once settled. */
  readonly check: () => boolean;
  readonly fail: (error: Error) => void;
}

/** Wakes readers waiting for frontiers (see the file comment). */
export class FrontierSignal {
  readonly #waiters = new Set<Waiter>();
  #closed: Error | undefined;

  /** Frontiers may have moved: re-check every waiter. */
  notify(): void {
    for (const w of [...this.#waiters]) w.check();
  }

  /** Pending waiters (for tests and metrics). */
  get waiting(): number {
    return this.#waiters.size;
  }

  /**
   * Resolves with the condition's first value, re-evaluated at every `notify()`; rejects with
   * `onTimeout()` after `timeoutMs`, or with what the condition throws.
   */
  until<T>(condition: FrontierCondition<T>, timeoutMs: number, onTimeout: () => Error): Promise<T> {
    if (this.#closed !== undefined) return Promise.reject(this.#closed);
    return new Promise<T>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const settle = () => {
        this.#waiters.delete(waiter);
        clearTimeout(timer);
      };
      const waiter: Waiter = {
        check: () => {
          let value: T | undefined;
          try {
            value = condition();
          } catch (e) {
            settle();
            reject(e);
            return true;
          }
          if (value === undefined) return false;
          settle();
          resolve(value);
          return true;
        },
        fail: (error) => {
          settle();
          reject(error);
        },
      };
      if (waiter.check()) return;
      this.#waiters.add(waiter);
      timer = setTimeout(() => waiter.fail(onTimeout()), Math.max(0, timeoutMs));
    });
  }

  /** Rejects every pending waiter with `error`, and every later wait. */
  close(error: Error): void {
    this.#closed = error;
    for (const w of [...this.#waiters]) w.fail(error);
  }
}
