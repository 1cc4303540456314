/**
 * `ChangeWatch`: the idle listeners of one shard in one process wait on ONE poll loop instead of
 * one each (issue 16). Before, each of a replica's N listeners of a source shard slept
 * `pollIntervalMs` (20 ms) on its own timer and AbortSignal listener and then re-polled: N × 50
 * wakeups a second for a shard that changes about twice a second; at 300 indexes the idle replica's
 * compute worker spent about a quarter of its time there.
 *
 * A waiter says where it stands (its position). It is woken when a state of the shard has its
 * upper past that position (which includes a dropped shard: upper EMPTY) — not on every change
 * of the state: most of an idle shard's changes are readers' since downgrades and heartbeats,
 * and waking every listener for each of those cost N wakeups, N head checks and N re-waits per
 * change. The states looked at: the machine's cached one (at once), a fresh head read after any
 * in-process commit (`notify`; it may have come through another client's machine, whose state
 * this machine has not seen: one read per commit for all waiters, never one shared with a read
 * that began before the commit), and the single timer's shared head read every `pollMs` while
 * anyone waits — the writes of other processes. A read that fails wakes everybody (they read
 * again and see the error themselves). `cancel` (a listener closing) resolves the wait at once.
 */
import { Frontier, type Timestamp } from "@mzts/repr";
import type { VersionedState } from "./machine.js";
import { subscribeOnce } from "./wakeup.js";

interface Waiter {
  readonly pos: Timestamp;
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
  readonly #fresh: () => Promise<VersionedState>;
  readonly #current: () => VersionedState | undefined;
  readonly #waiters = new Set<Waiter>();
  #timer: ReturnType<typeof setTimeout> | undefined;
  #unsubscribe: (() => void) | undefined;
  /** A fresh read after a commit is in flight; `#again`: another commit came during it. */
  #reading = false;
  #again = false;

  /**
   * @param key the in-process wakeup key of the shard
   * @param head a shared head read (`ShardMachine.poll`)
   * @param fresh a head read begun now (`ShardMachine.fetch`)
   * @param current the newest state the process holds (`ShardMachine.cached`)
   */
  constructor(
    key: string,
    pollMs: number,
    head: () => Promise<VersionedState>,
    fresh: () => Promise<VersionedState>,
    current: () => VersionedState | undefined,
  ) {
    this.#key = key;
    this.#pollMs = pollMs;
    this.#head = head;
    this.#fresh = fresh;
    this.#current = current;
  }

  /** Resolves once a state of the shard has its upper past `pos` (or on cancel). */
  wait(pos: Timestamp): ChangeWait {
    let waiter: Waiter | undefined;
    const changed = new Promise<void>((resolve) => {
      const cur = this.#current();
      if (cur !== undefined && Frontier.lessThan(pos, cur.state.upper)) {
        resolve();
        return;
      }
      waiter = { pos, wake: resolve };
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
    this.#unsubscribe ??= subscribeOnce(this.#key, () => {
      this.#unsubscribe = undefined;
      this.#afterCommit();
    });
    // Ref'd, as each listener's own timer was: a process waiting for another's writes stays up.
    this.#timer ??= setTimeout(() => this.#tick(), this.#pollMs);
  }

  /** An in-process commit: one fresh head read for all waiters (again if more commits came). */
  #afterCommit(): void {
    if (this.#waiters.size === 0) {
      this.#disarmIfIdle();
      return;
    }
    this.#arm();
    if (this.#reading) {
      this.#again = true;
      return;
    }
    this.#reading = true;
    this.#fresh().then(
      (v) => this.#readDone(v),
      () => this.#readDone(undefined),
    );
  }

  #readDone(v: VersionedState | undefined): void {
    this.#reading = false;
    this.#wake(v);
    if (this.#again) {
      this.#again = false;
      this.#afterCommit();
    }
  }

  #tick(): void {
    this.#timer = undefined;
    if (this.#waiters.size === 0) return;
    this.#head().then(
      (v) => this.#wake(v),
      () => this.#wake(undefined),
    );
  }

  /** Wakes the waiters whose position `v`'s upper passed (all of them for `undefined`). */
  #wake(v: VersionedState | undefined): void {
    for (const w of this.#waiters) {
      if (v !== undefined && !Frontier.lessThan(w.pos, v.state.upper)) continue;
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
