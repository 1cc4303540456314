/**
 * `ChangeWatch`: the idle listeners of one shard in one process wait on ONE poll loop instead of
 * one each (issue 16). Before, each of a replica's N listeners of a source shard slept
 * `pollIntervalMs` (20 ms) on its own timer and AbortSignal listener and then re-polled: N × 50
 * wakeups a second for a shard that changes about twice a second; at 300 indexes the idle replica's
 * compute worker spent about a quarter of its time there.
 *
 * A waiter says which state it has seen (its seqno). It is woken when the shard moved past it:
 * at once when the machine already holds a newer state, on any in-process commit (`notify`: all
 * waiters, as the commit may have come through another client's machine), or when the watch's
 * single timer (every `pollMs` while anyone waits) reads a newer head — the
 * writes of other processes. A poll that fails wakes everybody (they read again and see the
 * error themselves). `cancel` (a listener closing) resolves the wait at once.
 */
import type { SeqNo } from "./consensus/consensus.js";
import type { VersionedState } from "./machine.js";
import { subscribeOnce } from "./wakeup.js";

interface Waiter {
  readonly seen: SeqNo;
  readonly wake: () => void;
}

/** A wait for a change; `cancel` ends it early (idempotent). */
export interface ChangeWait {
  readonly changed: Promise<void>;
  cancel(): void;
}

export class ChangeWatch {
  readonly #key: string;
  readonly #pollMs: number;
  readonly #head: () => Promise<VersionedState>;
  readonly #current: () => SeqNo | undefined;
  readonly #waiters = new Set<Waiter>();
  #timer: ReturnType<typeof setTimeout> | undefined;
  #unsubscribe: (() => void) | undefined;

  /**
   * @param key the in-process wakeup key of the shard
   * @param head a shared head read (`ShardMachine.poll`)
   * @param current the newest seqno the process holds (`ShardMachine.cached`)
   */
  constructor(
    key: string,
    pollMs: number,
    head: () => Promise<VersionedState>,
    current: () => SeqNo | undefined,
  ) {
    this.#key = key;
    this.#pollMs = pollMs;
    this.#head = head;
    this.#current = current;
  }

  /** Resolves once the shard's state is newer than `seen` (or on cancel). */
  wait(seen: SeqNo): ChangeWait {
    let waiter: Waiter | undefined;
    const changed = new Promise<void>((resolve) => {
      const cur = this.#current();
      if (cur !== undefined && cur > seen) {
        resolve();
        return;
      }
      waiter = { seen, wake: resolve };
      this.#waiters.add(waiter);
      this.#arm();
    });
    return {
      changed,
      cancel: () => {
        if (waiter === undefined || !this.#waiters.delete(waiter)) return;
        waiter.wake();
        this.#disarmIfIdle();
      },
    };
  }

  /** Waiters (for tests). */
  get waiting(): number {
    return this.#waiters.size;
  }

  #arm(): void {
    // A commit in this process may come through another client's machine (same store), whose
    // seqno this one has not seen yet: wake everybody, they re-read (one shared head read).
    this.#unsubscribe ??= subscribeOnce(this.#key, () => {
      this.#unsubscribe = undefined;
      this.#wake(undefined);
    });
    // Ref'd, as each listener's own timer was: a process waiting for another's writes stays up.
    this.#timer ??= setTimeout(() => this.#tick(), this.#pollMs);
  }

  #tick(): void {
    this.#timer = undefined;
    if (this.#waiters.size === 0) return;
    this.#head().then(
      (v) => this.#wake(v.seqNo),
      () => this.#wake(undefined),
    );
  }

  /** Wakes the waiters that have seen less than `seqNo` (all of them for `undefined`). */
  #wake(seqNo: SeqNo | undefined): void {
    for (const w of this.#waiters) {
      if (seqNo !== undefined && w.seen >= seqNo) continue;
      this.#waiters.delete(w);
      w.wake();
    }
    if (this.#waiters.size > 0) this.#arm();
    else this.#disarmIfIdle();
  }

  #disarmIfIdle(): void {
    if (this.#waiters.size > 0) return;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#unsubscribe?.();
    this.#unsubscribe = undefined;
  }
}
