/**
 * The unified rehydration policy (design §9 phase 3): when a replica's next incarnation starts
 * after its current one failed. Replaces the two legacy policies — compute's "at once, crash
 * loops backed off without jitter" and storage's "at the next 1 s maintenance tick" — with one,
 * which both controllers' instances apply when their connector carries it
 * (`ReplicaConnector.rehydration`, set by the unified task's connector).
 *
 * ## Rule
 * - An incarnation that ran at least `quickFailureMs` before failing is followed at once
 *   (synchronously, inside `failed`): a replica that crashed after a long run is back as fast as
 *   it restarts.
 * - Incarnations failing sooner form a crash loop (e.g. a replica refusing a replayed command or
 *   the hello): the first is still followed at once, the n-th (n ≥ 2) in a row after
 *   `backoffDelayMs(n − 1, backoff)` — 125 ms doubling to 5 s, ±20 % jitter so replicas of a
 *   cluster that crash together do not reconnect in lockstep.
 *
 * ## Lifecycle of a `ReplicaRehydration` (one per replica of an instance)
 * `started()` at every spawn → `failed(respawn)` when that incarnation failed → `respawn` runs
 * now or after the delay (the timer is unref'd) → `started()` again. `cancel()` (replica removed,
 * instance closed) drops a pending respawn; a cancelled respawn never runs.
 */
import { type Backoff, backoffDelayMs, checkBackoff } from "./backoff.js";

/** The numbers of the policy (see the file comment). */
export interface RehydrationTuning {
  /** An incarnation failing sooner than this after its start counts toward a crash loop. */
  readonly quickFailureMs: number;
  /** The pause before the n-th quick failure's successor is `backoffDelayMs(n − 1, backoff)`. */
  readonly backoff: Backoff;
}

/** 5 s; 125 ms doubling to 5 s with ±20 % jitter. */
export const DEFAULT_REHYDRATION: RehydrationTuning = {
  quickFailureMs: 5000,
  backoff: { initialMs: 125, maxMs: 5000, jitter: 0.2 },
};

/** A rehydration policy: builds the per-replica schedule. */
export interface RehydrationPolicy {
  /** The schedule of one replica (an instance keeps one per replica, across its incarnations). */
  forReplica(): ReplicaRehydration;
}

/** Clock and randomness of a policy (tests inject them). */
export interface RehydrationClock {
  readonly now?: () => number;
  readonly random?: () => number;
}

/**
 * The unified policy with `tuning` (default `DEFAULT_REHYDRATION`).
 * @throws InvalidBackoff when `tuning.backoff` is out of range.
 */
export function createRehydrationPolicy(
  tuning: RehydrationTuning = DEFAULT_REHYDRATION,
  clock: RehydrationClock = {},
): RehydrationPolicy {
  checkBackoff(tuning.backoff);
  return { forReplica: () => new ReplicaRehydration(tuning, clock) };
}

/** One replica's rehydration schedule (see the file comment). */
export class ReplicaRehydration {
  readonly #tuning: RehydrationTuning;
  readonly #now: () => number;
  readonly #random: () => number;
  /** When the current incarnation was started (`started()`); 0 before the first. */
  #startedAt = 0;
  /** Incarnations in a row that failed within `quickFailureMs` of their start. */
  #quickFailures = 0;
  /** The pending delayed respawn, between `failed` and its run or `cancel`. */
  #timer: NodeJS.Timeout | undefined;

  constructor(tuning: RehydrationTuning, clock: RehydrationClock = {}) {
    this.#tuning = tuning;
    this.#now = clock.now ?? Date.now;
    this.#random = clock.random ?? Math.random;
  }

  /** Incarnations in a row that failed quickly (0 after one that ran long enough). */
  get quickFailures(): number {
    return this.#quickFailures;
  }

  /** Whether a delayed respawn is pending. */
  get pending(): boolean {
    return this.#timer !== undefined;
  }

  /** A new incarnation of the replica was started now. */
  started(): void {
    this.#startedAt = this.#now();
  }

  /**
   * The current incarnation failed: runs `respawn` at once or after the crash-loop pause, and
   * returns that pause in ms (0 = it already ran). A pending respawn is replaced.
   */
  failed(respawn: () => void): number {
    this.cancel();
    const ranMs = this.#now() - this.#startedAt;
    this.#quickFailures = ranMs < this.#tuning.quickFailureMs ? this.#quickFailures + 1 : 0;
    const delay =
      this.#quickFailures <= 1
        ? 0
        : backoffDelayMs(this.#quickFailures - 1, this.#tuning.backoff, this.#random);
    if (delay === 0) {
      respawn();
      return 0;
    }
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      respawn();
    }, delay);
    this.#timer.unref();
    return delay;
  }

  /** Drops a pending respawn (the replica was removed or the instance closed). */
  cancel(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}
