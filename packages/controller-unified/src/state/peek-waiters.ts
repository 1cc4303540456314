/**
 * The callers' side of the unified driver's peeks: one promise per pending peek, settled from the
 * state's `peekSettled` events, with the caller's timeout and abort signal. The state
 * (`ClusterState.beginPeek` / `finishPeek`) owns the peek itself — its hold, its place in the
 * history, the `cancelPeek` — this file only owns promises, timers and listeners.
 *
 * ## Outcomes (the compute controller's, so callers handle both paths alike)
 * - an answer with rows → resolves `{ rows, replicaId }`;
 * - an answer with an error → `PeekFailed(uuid, message)`; a `canceled` answer →
 *   `PeekCanceled(uuid, "canceled by the replica")`;
 * - settled without an answer (its target replica failed or was dropped) →
 *   `PeekFailed(uuid, "target replica failed or was dropped")`;
 * - `timeoutMs` elapsed → `PeekTimeout`; the signal aborted → `PeekCanceled`; `closeAll` →
 *   `PeekCanceled(uuid, "the cluster controller closed")`. In each of these the driver's
 *   `finish(uuid)` settles the state's side first (retire, `cancelPeek`, release the hold).
 * - Every outcome cancels the deadline and removes the abort listener. The deadlines share one
 *   timer (`deadline-queue.ts`, which keeps no process alive): a timeout fires no earlier than
 *   `timeoutMs − DEADLINE_RESOLUTION_MS` (1 ms).
 */
import type { PeekResponse } from "@mzts/protocol";
import type { ReplicaId } from "@mzts/repr";
import type { ClusterPeekAnswer } from "./cluster-controller.js";
import { type Deadline, DeadlineQueue } from "./deadline-queue.js";
import { PeekCanceled, PeekFailed, PeekTimeout } from "./errors.js";

interface Waiter {
  readonly resolve: (a: ClusterPeekAnswer) => void;
  readonly reject: (e: Error) => void;
  readonly dispose: () => void;
}

/** Pending peek promises (see the file comment). */
export class PeekWaiters {
  readonly #waiters = new Map<string, Waiter>();
  readonly #deadlines = new DeadlineQueue({ ref: false });
  /** Settles the state's side of a peek that ends without an answer. */
  readonly #finish: (uuid: string) => void;

  constructor(finish: (uuid: string) => void) {
    this.#finish = finish;
  }

  get size(): number {
    return this.#waiters.size;
  }

  /**
   * The promise of peek `uuid`, begun by the caller right after (`begin` runs synchronously
   * inside; if it throws, nothing is left behind and the promise rejects with its error).
   */
  wait(
    uuid: string,
    options: { readonly timeoutMs?: number; readonly signal?: AbortSignal },
    begin: () => void,
  ): Promise<ClusterPeekAnswer> {
    const { timeoutMs, signal } = options;
    if (signal?.aborted === true) {
      return Promise.reject(new PeekCanceled(uuid, "the caller aborted it before it began"));
    }
    return new Promise<ClusterPeekAnswer>((resolve, reject) => {
      let deadline: Deadline | undefined;
      const onAbort = () => this.#cancel(uuid, new PeekCanceled(uuid, "the caller aborted it"));
      const dispose = () => {
        deadline?.cancel();
        signal?.removeEventListener("abort", onAbort);
      };
      this.#waiters.set(uuid, { resolve, reject, dispose });
      try {
        begin();
      } catch (e) {
        this.#waiters.delete(uuid);
        dispose();
        reject(e);
        return;
      }
      if (timeoutMs !== undefined) {
        deadline = this.#deadlines.add(timeoutMs, () =>
          this.#cancel(uuid, new PeekTimeout(uuid, timeoutMs)),
        );
      }
      signal?.addEventListener("abort", onAbort, { once: true });
    });
  }

  /** The state settled peek `uuid` (a `peekSettled` event). */
  settled(uuid: string, replicaId: ReplicaId | undefined, response: PeekResponse | undefined) {
    const w = this.#take(uuid);
    if (w === undefined) return;
    if (response === undefined || replicaId === undefined) {
      w.reject(new PeekFailed(uuid, "target replica failed or was dropped"));
    } else if (response.kind === "rows") {
      w.resolve({ rows: response.rows, replicaId });
    } else if (response.kind === "error") {
      w.reject(new PeekFailed(uuid, response.message));
    } else {
      w.reject(new PeekCanceled(uuid, "canceled by the replica"));
    }
  }

  /** Rejects peek `uuid` with `error`, settling the state's side first (quarantine). */
  fail(uuid: string, error: Error): void {
    this.#cancel(uuid, error);
  }

  /** Rejects every pending peek (the controller closed). */
  closeAll(): void {
    for (const uuid of [...this.#waiters.keys()]) {
      this.#cancel(uuid, new PeekCanceled(uuid, "the cluster controller closed"));
    }
  }

  #cancel(uuid: string, error: Error): void {
    const w = this.#take(uuid);
    if (w === undefined) return;
    this.#finish(uuid); // its peekSettled event finds no waiter any more
    w.reject(error);
  }

  #take(uuid: string): Waiter | undefined {
    const w = this.#waiters.get(uuid);
    if (w === undefined) return undefined;
    this.#waiters.delete(uuid);
    w.dispose();
    return w;
  }
}
