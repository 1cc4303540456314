/**
 * Restart backoff: exponential and capped, reset after a replica stayed up long enough.
 *
 * attempt n (1-based) waits `min(maxMs, initialMs · factor^(n-1))`. The attempt counter goes back
 * to 1 when a process had been online for at least `resetAfterMs` before it died, and that restart
 * is immediate (`restartDelay`): a replica that crashes once a day is back without a pause (every
 * pause is rehydration time), while one that dies sooner backs off and a crash loop slows down to
 * one try per `maxMs`.
 */

export interface RestartBackoff {
  /** Delay before the first restart. Default 500 ms. */
  readonly initialMs: number;
  /** Cap on any delay. Default 30 s. */
  readonly maxMs: number;
  /** Growth per consecutive failed run. Default 2. */
  readonly factor: number;
  /** A run at least this long resets the counter. Default 60 s. */
  readonly resetAfterMs: number;
}

export const DEFAULT_RESTART_BACKOFF: RestartBackoff = {
  initialMs: 500,
  maxMs: 30_000,
  factor: 2,
  resetAfterMs: 60_000,
};

/** The delay before restart number `attempt` (1-based). */
export function backoffDelay(backoff: RestartBackoff, attempt: number): number {
  const raw = backoff.initialMs * backoff.factor ** Math.max(0, attempt - 1);
  return Math.min(backoff.maxMs, Math.round(raw));
}

/** The attempt number of the next restart, given the previous one and how long the run lasted. */
export function nextAttempt(backoff: RestartBackoff, previous: number, uptimeMs: number): number {
  return uptimeMs >= backoff.resetAfterMs ? 1 : previous + 1;
}

/**
 * The delay before the restart of a process that ran `uptimeMs` and whose next attempt is
 * `attempt`: none after a run of at least `resetAfterMs` (at most one restart per `resetAfterMs`
 * can come this way), else `backoffDelay`.
 */
export function restartDelay(backoff: RestartBackoff, attempt: number, uptimeMs: number): number {
  return uptimeMs >= backoff.resetAfterMs ? 0 : backoffDelay(backoff, attempt);
}
