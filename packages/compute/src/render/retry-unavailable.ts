/**
 * `retryWhileUnavailable`: the compute worker's retry of persist operations while the store is
 * unavailable (`StorageUnavailable`: e.g. its persist client could not open the consensus), shared
 * by a source import opening its shard and a since hold registering its handle.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { StorageUnavailable } from "@mzts/persist";

/** The first and the longest wait between two attempts, ms. */
export const RETRY_FIRST_MS = 10;
export const RETRY_MAX_MS = 1000;

/**
 * Runs `attempt` again while it fails with `StorageUnavailable`, waiting `RETRY_FIRST_MS`
 * doubling to `RETRY_MAX_MS` in between (`onRetry` is told before each wait). Resolves with the
 * first success, or undefined once `signal` is aborted during a wait. Any other error, or any
 * error once `signal` is aborted, is thrown.
 */
export async function retryWhileUnavailable<T>(
  attempt: () => Promise<T>,
  signal: AbortSignal,
  onRetry: (e: StorageUnavailable, delayMs: number) => void,
): Promise<T | undefined> {
  for (let delayMs = RETRY_FIRST_MS; ; delayMs = Math.min(delayMs * 2, RETRY_MAX_MS)) {
    try {
      return await attempt();
    } catch (e) {
      if (!(e instanceof StorageUnavailable) || signal.aborted) throw e;
      onRetry(e, delayMs);
    }
    await sleep(delayMs, undefined, { signal }).catch(() => undefined);
    if (signal.aborted) return undefined;
  }
}
