/**
 * Peeks in the controller (materialize.md §2.6): the request shape, the pending-peek record and
 * the helpers that build the `peek` command.
 *
 * ## Lifecycle (driven by `instance.ts`)
 * 1. `peek(req)`: checks the target exists and `since ≤ timestamp` (`SinceViolation`), the target
 *    replica exists (`ReplicaMissing`); takes a read hold at the timestamp; pushes the `peek` into
 *    the history and sends it to every replica (replica targeting filters responses only).
 * 2. The first `peekResponse` with the peek's uuid — from any replica, or only from the target
 *    replica — settles it: rows resolve (with the answering replica's id), an error rejects with
 *    `PeekFailed`. A log index's peek must name a target replica and takes no read hold.
 * 3. A caller timeout (`timeoutMs`) or abort (`signal`) settles it as canceled (`PeekTimeout`,
 *    `PeekCanceled`); the target replica going away rejects with `PeekFailed("target replica
 *    failed or was dropped")`.
 * 4. Finishing (every outcome): `retirePeek` in the history, `cancelPeek` sent to every replica
 *    (a targeted peek's to its target only),
 *    and only **then** the read hold is released (database-issues#4812); the metrics
 *    `mz_compute_peeks_total{result}` and `mz_compute_peek_duration_seconds{result}` are recorded.
 *    Later responses for the uuid are ignored.
 */
import type { PeekTrace } from "@mzts/controller-unified/state";
import type { MapFilterProject, RowSetFinishing } from "@mzts/protocol";
import type { GlobalId, ReplicaId, Row, Timestamp } from "@mzts/repr";
import type { PeekResult } from "./metrics.js";

/** The rows of a peek: each distinct row with its (positive) count, in finishing order. */
export type PeekRows = ReadonlyArray<readonly [row: Row, count: number]>;

/** A peek's answer: its rows and the replica whose answer won. */
export interface PeekAnswer {
  readonly rows: PeekRows;
  readonly replicaId: ReplicaId;
}

/** What a caller asks of `peek`. */
export interface PeekRequest {
  /** An index exported by a dataflow of the instance, or one of its log indexes. */
  readonly target: GlobalId;
  /** The read time; must be at or beyond the target's since. */
  readonly timestamp: Timestamp;
  /** Default: every column, unfiltered. */
  readonly mapFilterProject?: MapFilterProject;
  /** Default: no order, no limit, every column of the map/filter/project output. */
  readonly finishing?: RowSetFinishing;
  /** Only these key rows (absent = all). */
  readonly literalConstraints?: readonly Row[];
  /**
   * Only this replica's answer counts; it must be a replica of the instance. Required for a log
   * index (every replica logs itself).
   */
  readonly targetReplica?: ReplicaId;
  /** Cancel (and reject with `PeekTimeout`) when no answer arrives in time. */
  readonly timeoutMs?: number;
  /** Cancel (and reject with `PeekCanceled`) when aborted. */
  readonly signal?: AbortSignal;
  /**
   * An API peek's stage times: marked `issued`, `written` (first replica), `replied` and
   * `answered` here.
   */
  readonly trace?: PeekTrace;
}

/** A peek waiting for its first answer. */
export interface PendingPeek {
  readonly uuid: string;
  readonly target: GlobalId;
  /** Where its read hold sits (when `held`). */
  readonly timestamp: Timestamp;
  /** Whether it holds its target at `timestamp` (every index; never a log index). */
  readonly held: boolean;
  readonly targetReplica: ReplicaId | undefined;
  /** `performance.now()` when issued. */
  readonly startedAt: number;
  /** Settles the caller's promise; called once by the instance's `finishPeek`. */
  readonly settle: (outcome: PeekOutcome) => void;
  /** Clears the timeout timer and the abort listener. */
  readonly dispose: () => void;
  /** The caller's stage times, if it traces the peek. */
  readonly trace: PeekTrace | undefined;
}

/** How a peek ended. */
export type PeekOutcome =
  | { readonly result: "rows"; readonly rows: PeekRows; readonly replicaId: ReplicaId }
  | { readonly result: "error"; readonly error: Error }
  | { readonly result: "canceled"; readonly error: Error };

/** The metric label of an outcome. */
export function outcomeResult(o: PeekOutcome): PeekResult {
  return o.result;
}

/** The `peek` command for a request (`@mzts/protocol`'s, shared with the unified cluster controller). */
export { buildPeek } from "@mzts/protocol";
