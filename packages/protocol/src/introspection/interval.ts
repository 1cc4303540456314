/**
 * The introspection interval of a cluster (phase 2, *logging*): how often its replicas' log
 * indexes advance (log times are wall-clock milliseconds rounded up to it, `logTime`). One rule
 * for every side: the environment API's codec checks `CreateClusterRequest`, environmentd checks
 * what it stores in the catalog, and builds the instance's `LoggingConfig` from it.
 *
 * - `0` turns logging off for the cluster (replicas install no log index; Materialize's
 *   `INTROSPECTION INTERVAL 0`).
 * - Otherwise `MIN_INTROSPECTION_INTERVAL_MS ..= MAX_INTROSPECTION_INTERVAL_MS`: below 100 ms the
 *   logging would cost more than it tells; above an hour the relations say nothing current.
 */

/** The interval of a cluster created without one (Materialize's default, 1 s). */
export const DEFAULT_INTROSPECTION_INTERVAL_MS = 1000;
/** The smallest interval other than 0 (off). */
export const MIN_INTROSPECTION_INTERVAL_MS = 100;
/** The largest interval (one hour). */
export const MAX_INTROSPECTION_INTERVAL_MS = 3_600_000;

/**
 * Why `ms` is not a valid introspection interval (a phrase that says what to use instead), or
 * undefined when it is: `0` or an integer in `[100, 3_600_000]`.
 */
export function introspectionIntervalProblem(ms: number): string | undefined {
  if (
    ms === 0 ||
    (Number.isInteger(ms) &&
      ms >= MIN_INTROSPECTION_INTERVAL_MS &&
      ms <= MAX_INTROSPECTION_INTERVAL_MS)
  ) {
    return undefined;
  }
  return (
    `is ${ms}; an introspection interval is 0 (logging off) or an integer number of ms from ` +
    `${MIN_INTROSPECTION_INTERVAL_MS} to ${MAX_INTROSPECTION_INTERVAL_MS} (default ` +
    `${DEFAULT_INTROSPECTION_INTERVAL_MS})`
  );
}
