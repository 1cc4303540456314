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
  return {
    dataDir: o.dataDir,
    ...(o.pollIntervalMs === undefined ? {} : { pollIntervalMs: o.pollIntervalMs as number }),
    ...(o.logLevel === undefined ? {} : { logLevel: o.logLevel as string }),
  };
}
