/**
 * Errors of `@mzts/mz-cluster`: `ClusterError` is the root; each subclass names what failed and
 * says what to do next.
 */

/** Root of every error thrown by `@mzts/mz-cluster`. */
export class ClusterError extends Error {
  override name = "ClusterError";
}

/** The sequencer was used after `close()`. */
export class SequencerClosed extends ClusterError {
  override name = "SequencerClosed";
  constructor(readonly workerIndex: number) {
    super(`the sequencer of worker ${workerIndex} is closed; create a new one for a new runtime`);
  }
}

/** A sequencer message that breaks the protocol (duplicate index, unknown worker, bad shape). */
export class SequencerProtocolError extends ClusterError {
  override name = "SequencerProtocolError";
  constructor(
    readonly workerIndex: number,
    readonly reason: string,
  ) {
    super(`sequencer protocol error at worker ${workerIndex}: ${reason}; this is a runtime bug`);
  }
}
