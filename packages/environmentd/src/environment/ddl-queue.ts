/**
 * The DDL queue: every catalog write of this environmentd (DDL, shard GC) runs here, one at a
 * time, so the controllers see the catalog's order.
 *
 * ## Invariants
 * - Operations run in submission order; one failing does not stop the next.
 * - The resolved-object cache stays current through the operations' own catalog writes
 *   (`object-cache.ts`: the tracked catalog applies each write's result); only writes through
 *   this queue change the catalog for this generation.
 * - An operation refused with `StaleGeneration` reports the newer generation (`onStale`): a newer
 *   environmentd booted and this one must stop acting.
 * - After `close()`, new operations reject with `EnvironmentClosed`; `idle()` waits for the
 *   running ones.
 */
import { StaleGeneration } from "../catalog/errors.js";
import { EnvironmentClosed } from "../errors.js";

export class DdlQueue {
  readonly #onStale: (newer: bigint) => void;
  #chain: Promise<unknown> = Promise.resolve();
  #closed = false;

  constructor(onStale: (newer: bigint) => void) {
    this.#onStale = onStale;
  }

  /** Runs `f` after every operation submitted before it. */
  run<T>(f: () => Promise<T>): Promise<T> {
    if (this.#closed) return Promise.reject(new EnvironmentClosed());
    const op = () => f();
    const next = this.#chain.then(op, op);
    this.#chain = next.catch((e: unknown) => {
      if (e instanceof StaleGeneration) this.#onStale(e.currentGeneration);
    });
    return next;
  }

  /** Resolves once every submitted operation settled. */
  idle(): Promise<unknown> {
    return this.#chain;
  }

  /** Refuses new operations. */
  close(): void {
    this.#closed = true;
  }
}
