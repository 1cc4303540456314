/**
 * `ComputeResponseMerger`: the process-level merge of the W workers' compute responses — the
 * `ResponseMerger` handed to mz-cluster's `createRuntimeSessions` (and used by the legacy path).
 *
 * It wraps protocol's `PartitionedComputeState` (frontier meets, peek unions with precedence
 * canceled > error > rows, subscribe batches at the joint upper, command-error dedup) and adds:
 * - **peek finishing**: it remembers each peek's `RowSetFinishing` when it observes the command
 *   and applies it (order by, offset, limit, projection) to the merged rows, because each worker
 *   only holds its partition (workers pre-limit to offset + limit). A merged answer that is one
 *   worker's encoded answer passed through (`FramedPeekResponse`, issue 16) stays encoded when
 *   the finishing cannot change it (`finishingKeeps`): the worker's rows are already sorted by
 *   the same order and cut at `offset + limit`, so with offset 0 and an identity projection the
 *   finishing is the identity; otherwise its rows are decoded and finished as any others;
 * - **worker statistics**: the internal `workerStats` message goes into `ComputeMetrics` and
 *   never reaches the controller;
 * - **overdue peeks** (`overdue-peeks.ts`): a peek still waiting for a worker's answer after
 *   `OVERDUE_PEEK_MS` is counted (`mz_compute_peeks_overdue_total`) and reported once to
 *   `onOverdue` (clusterd logs it; one report per sweep) with the workers whose answers are
 *   missing.
 * A fresh merger per connection (as `createRuntimeSessions` makes) starts every frontier at the
 * minimum, which pairs with the workers resetting their reported frontiers on reconnection.
 */
import {
  type ComputeCommand,
  type ComputeResponse,
  FramedPeekResponse,
  isPeekRowsFrame,
  PartitionedComputeState,
  type Peek,
  type PeekRowsFrame,
} from "@mzts/protocol";
import { ComputeMetrics, isWorkerStats, type WorkerStatsMessage } from "./metrics.js";
import { OverduePeeks as OverdueGuard } from "./overdue-peeks.js";
import { applyFinishing } from "./peek/finishing.js";

export class ComputeResponseMerger {
  readonly metrics: ComputeMetrics;
  readonly #state: PartitionedComputeState;
  /** Peek uuid → the peek (its finishing); removed when the merged answer leaves. */
  readonly #finishing = new Map<string, Peek>();
  readonly #overdue: OverdueGuard;

  constructor(
    workers: number,
    metrics: ComputeMetrics = new ComputeMetrics(),
    opts: ComputeMergerOptions = {},
  ) {
    this.#state = new PartitionedComputeState(workers);
    this.metrics = metrics;
    this.#overdue = new OverdueGuard({
      ...(opts.overduePeekMs === undefined ? {} : { sweepMs: opts.overduePeekMs }),
      // The peeks whose merged answer has not left: those whose finishing is remembered.
      pending: () => this.#finishing.keys(),
      onOverdue: (uuids) => {
        metrics.peekOverdue(uuids.length);
        const peeks = uuids.slice(0, OVERDUE_DETAILS).map((uuid) => {
          const answered = this.#state.answeredParts(uuid) ?? [];
          const missingParts: number[] = [];
          for (let p = 0; p < workers; p++) if (!answered.includes(p)) missingParts.push(p);
          return { uuid, missingParts };
        });
        opts.onOverdue?.({
          count: uuids.length,
          peeks,
          waitedAtLeastMs: this.#overdue.sweepMs,
        });
      },
    });
  }

  /** Observes a command sent to the workers (result size limit; peek finishings). */
  observeCommand(cmd: ComputeCommand): void {
    this.#state.observeCommand(cmd);
    if (cmd.kind === "peek") {
      this.#finishing.set(cmd.peek.uuid, cmd.peek);
      this.#overdue.observe();
    }
  }

  /** The connection ended: its pending peeks are no longer watched. */
  close(): void {
    this.#overdue.close();
  }

  /**
   * Absorbs worker `part`'s response; returns the merged responses ready to leave the process.
   * @throws InvariantViolation / FrontierRegression on a worker bug (see PartitionedComputeState).
   */
  absorb(part: number, r: ComputeResponse | PeekRowsFrame | WorkerStatsMessage): ComputeResponse[] {
    if (isWorkerStats(r)) {
      this.metrics.absorb(part, r.stats);
      return [];
    }
    const out = isPeekRowsFrame(r) ? this.#state.absorbFrame(part, r) : this.#state.absorb(part, r);
    // In place: the merged array is fresh, and most responses (frontiers) pass through untouched.
    for (let i = 0; i < out.length; i++) {
      const m = out[i] as ComputeResponse;
      if (m.kind === "peekResponse") out[i] = this.#finish(m);
    }
    return out;
  }

  /** Applies the peek's finishing to its merged rows (and forgets the finishing). */
  #finish(m: Extract<ComputeResponse, { kind: "peekResponse" }>): ComputeResponse {
    const p = this.#finishing.get(m.uuid);
    this.#finishing.delete(m.uuid);
    if (p === undefined || m.response.kind !== "rows") return m;
    if (m instanceof FramedPeekResponse && finishingKeeps(p)) return m;
    return {
      kind: "peekResponse",
      uuid: m.uuid,
      response: { kind: "rows", rows: applyFinishing(m.response.rows, p.finishing) },
    };
  }
}

/** Peeks found waiting for their workers' answers at one sweep (`overdue-peeks.ts`). */
export interface OverduePeeks {
  /** How many (each is reported once). */
  readonly count: number;
  /** The first `OVERDUE_DETAILS` of them, with the workers whose answers had not arrived. */
  readonly peeks: ReadonlyArray<{
    readonly uuid: string;
    readonly missingParts: readonly number[];
  }>;
  /** Each waited at least this long, and less than twice as long. */
  readonly waitedAtLeastMs: number;
}

/** Overdue peeks detailed per report (the count has them all). */
export const OVERDUE_DETAILS = 10;

/** Options of a `ComputeResponseMerger`. */
export interface ComputeMergerOptions {
  /** How long a peek may wait for its workers' answers before it is reported (ms). */
  readonly overduePeekMs?: number;
  /** Told at most once per `overduePeekMs` of the peeks that waited that long (e.g. to log). */
  readonly onOverdue?: (report: OverduePeeks) => void;
}

/**
 * True when `applyFinishing` returns one worker's rows of peek `p` unchanged: they are sorted by
 * the finishing's order and cut at `offset + limit` (`preLimit`), so the window keeps them all
 * when the offset is 0, and the projection keeps every column in place (none, or `0…n-1` over
 * the `n` columns the peek's map/filter/project yields).
 */
export function finishingKeeps(p: Peek): boolean {
  const f = p.finishing;
  if (f.offset !== 0) return false;
  const project = f.project;
  if (project.length === 0) return true;
  if (project.length !== p.mapFilterProject.projection.length) return false;
  for (let i = 0; i < project.length; i++) if (project[i] !== i) return false;
  return true;
}

/** A merger factory for `createRuntimeSessions` sharing one metrics registry across sessions. */
export function computeMergerFactory(
  metrics: ComputeMetrics = new ComputeMetrics(),
  opts: ComputeMergerOptions = {},
): (workers: number) => ComputeResponseMerger {
  return (workers) => new ComputeResponseMerger(workers, metrics, opts);
}
