/**
 * The options the seam checks (`listener-leak.ts`, `coalescing.ts`) start a replica task with:
 * replica u1 of instance u1, epoch 1, generation 1, a silent logger, no-op callbacks, the given
 * location and replay, plus whatever a check overrides (e.g. a fast backoff).
 */
import { pino } from "pino";
import type { ReplicaConnectionOptions } from "../replicas/replica-connection.js";

export function checkTaskOptions<C, R>(
  url: string,
  replay: readonly C[],
  more: Partial<ReplicaConnectionOptions<C, R>> = {},
): ReplicaConnectionOptions<C, R> {
  return {
    instanceId: "u1",
    replicaId: "u1",
    epoch: 1,
    generation: 1n,
    location: () => url,
    replay: () => replay,
    logger: pino({ level: "silent" }),
    onConnected: () => {},
    onResponses: () => {},
    onFailed: () => {},
    ...more,
  };
}
