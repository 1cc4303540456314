/**
 * Poison quarantine in the unified driver: the shared rule (`poison-quarantine.ts`, the one
 * compute-client's instance applies) fed the same events, and applied to the cluster state the
 * way compute-client applies it.
 *
 * ## Events it is fed
 * - every compute command written to a replica's current incarnation, live or replayed
 *   (`sent`: the connections' `onCommandSent`);
 * - every compute response (`answered`);
 * - an incarnation's failure (`failed`): a refused hello (fenced, not authenticated) strikes
 *   nothing; any other failure strikes that replica's recent unanswered commands;
 * - a settled peek or a forgotten collection/ended subscribe stops being tracked (`forget`); the
 *   user's drop clears a reported failure (`clearFailure`).
 *
 * ## What a quarantine does (before the failed replica's next incarnation reads its replay)
 * - a peek: it fails with `PeekFailed(reason)` (its `cancelPeek` retires it from the history);
 * - a dataflow: the peeks reading its exports fail, a subscribe fails with
 *   `SubscribeFailed(reason)`, an index or materialized view is dropped (so the reduction takes
 *   it out of the history) and stays in `failures()` with the reason until the user drops it.
 *   A dataflow that other dataflows still read cannot be dropped (`DependantsExist`): it stays
 *   failed and is logged; the user drops the readers, then it.
 */
import type { ClusterCommand, ClusterResponse } from "@mzts/protocol";
import type { GlobalId, ReplicaId } from "@mzts/repr";
import type { Logger } from "pino";
import { PoisonQuarantine, type Quarantined } from "./poison-quarantine.js";

/** What a quarantine acts on (the driver's). */
export interface QuarantineActions {
  readonly log: Logger;
  failPeek(uuid: string, reason: string): void;
  /** The uuids of the pending peeks reading `id`. */
  peeksReading(id: GlobalId): readonly string[];
  /** Fails subscribe `id`; false when it is no live subscribe. */
  failSubscribe(id: GlobalId, reason: string): boolean;
  isLive(id: GlobalId): boolean;
  drop(id: GlobalId): void;
}

/** The driver's quarantine (see the file comment). */
export class DriverQuarantine {
  readonly #q: PoisonQuarantine;
  readonly #a: QuarantineActions;

  constructor(actions: QuarantineActions, now: () => number) {
    this.#a = actions;
    this.#q = new PoisonQuarantine(now);
  }

  sent(replicaId: ReplicaId, c: ClusterCommand): void {
    if (c.kind === "compute") this.#q.sent(replicaId, c.command);
  }

  answered(r: ClusterResponse): void {
    if (r.kind === "compute") this.#q.answered(r.response);
  }

  /** `replicaId`'s incarnation failed: strikes and, maybe, quarantines (see the file comment). */
  failed(replicaId: ReplicaId, error: Error, refused: boolean): void {
    if (refused) {
      this.#q.forgetReplica(replicaId);
      return;
    }
    const poison = this.#q.failed(replicaId, error.message);
    if (poison !== undefined) this.#apply(poison);
  }

  forgetReplica(replicaId: ReplicaId): void {
    this.#q.forgetReplica(replicaId);
  }

  forget(id: string): void {
    this.#q.forget(id);
  }

  clearFailure(id: GlobalId): void {
    this.#q.clearFailure(id);
  }

  failures(): ReadonlyMap<GlobalId, string> {
    return this.#q.failures();
  }

  #apply(q: Quarantined): void {
    const a = this.#a;
    a.log.error({ quarantined: q }, `quarantining a command that made replicas fail: ${q.reason}`);
    if (q.kind === "peek") {
      a.failPeek(q.uuid, q.reason);
      return;
    }
    for (const id of q.ids) {
      for (const uuid of a.peeksReading(id)) a.failPeek(uuid, q.reason);
      if (a.failSubscribe(id, q.reason) || !a.isLive(id)) continue;
      try {
        a.drop(id);
      } catch (err) {
        a.log.error(
          { collection_id: id, err },
          "a quarantined dataflow is still read by other dataflows; drop them, then it",
        );
      }
    }
  }
}
