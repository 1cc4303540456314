/**
 * The pending peeks of one compute instance (materialize.md §2.6 "Peeks"): the first answer wins.
 *
 * ## Flow
 * 1. `peek` checks the target (a live index), the target replica (if any) and the since, takes a
 *    read hold at the peek's timestamp, and broadcasts the `peek` (it stays in the history while
 *    pending, so a rehydrated replica gets it too). A log index (`log-indexes.ts`) needs a target
 *    replica and takes no hold: each replica compacts its own log indexes.
 * 2. The first answer — from any replica, or from the target replica only — settles it
 *    (`absorb`); a caller timeout (the peeks' deadlines share one timer, `DeadlineQueue`: a
 *    timeout fires no earlier than `timeoutMs − DEADLINE_RESOLUTION_MS`, 1 ms), an abort, the target replica going away (`failTargeted`) or the
 *    instance closing (`cancelAll`) settle it too.
 * 3. Settling (`#finish`) in this order: retire it from the history, broadcast `cancelPeek` (a
 *    targeted peek's to its target only: no other replica got the peek),
 *    THEN release its read hold (so compaction never overtakes a replica still reading), count it
 *    in the metrics, settle the caller's promise.
 * 4. In a cluster whose replicas are split between the paths of a migrating phase (`comparison`,
 *    `peek-comparison.ts`): an answer of the authoritative path settles the caller, one of the
 *    other path is held or compared; the peek stays in the history, keeps its hold and is not
 *    canceled until the other path answered or the comparison timed out (`#comparing`).
 */
import { randomUUID } from "node:crypto";
import { type Deadline, DeadlineQueue, PeekStageIndex } from "@mzts/controller-unified/state";
import type { ComputeCommand, ComputeCommandHistory, ComputeResponse } from "@mzts/protocol";
import { Frontier, type GlobalId, type ReplicaId } from "@mzts/repr";
import type { InstanceCollections } from "./collections.js";
import {
  ControllerError,
  LogPeekUntargeted,
  PeekCanceled,
  PeekFailed,
  PeekTimeout,
  SinceViolation,
} from "./errors.js";
import type { LogIndex } from "./log-indexes.js";
import type { ControllerMetrics } from "./metrics.js";
import {
  buildPeek,
  type PeekAnswer,
  type PeekOutcome,
  type PeekRequest,
  type PendingPeek,
} from "./peek.js";
import {
  COMPARISON_TIMEOUT_MS,
  type ComparisonRecord,
  PeekComparison,
  type PeekComparisonConfig,
} from "./peek-comparison.js";

/** The error text of peeks/subscribes whose target replica went away (upstream's wording). */
export const TARGET_REPLICA_GONE = "target replica failed or was dropped";

/** What the pending peeks need from their instance. */
export interface InstancePeeksOptions {
  readonly instanceId: string;
  readonly metrics: ControllerMetrics;
  readonly history: ComputeCommandHistory;
  readonly collections: InstanceCollections;
  /** The instance's log index of this id, if it is one. */
  logIndex(id: GlobalId): LogIndex | undefined;
  /** @throws ReplicaMissing when the instance has no such replica. */
  checkReplica(replicaId: ReplicaId): void;
  broadcast(commands: readonly ComputeCommand[]): void;
  /** A peek was settled (answered, failed, canceled): it is no longer in the history. */
  onSettled(uuid: string): void;
  /** The peek count changed. */
  onGaugesChanged(): void;
  /** The comparison of a new untargeted peek, read when it is issued (absent: none). */
  comparison?(): PeekComparisonConfig | undefined;
  /** A comparison finished (or a peek fell back to the other path). */
  onComparison?(record: ComparisonRecord): void;
}

/** The peeks of one instance waiting for their first answer, by uuid. */
export class InstancePeeks {
  readonly #opts: InstancePeeksOptions;
  readonly #peeks = new Map<string, PendingPeek>();
  /** The comparison of each pending or comparing peek in a migrating cluster, by uuid. */
  readonly #comparisons = new Map<string, PeekComparison>();
  /** Peeks whose caller is settled, waiting for the other path's answer. */
  readonly #comparing = new Map<string, PendingPeek>();
  /** The target replica of a targeted peek whose `cancelPeek` is being broadcast. */
  readonly #cancelTargets = new Map<string, ReplicaId>();
  /** The callers' timeouts: one timer for all (`DeadlineQueue`; issue 16). */
  readonly #deadlines = new DeadlineQueue();

  constructor(opts: InstancePeeksOptions) {
    this.#opts = opts;
  }

  get size(): number {
    return this.#peeks.size;
  }

  /**
   * Reads `req.target` at `req.timestamp`; the first answer wins.
   * @throws CollectionMissing, ReplicaMissing, SinceViolation, ControllerError (a persist sink),
   *   LogPeekUntargeted (a log index without `targetReplica`) synchronously. Rejects with
   *   `PeekFailed`, `PeekTimeout`, `PeekCanceled`.
   */
  peek(req: PeekRequest): Promise<PeekAnswer> {
    const log = this.#opts.logIndex(req.target);
    let arity: number;
    let held: boolean;
    if (log !== undefined) {
      if (req.targetReplica === undefined) throw new LogPeekUntargeted(log.id, log.relation.name);
      this.#opts.checkReplica(req.targetReplica);
      arity = log.arity;
      held = false;
    } else {
      const c = this.#opts.collections.live(req.target);
      if (c.kind !== "index") {
        throw new ControllerError(
          `${req.target} is a materialized view's persist sink, which answers no peeks; peek an index on it`,
        );
      }
      if (req.targetReplica !== undefined) this.#opts.checkReplica(req.targetReplica);
      if (!Frontier.lessEqual(c.since, req.timestamp)) {
        throw new SinceViolation(c.id, req.timestamp, c.since);
      }
      this.#opts.collections.holdAt(c, req.timestamp);
      arity = c.arity;
      held = true;
    }
    const uuid = randomUUID();
    const peek = buildPeek(uuid, req, arity);
    return new Promise<PeekAnswer>((resolve, reject) => {
      let deadline: Deadline | undefined;
      const onAbort = () => {
        const p = this.#peeks.get(uuid);
        if (p !== undefined) {
          this.#finish(p, {
            result: "canceled",
            error: new PeekCanceled(uuid, "the caller aborted it"),
          });
        }
      };
      const pending: PendingPeek = {
        uuid,
        target: req.target,
        timestamp: req.timestamp,
        held,
        targetReplica: req.targetReplica,
        startedAt: performance.now(),
        settle: (o) =>
          o.result === "rows" ? resolve({ rows: o.rows, replicaId: o.replicaId }) : reject(o.error),
        dispose: () => {
          deadline?.cancel();
          req.signal?.removeEventListener("abort", onAbort);
        },
        trace: req.trace,
      };
      this.#peeks.set(uuid, pending);
      const compare = req.targetReplica === undefined ? this.#opts.comparison?.() : undefined;
      if (compare !== undefined) this.#comparisons.set(uuid, new PeekComparison(compare));
      req.trace?.mark(PeekStageIndex.issued);
      this.#opts.broadcast([{ kind: "peek", peek }]);
      this.#opts.onGaugesChanged();
      if (req.timeoutMs !== undefined) {
        const ms = req.timeoutMs;
        deadline = this.#deadlines.add(ms, () => {
          const p = this.#peeks.get(uuid);
          if (p === undefined) return;
          // An answer of the other path is held: serve it rather than fail (a fallback).
          const cmp = this.#comparisons.get(uuid);
          const held = cmp?.answers.entries().next().value;
          if (cmp !== undefined && held !== undefined) {
            cmp.servedBy = held[0];
            this.#answer(p, held[1].outcome);
            this.#complete(p, true);
            return;
          }
          this.#finish(p, { result: "canceled", error: new PeekTimeout(uuid, ms) });
        });
      }
      if (req.signal !== undefined) {
        if (req.signal.aborted) onAbort();
        else req.signal.addEventListener("abort", onAbort, { once: true });
      }
    });
  }

  /**
   * Whether an answer to peek `uuid` still matters: it is pending, or its caller is answered and
   * the other path's answer is awaited for the comparison. Any other answer (a replica's after
   * the first, one after a cancel, an unknown uuid) is ignored by `absorb`, so a replica task may
   * drop it undecoded (issue 16).
   */
  awaits(uuid: string): boolean {
    return this.#peeks.has(uuid) || this.#comparing.has(uuid);
  }

  /** Peek `uuid`'s command was written to a replica's stream: its trace's `written` (first wins). */
  written(uuid: string): void {
    this.#peeks.get(uuid)?.trace?.mark(PeekStageIndex.written);
  }

  /**
   * A replica's `peekResponse`: settles the peek if it is the first (valid) answer; `arrivedAt`
   * (its stream message's arrival) is the trace's `replied`.
   */
  absorb(
    replicaId: ReplicaId,
    resp: Extract<ComputeResponse, { kind: "peekResponse" }>,
    arrivedAt?: number,
  ): void {
    const p = this.#peeks.get(resp.uuid);
    if (p === undefined) {
      this.#absorbLate(replicaId, resp);
      return; // answered already, or unknown
    }
    if (p.targetReplica !== undefined && p.targetReplica !== replicaId) return;
    const at = p.trace?.at;
    if (at !== undefined && arrivedAt !== undefined && at[PeekStageIndex.replied] === 0) {
      at[PeekStageIndex.replied] = arrivedAt;
    }
    const outcome = outcomeOf(p.uuid, replicaId, resp);
    const cmp = this.#comparisons.get(p.uuid);
    const slot = cmp?.config.slotOf(replicaId);
    if (cmp === undefined || slot === undefined) {
      this.#finish(p, outcome);
      return;
    }
    cmp.record(slot, outcome, performance.now() - p.startedAt);
    if (!cmp.settles(slot)) return; // held until the authoritative path answers
    cmp.servedBy = slot;
    this.#answer(p, outcome);
    if (!cmp.awaitsOther()) {
      this.#complete(p, true);
      return;
    }
    this.#comparing.set(p.uuid, p);
    cmp.timer = setTimeout(
      () => this.#complete(p, true),
      cmp.config.timeoutMs ?? COMPARISON_TIMEOUT_MS,
    );
  }

  /** An answer to a peek whose caller is settled: the other path's, when it is compared. */
  #absorbLate(replicaId: ReplicaId, resp: Extract<ComputeResponse, { kind: "peekResponse" }>) {
    const p = this.#comparing.get(resp.uuid);
    const cmp = this.#comparisons.get(resp.uuid);
    const slot = cmp?.config.slotOf(replicaId);
    if (p === undefined || cmp === undefined || slot === undefined) return;
    if (!cmp.record(slot, outcomeOf(p.uuid, replicaId, resp), performance.now() - p.startedAt)) {
      return;
    }
    if (!cmp.awaitsOther()) this.#complete(p, true);
  }

  /** Fails the peeks targeted at a replica that went away. */
  failTargeted(replicaId: ReplicaId): void {
    this.#failWhere((p) => p.targetReplica === replicaId, TARGET_REPLICA_GONE);
  }

  /** Fails peek `uuid` (if pending) with `PeekFailed(reason)`. */
  fail(uuid: string, reason: string): void {
    this.#failWhere((p) => p.uuid === uuid, reason);
  }

  /** Fails the peeks reading collection `id` with `PeekFailed(reason)`. */
  failReading(id: GlobalId, reason: string): void {
    this.#failWhere((p) => p.target === id, reason);
  }

  #failWhere(pick: (p: PendingPeek) => boolean, reason: string): void {
    for (const p of [...this.#peeks.values()]) {
      if (pick(p)) this.#finish(p, { result: "error", error: new PeekFailed(p.uuid, reason) });
    }
    // Callers answered already; their comparisons end unreported.
    for (const p of [...this.#comparing.values()]) if (pick(p)) this.#complete(p, false);
  }

  /** Cancels every pending peek with `reason` (the instance is closing). */
  cancelAll(reason: string): void {
    for (const p of [...this.#peeks.values()]) {
      this.#finish(p, { result: "canceled", error: new PeekCanceled(p.uuid, reason) });
    }
    for (const p of [...this.#comparing.values()]) this.#complete(p, false);
  }

  /** Settles a pending peek: retire, cancel on every replica, THEN release its hold. */
  #finish(p: PendingPeek, outcome: PeekOutcome): void {
    if (this.#peeks.get(p.uuid) !== p) return;
    this.#peeks.delete(p.uuid);
    p.dispose();
    this.#comparisons.delete(p.uuid);
    this.#release(p);
    this.#settle(p, outcome);
  }

  /** Settles the caller of a compared peek, which keeps its hold and history entry. */
  #answer(p: PendingPeek, outcome: PeekOutcome): void {
    this.#peeks.delete(p.uuid);
    p.dispose();
    this.#settle(p, outcome);
  }

  /** Ends a compared peek's comparison: reports it (when asked), then retires and releases. */
  #complete(p: PendingPeek, report: boolean): void {
    const cmp = this.#comparisons.get(p.uuid);
    if (cmp === undefined) return;
    clearTimeout(cmp.timer);
    this.#comparisons.delete(p.uuid);
    this.#comparing.delete(p.uuid);
    this.#release(p);
    const record = report ? cmp.finish(p.uuid) : undefined;
    if (record !== undefined) this.#opts.onComparison?.(record);
  }

  /**
   * The replica a `cancelPeek` of `uuid` goes to while it is broadcast: a targeted peek's target
   * (the only replica that got the peek); undefined: every replica.
   */
  cancelTarget(uuid: string): ReplicaId | undefined {
    return this.#cancelTargets.get(uuid);
  }

  /**
   * Retire from the history, cancel on every replica that got the peek (a targeted one's target
   * only), THEN release the read hold.
   */
  #release(p: PendingPeek): void {
    this.#opts.onSettled(p.uuid);
    this.#opts.history.retirePeek(p.uuid);
    if (p.targetReplica === undefined) {
      this.#opts.broadcast([{ kind: "cancelPeek", uuid: p.uuid }]);
    } else {
      this.#cancelTargets.set(p.uuid, p.targetReplica);
      try {
        this.#opts.broadcast([{ kind: "cancelPeek", uuid: p.uuid }]);
      } finally {
        this.#cancelTargets.delete(p.uuid);
      }
    }
    if (p.held) this.#opts.collections.releaseAt(p.target, p.timestamp);
  }

  /** Counts a settled peek and settles its caller. */
  #settle(p: PendingPeek, outcome: PeekOutcome): void {
    p.trace?.mark(PeekStageIndex.answered);
    this.#opts.metrics.peeks.record(
      this.#opts.instanceId,
      outcome.result,
      (performance.now() - p.startedAt) / 1000,
    );
    this.#opts.onGaugesChanged();
    p.settle(outcome);
  }
}

/** A replica's answer as an outcome. */
function outcomeOf(
  uuid: string,
  replicaId: ReplicaId,
  resp: Extract<ComputeResponse, { kind: "peekResponse" }>,
): PeekOutcome {
  const r = resp.response;
  return r.kind === "rows"
    ? { result: "rows", rows: r.rows, replicaId }
    : r.kind === "error"
      ? { result: "error", error: new PeekFailed(uuid, r.message) }
      : { result: "canceled", error: new PeekCanceled(uuid, "a replica canceled it") };
}
