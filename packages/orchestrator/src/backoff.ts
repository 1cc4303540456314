/**
 * Restart backoff: exponential and capped, reset after a replica stayed up long enough.
 *
 * attempt n (1-based) is spaced `min(maxMs, initialMs · factor^(n-1))` after the start of the run
 * that died: the pause is that delay minus the run's uptime (`restartDelay`), so a crash loop at
 * start-up (uptime ~0) waits the whole delay and slows down to one try per `maxMs`, while a replica
 * that served longer than its delay is back without a pause (every pause is rehydration time).
 * The attempt counter goes back to 1 when a process had been online for at least `resetAfterMs`.
 *
 * Issue 16: the pause used to be the whole delay whatever the uptime, so a replica killed every
 * 20–50 s (a benchmark's repeated kill -9, each after a full rehydration) waited 0.5, 1, 2, 4, 8,
 * 16 s: its replay time doubled with every kill, which looked like state growing per incarnation
 * (persist's shard states and environmentd's memory measured flat; `e2e/bench/replay-growth`).
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
 * The pause before the restart of a process that ran `uptimeMs` and whose next attempt is
 * `attempt`: none after a run of at least `resetAfterMs` (at most one restart per `resetAfterMs`
 * can come this way), else what is left of `backoffDelay` after the run — two starts are never
 * closer than the delay, and a run that outlasted it restarts at once.
 */
export function restartDelay(backoff: RestartBackoff, attempt: number, uptimeMs: number): number {
  if (uptimeMs >= backoff.resetAfterMs) return 0;
  return Math.max(0, backoffDelay(backoff, attempt) - Math.max(0, uptimeMs));
}
