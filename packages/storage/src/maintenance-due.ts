/**
 * When a storage worker's maintenance is next due unasked (`StorageState.maintain`'s return):
 * at most `MAX_MAINTENANCE_SLEEP_MS`, or an ingestion's next real-time tick.
 */
import type { IngestionDataflow } from "./ingestion-dataflow.js";

/**
 * The longest maintenance sleeps unasked: what changes without asking (forwarding of
 * introspection switched on, a since handle opened in the background) is reported within it.
 */
export const MAX_MAINTENANCE_SLEEP_MS = 1000;

/** When `df`'s next real-time tick comes (wall-clock ms), or undefined: nothing to wait for. */
export function nextTickAtMs(df: IngestionDataflow): number | undefined {
  if (df.deterministic) return undefined;
  let live = false;
  for (const x of df.exports.values()) live ||= x.live;
  return live ? Number(df.generator.clock.timeAt(df.nextTick)) : undefined;
}
