/**
 * The storage workers' configuration: plain data that the unified runtime (`config`) and the
 * legacy runtime (`workerData`) both pass to every worker thread, and its checking on arrival.
 *
 * `counters` is a `SharedArrayBuffer`: structured cloning shares it, so the workers' counter bumps
 * are visible to the main thread's Prometheus collectors (`metrics.ts`).
 */
import type { PersistClient } from "@mzts/persist";
import { type Logger, pino } from "pino";
import { StorageError } from "./errors.js";
import { DEFAULT_STATE_OPTIONS, type StorageStateOptions } from "./storage-state-deps.js";

/** What every storage worker receives. */
export interface StorageWorkerConfig {
  /** Persist's data directory (embedded SQLite consensus and file blobs). */
  readonly dataDir: string;
  /** The runtime's `StorageCounters` block. */
  readonly counters: SharedArrayBuffer;
  /** pino level of the workers' logs (written to stderr); "silent" turns them off. */
  readonly logLevel: string;
  readonly options: StorageStateOptions;
}

/** Tuning a caller may override. */
export interface StorageTuning {
  readonly ticksPerBatch?: number;
  readonly maxTicksInFlight?: number;
  readonly statisticsIntervalMs?: number;
  readonly readOnlyPollMs?: number;
}

/** Fills in the defaults of the tuning. */
export function stateOptions(t: StorageTuning): StorageStateOptions {
  return {
    ticksPerBatch: t.ticksPerBatch ?? DEFAULT_STATE_OPTIONS.ticksPerBatch,
    maxTicksInFlight: t.maxTicksInFlight ?? DEFAULT_STATE_OPTIONS.maxTicksInFlight,
    statisticsIntervalMs: t.statisticsIntervalMs ?? DEFAULT_STATE_OPTIONS.statisticsIntervalMs,
    readOnlyPollMs: t.readOnlyPollMs ?? DEFAULT_STATE_OPTIONS.readOnlyPollMs,
  };
}

/**
 * Checks a worker's configuration.
 * @throws StorageError when a field is missing or has the wrong type.
 */
export function parseWorkerConfig(config: unknown): StorageWorkerConfig {
  const c = config as Partial<StorageWorkerConfig> | null;
  if (
    c === null ||
    typeof c !== "object" ||
    typeof c.dataDir !== "string" ||
    !(c.counters instanceof SharedArrayBuffer) ||
    typeof c.logLevel !== "string" ||
    typeof c.options !== "object"
  ) {
    throw new StorageError(
      "storage worker config must be {dataDir, counters, logLevel, options}; build it with " +
        "createStorageSpec() or createLegacyStorageRuntime()",
    );
  }
  return c as StorageWorkerConfig;
}

/** A worker's logger: pino to stderr at the configured level. */
export function workerLogger(config: StorageWorkerConfig, worker: number): Logger {
  return pino(
    { level: config.logLevel, base: { component: "storage", worker } },
    pino.destination({ fd: 2, sync: true }),
  );
}

/**
 * Opens a persist client on first use (a worker's; the main thread's resume reader's). A failed
 * open is not kept: the next `open()` (a shard writer's retry, the next resume read) tries again.
 */
export function lazyPersist(config: Pick<StorageWorkerConfig, "dataDir">, logger: Logger) {
  // Loading starts with the worker, in the background (the main thread imports this file too,
  // for `stateOptions`, and must not load persist before it spawned the workers).
  const persistModule = import("@mzts/persist");
  persistModule.catch(() => {}); // surfaced by `open`
  let client: Promise<PersistClient> | undefined;
  return {
    open(): Promise<PersistClient> {
      if (client === undefined) {
        const opening = persistModule.then(({ createPersist }) =>
          createPersist({ dataDir: config.dataDir, logger }),
        );
        client = opening;
        opening.catch(() => {
          if (client === opening) client = undefined;
        });
      }
      return client;
    },
    async close(): Promise<void> {
      const opened = await client?.catch(() => undefined);
      await opened?.close();
    },
  };
}
