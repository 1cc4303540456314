/**
 * Error classes of `@mzts/orchestrator`: one root (`OrchestratorError`) and a narrow class per
 * failure (style §9).
 *
 * Every error carries a `name`, structured fields and a message that says what to do next.
 */

/** Root of every error thrown by `@mzts/orchestrator`. */
export class OrchestratorError extends Error {
  override name = "OrchestratorError";
}

/**
 * A spec whose generation is older than the generation that last claimed the replica (fenced):
 * the one `StaleGeneration` of `@mzts/protocol`, built with `StaleGeneration.orchestrator(…)`
 * (`refusedBy: "orchestrator"`, `subject` = the replica id). Re-exported for callers of this
 * package.
 */
export { StaleGeneration } from "@mzts/protocol";

/**
 * A clusterd process did not reach its "clusterd ready" line: it exited (bad configuration is exit
 * code 2), was killed, or did not get ready within the start timeout.
 */
export class ReplicaStartFailed extends OrchestratorError {
  override name = "ReplicaStartFailed";
  constructor(
    readonly replicaId: string,
    /** clusterd's exit code, or null when it was killed by a signal or is still running. */
    readonly exitCode: number | null,
    /** The signal that ended it, if any. */
    readonly signal: string | null,
    /** The last lines clusterd wrote on stderr (its own explanation, e.g. a `ConfigError`). */
    readonly stderrTail: string,
    /** Why the orchestrator gave up on this start, in words. */
    readonly reason: string,
  ) {
    super(
      `replica ${replicaId} failed to start: ${reason}` +
        (stderrTail.trim() === "" ? "" : `; clusterd said: ${stderrTail.trim()}`) +
        (exitCode === 2
          ? " — exit code 2 is bad configuration: fix the replica spec or the orchestrator options"
          : " — check the replica's log under <dataDir>/orchestrator/logs/ and retry ensureReplica()"),
    );
  }
}

/** The replica id is neither managed by this orchestrator nor recorded by a previous one. */
export class UnknownReplica extends OrchestratorError {
  override name = "UnknownReplica";
  constructor(readonly replicaId: string) {
    super(
      `unknown replica ${replicaId}: it is not running under this orchestrator; ` +
        "call list() for the known replicas, or ensureReplica() to start it",
    );
  }
}

/** A spec the orchestrator cannot run (e.g. a PhaseSet for another cluster). */
export class InvalidReplicaSpec extends OrchestratorError {
  override name = "InvalidReplicaSpec";
  constructor(
    readonly replicaId: string,
    readonly field: string,
    readonly reason: string,
  ) {
    super(`invalid spec for replica ${replicaId}: ${field} ${reason}`);
  }
}

/** The orchestrator was closed (or abandoned); create a new one to manage replicas again. */
export class OrchestratorClosed extends OrchestratorError {
  override name = "OrchestratorClosed";
  constructor(readonly operation: string) {
    super(
      `cannot ${operation}: the orchestrator is closed; create a new one with the same dataDir`,
    );
  }
}

/** The replica was dropped while a call was waiting for it to come online. */
export class ReplicaDropped extends OrchestratorError {
  override name = "ReplicaDropped";
  constructor(readonly replicaId: string) {
    super(
      `replica ${replicaId} was dropped while waiting for it; call ensureReplica() again to start it`,
    );
  }
}
