/**
 * The log indexes of one compute instance (phase 2, *logging*): the rule lives in
 * `@mzts/controller-unified/state` (`log-indexes.ts`, shared with the unified cluster controller);
 * this file binds it to compute-client's `InvalidLoggingConfig`. See there for the invariants
 * (no controller holds, targeted peeks and subscribes only).
 */
import { type LogIndex, logIndexesOf as sharedLogIndexesOf } from "@mzts/controller-unified/state";
import type { LoggingConfig } from "@mzts/protocol";
import type { GlobalId } from "@mzts/repr";
import { InvalidLoggingConfig } from "./errors.js";

export type { LogIndex };

/**
 * The log indexes of a logging config, by id (empty when logging is off).
 * @throws InvalidLoggingConfig (see the shared rule).
 */
export function logIndexesOf(
  instanceId: string,
  logging: LoggingConfig,
): ReadonlyMap<GlobalId, LogIndex> {
  return sharedLogIndexesOf(logging, (reason) => new InvalidLoggingConfig(instanceId, reason));
}
