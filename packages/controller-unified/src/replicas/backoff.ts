/**
 * The one reconnect backoff of both controllers' replica tasks (Materialize's replica task:
 * 125 ms doubling to a cap, with jitter). Replaces compute-client's and storage-client's two
 * `backoffDelayMs` with different signatures.
 *
 * `delay(attempt) = round(min(maxMs, initialMs × 2^(attempt − 1)) × (1 − jitter + 2·jitter·random()))`
 * for `attempt ≥ 1` (the number of consecutive failed attempts so far); the exponent is capped
 * at 30 so a long outage never overflows.
 */
import { InvalidBackoff } from "../errors.js";

/** A reconnect backoff: the first delay, its cap, and the jitter as a fraction of the delay. */
export interface Backoff {
  readonly initialMs: number;
  readonly maxMs: number;
  /** In `[0, 1)`: the delay is scaled by a factor in `[1 − jitter, 1 + jitter)`. */
  readonly jitter: number;
}

/** Materialize's reconnect backoff: 125, 250, 500 ms, then 1 s flat, with ±20 % jitter. */
export const DEFAULT_BACKOFF: Backoff = { initialMs: 125, maxMs: 1000, jitter: 0.2 };

/**
 * Checks a backoff given by a caller (at the edge: a controller's options).
 * @throws InvalidBackoff when a field is not finite, `initialMs ≤ 0`, `maxMs < initialMs` or
 *   `jitter ∉ [0, 1)`.
 */
export function checkBackoff(backoff: Backoff): Backoff {
  const { initialMs, maxMs, jitter } = backoff;
  if (!Number.isFinite(initialMs) || initialMs <= 0) {
    throw new InvalidBackoff("initialMs", initialMs, "a finite number of milliseconds > 0");
  }
  if (!Number.isFinite(maxMs) || maxMs < initialMs) {
    throw new InvalidBackoff("maxMs", maxMs, `a finite number ≥ initialMs (${initialMs})`);
  }
  if (!Number.isFinite(jitter) || jitter < 0 || jitter >= 1) {
    throw new InvalidBackoff("jitter", jitter, "a fraction in [0, 1), e.g. 0.2 for ±20 %");
  }
  return backoff;
}

/**
 * The delay before the next connection attempt after `attempt` consecutive failures (≥ 1; lower
 * values count as 1).
 */
export function backoffDelayMs(
  attempt: number,
  backoff: Backoff = DEFAULT_BACKOFF,
  random: () => number = Math.random,
): number {
  const exponent = Math.min(Math.max(attempt - 1, 0), 30);
  const base = Math.min(backoff.maxMs, backoff.initialMs * 2 ** exponent);
  return Math.round(base * (1 - backoff.jitter + 2 * backoff.jitter * random()));
}
