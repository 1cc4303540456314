/**
 * `waitForUpper` for the unified driver: callers waiting for a collection's write frontier to
 * reach a target, woken by the state's `writeFrontier` events (`advanced(id)`), each with a
 * timeout (unref'd). A waiter whose collection is forgotten or whose controller closes rejects.
 */
import { Frontier, type GlobalId } from "@mzts/repr";
import { InvalidStateRequest } from "./errors.js";

interface Waiter {
  readonly target: Frontier;
  readonly resolve: () => void;
  readonly reject: (e: Error) => void;
  readonly timer: NodeJS.Timeout;
}

/** Pending `waitForUpper` calls (see the file comment). */
export class UpperWaiters {
  readonly #waiters = new Map<GlobalId, Set<Waiter>>();
  /** The collection's current write frontier (throws when it is gone). */
  readonly #write: (id: GlobalId) => Frontier;

  constructor(write: (id: GlobalId) => Frontier) {
    this.#write = write;
  }

  /** Resolves once `id`'s write frontier is at or beyond `target`; rejects after `timeoutMs`. */
  wait(id: GlobalId, target: Frontier, timeoutMs: number): Promise<void> {
    if (Frontier.lessEqual(target, this.#write(id))) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#remove(id, w);
        reject(
          new InvalidStateRequest(
            "waitForUpper",
            `${id} did not reach ${Frontier.format(target)} within ${timeoutMs} ms; check the ` +
              "replicas' health, or wait longer",
          ),
        );
      }, timeoutMs);
      timer.unref();
      const w: Waiter = { target, resolve, reject, timer };
      let set = this.#waiters.get(id);
      if (set === undefined) this.#waiters.set(id, (set = new Set()));
      set.add(w);
    });
  }

  /** `id`'s write frontier advanced: wakes the waiters it satisfies. */
  advanced(id: GlobalId): void {
    const set = this.#waiters.get(id);
    if (set === undefined) return;
    let write: Frontier;
    try {
      write = this.#write(id);
    } catch (e) {
      for (const w of [...set]) this.#settle(id, w, () => w.reject(e as Error));
      return;
    }
    for (const w of [...set]) {
      if (Frontier.lessEqual(w.target, write)) this.#settle(id, w, () => w.resolve());
    }
  }

  /** Rejects every waiter with `error`. */
  closeAll(error: Error): void {
    for (const [id, set] of [...this.#waiters])
      for (const w of [...set]) this.#settle(id, w, () => w.reject(error));
  }

  #settle(id: GlobalId, w: Waiter, f: () => void): void {
    clearTimeout(w.timer);
    this.#remove(id, w);
    f();
  }

  #remove(id: GlobalId, w: Waiter): void {
    const set = this.#waiters.get(id);
    set?.delete(w);
    if (set?.size === 0) this.#waiters.delete(id);
  }
}
