/**
 * The compute workload's configuration: plain data passed by the runtime to every worker
 * (`ClusterRuntimeOptions.config`), parsed once per worker.
 */
import { InvalidComputeConfig } from "./errors.js";

/** What compute workers need from their process. */
export interface ComputeConfig {
  /** Persist data directory (SQLite consensus + file blobs) for source imports and sinks. */
  readonly dataDir: string;
  /** Poll interval of persist listeners for writes by other processes, ms (default 20). */
  readonly pollIntervalMs?: number;
  /** pino level of the worker loggers (default "silent"). */
  readonly logLevel?: string;
  /**
   * This replica's id (unique in the environment, e.g. `u1`), part of the since handle ids of
   * source readers so that a restarted replica re-attaches to its registrations. Without it each
   * worker uses a random id: registrations left by a crash then hold the since until their lease
   * lapses (15 min).
   */
  readonly replicaId?: string;
  /** Least time between two since downgrades of a source reader, ms (default 1000). */
  readonly sinceDowngradeIntervalMs?: number;
}

/**
 * Parses the runtime's `config` value.
 * @throws InvalidComputeConfig when `dataDir` is missing or a field has the wrong type.
 */
export function parseComputeConfig(v: unknown): ComputeConfig {
  if (typeof v !== "object" || v === null) throw new InvalidComputeConfig("not an object");
  const o = v as Record<string, unknown>;
  if (typeof o.dataDir !== "string" || o.dataDir.length === 0) {
    throw new InvalidComputeConfig("dataDir must be a non-empty string");
  }
  if (
    o.pollIntervalMs !== undefined &&
    (typeof o.pollIntervalMs !== "number" || o.pollIntervalMs <= 0)
  ) {
    throw new InvalidComputeConfig("pollIntervalMs must be a positive number");
  }
  if (o.logLevel !== undefined && typeof o.logLevel !== "string") {
    throw new InvalidComputeConfig("logLevel must be a string");
  }
  if (
    o.replicaId !== undefined &&
    (typeof o.replicaId !== "string" || o.replicaId.length === 0 || o.replicaId.length > 64)
  ) {
    throw new InvalidComputeConfig("replicaId must be a non-empty string of at most 64 chars");
  }
  if (
    o.sinceDowngradeIntervalMs !== undefined &&
    (typeof o.sinceDowngradeIntervalMs !== "number" || !(o.sinceDowngradeIntervalMs > 0))
  ) {
    throw new InvalidComputeConfig("sinceDowngradeIntervalMs must be a positive number");
  }
  return {
    dataDir: o.dataDir,
    ...(o.pollIntervalMs === undefined ? {} : { pollIntervalMs: o.pollIntervalMs as number }),
    ...(o.logLevel === undefined ? {} : { logLevel: o.logLevel as string }),
    ...(o.replicaId === undefined ? {} : { replicaId: o.replicaId as string }),
    ...(o.sinceDowngradeIntervalMs === undefined
      ? {}
      : { sinceDowngradeIntervalMs: o.sinceDowngradeIntervalMs as number }),
  };
}
