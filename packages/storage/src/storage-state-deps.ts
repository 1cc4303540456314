/**
 * What a worker loop gives a storage worker's state (`StorageStateDeps`) and the write path's and
 * reporting's tuning (`StorageStateOptions`). Shared by `StorageState` and the parts it composes
 * (`shard-writer.ts`, `ingestion-dataflow.ts`, `status.ts`, `statistics.ts`), which take the
 * deps they need from it; a leaf module, so none of them imports the state machine.
 *
 * The two worker loops build the deps: the unified `storage-worker.ts` (mz-cluster's worker
 * context) and the legacy `legacy/legacy-worker.ts` (its own loop over the mesh).
 */
import type { EventLogger } from "@mzts/mz-cluster/logging";
import type { PersistClient } from "@mzts/persist";
import type { StorageResponse } from "@mzts/protocol";
import type { Logger } from "pino";
import type { StorageMeshMessage } from "./mesh-messages.js";
import type { StorageCounters } from "./metrics.js";

/** Tuning of the write path and reporting. */
export interface StorageStateOptions {
  /** Most ticks a worker generates per chunk. */
  readonly ticksPerBatch: number;
  /** Most ticks a worker runs ahead of its shards' uppers. */
  readonly maxTicksInFlight: number;
  /** How often statistics are sent (ms). */
  readonly statisticsIntervalMs: number;
  /** Read-only mode: how often writers poll their shard's upper (ms). */
  readonly readOnlyPollMs: number;
}

export const DEFAULT_STATE_OPTIONS: StorageStateOptions = {
  ticksPerBatch: 64,
  maxTicksInFlight: 1024,
  statisticsIntervalMs: 1000,
  readOnlyPollMs: 100,
};

/** What a worker loop gives the state. */
export interface StorageStateDeps {
  readonly index: number;
  readonly peers: number;
  /** Answers the current controller connection. */
  respond(response: StorageResponse): void;
  /** Sends to worker `to` on the storage mesh channel (never called with `to === index`). */
  send(to: number, msg: StorageMeshMessage): void;
  /** Asks the loop to call `step()` soon. */
  requestStep(): void;
  /**
   * Asks the loop to call `maintain()` soon (mz-cluster's `ctx.requestMaintenance`); absent = the
   * loop calls it on a fixed interval (legacy).
   */
  requestMaintenance?(): void;
  /** This worker's persist client (opened on first use). */
  openPersist(): Promise<PersistClient>;
  readonly counters: StorageCounters;
  readonly logger: Logger;
  /** Wall clock (ms). */
  nowMs(): number;
  readonly options: StorageStateOptions;
  /**
   * The worker's introspection logger, read at every maintenance tick (unified logging:
   * `ctx.logging?.logger`); absent or disabled = no storage introspection (legacy, interval 0).
   */
  eventLogger?(): EventLogger | undefined;
}

/**
 * Sends a mesh message to worker `to`, this worker included (delivered at once, through the
 * state's `receive`); what the state hands its parts instead of the loop's `send`.
 */
export type SendTo = (to: number, msg: StorageMeshMessage) => void;
