/**
 * Errors of `@mzts/compute`, under one root (`ComputeError`).
 *
 * Bad controller input never throws out of a worker: it becomes an in-band `commandError`
 * response (design §3). These classes are for the main-thread API (configuration, runtime
 * misuse) and for internal signalling inside the per-worker state machine.
 */
import type { ErrorCode } from "@mzts/protocol";

/** Root of every error this package throws. */
export class ComputeError extends Error {
  override name = "ComputeError";
}

/** The runtime `config` handed to compute workers is malformed. */
export class InvalidComputeConfig extends ComputeError {
  override name = "InvalidComputeConfig";
  constructor(readonly reason: string) {
    super(
      `invalid compute config: ${reason}; pass {dataDir: string, pollIntervalMs?: number, ` +
        "logLevel?: string, replicaId?: string, sinceDowngradeIntervalMs?: number}",
    );
  }
}

// PHASE(servers): legacy — delete when cluster-unification-servers is retired
/** The legacy runtime was used after `close()` or before a connection. */
export class RuntimeClosed extends ComputeError {
  override name = "RuntimeClosed";
  constructor(readonly what: string) {
    super(`${what}: the compute runtime is closed; start a new one`);
  }
}

/**
 * A command refused on one object. Thrown inside the worker's command handlers and turned into a
 * `commandError` response by `ComputeState`; never escapes a worker.
 */
export class CommandRefused extends ComputeError {
  override name = "CommandRefused";
  constructor(
    readonly objectId: string,
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
  }
}
