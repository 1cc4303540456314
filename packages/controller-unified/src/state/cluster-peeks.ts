/**
 * The pending peeks of a `ClusterState` (design §9 phase 5): one concept split out of the state.
 *
 * A peek holds its index at the peek's time (`peek:<uuid>`) while pending. Settling — answered,
 * timed out or aborted, or its target replica gone — follows the legacy order: retired from the
 * history, `cancelPeek` sent, THEN the hold released (so compaction never overtakes a replica
 * still reading), then a `peekSettled` event.
 */
import type { ComputeCommand, Peek, PeekResponse } from "@mzts/protocol";
import { Frontier, type GlobalId, type ReplicaId } from "@mzts/repr";
import type { ClusterCommandHistory } from "./cluster-history.js";
import type { CollectionTable } from "./collection-table.js";
import { DuplicatePeek, InvalidStateRequest, LogPeekUntargeted, SinceViolation } from "./errors.js";
import type { LogIndex } from "./log-indexes.js";
import { Holder } from "./read-holds.js";
import type { SincePropagation } from "./since-propagation.js";
import type { ClusterStateEvent } from "./state-io.js";

interface PendingPeek {
  readonly target: GlobalId;
  readonly targetReplica: ReplicaId | undefined;
}

/** What the peeks need from their state. */
export interface ClusterPeeksOptions {
  readonly table: CollectionTable;
  readonly history: ClusterCommandHistory;
  readonly propagation: SincePropagation;
  /** Sends a compute command (to `replicaId` only, when given). */
  compute(command: ComputeCommand, replicaId?: ReplicaId): void;
  /** @throws ReplicaMissing */
  checkReplica(replicaId: ReplicaId): void;
  /** The log index `id`, if it is one (peeked on one replica, without holds). */
  logIndex(id: GlobalId): LogIndex | undefined;
  event(e: ClusterStateEvent): void;
}

export class ClusterPeeks {
  readonly #o: ClusterPeeksOptions;
  readonly #pending = new Map<string, PendingPeek>();

  constructor(opts: ClusterPeeksOptions) {
    this.#o = opts;
  }

  get size(): number {
    return this.#pending.size;
  }

  /**
   * Starts a peek of an index: holds it at the peek's time and sends it (a targeted peek to its
   * replica only). @throws DuplicatePeek, CollectionMissing, InvalidStateRequest (not an index),
   * ReplicaMissing (targetReplica), SinceViolation
   */
  begin(peek: Peek): void {
    if (this.#pending.has(peek.uuid)) throw new DuplicatePeek(peek.uuid);
    if (peek.target.kind !== "index") {
      throw new InvalidStateRequest(
        "peek",
        "only index peeks are served by the cluster state; peek an index",
      );
    }
    const log = this.#o.logIndex(peek.target.id);
    if (log !== undefined) {
      // A replica's own log: no controller hold (the replica compacts it behind its window).
      if (peek.targetReplica === undefined) throw new LogPeekUntargeted(log.id, log.relation.name);
      this.#o.checkReplica(peek.targetReplica);
      this.#pending.set(peek.uuid, { target: log.id, targetReplica: peek.targetReplica });
      this.#o.compute({ kind: "peek", peek }, peek.targetReplica);
      return;
    }
    const c = this.#o.table.live(peek.target.id, "peek");
    if (c.kind !== "index")
      throw new InvalidStateRequest(
        "peek",
        `${c.id} is a ${c.kind}, which answers no peeks; peek an index on it`,
      );
    if (peek.targetReplica !== undefined) this.#o.checkReplica(peek.targetReplica);
    if (!Frontier.lessEqual(c.since, peek.timestamp))
      throw new SinceViolation(c.id, peek.timestamp, c.since);
    c.holds.set(Holder.peek(peek.uuid), peek.timestamp);
    this.#pending.set(peek.uuid, { target: c.id, targetReplica: peek.targetReplica });
    this.#o.compute({ kind: "peek", peek }, peek.targetReplica);
  }

  /**
   * Whether `replicaId`'s answer to peek `uuid` still matters: it is pending and the replica may
   * answer it. `answered` ignores any other answer (a replica's after the first, one after a
   * timeout or abort, an unknown uuid), so a replica task may drop it undecoded (issue 16).
   * Phase 5 compares no paths: nothing is awaited after the peek settles.
   */
  awaits(replicaId: ReplicaId, uuid: string): boolean {
    const p = this.#pending.get(uuid);
    return p !== undefined && (p.targetReplica === undefined || p.targetReplica === replicaId);
  }

  /** `replicaId` answered: settles the peek if it is pending and the replica may answer it. */
  answered(replicaId: ReplicaId, uuid: string, response: PeekResponse): void {
    const p = this.#pending.get(uuid);
    if (p === undefined || (p.targetReplica !== undefined && p.targetReplica !== replicaId)) return;
    this.finish(uuid, replicaId, response);
  }

  /** Settles a pending peek (see the file comment). Returns whether it was pending. */
  finish(uuid: string, replicaId?: ReplicaId, response?: PeekResponse): boolean {
    const p = this.#pending.get(uuid);
    if (p === undefined) return false;
    this.#pending.delete(uuid);
    this.#o.history.retirePeek(uuid);
    this.#o.compute({ kind: "cancelPeek", uuid });
    const c = this.#o.table.find(p.target);
    if (c !== undefined) {
      c.holds.release(Holder.peek(uuid));
      this.#o.propagation.settle(c);
    }
    this.#o.event({ kind: "peekSettled", uuid, replicaId, response });
    return true;
  }

  /** The pending peeks reading `id`. */
  reading(id: GlobalId): string[] {
    const out: string[] = [];
    for (const [uuid, p] of this.#pending) if (p.target === id) out.push(uuid);
    return out;
  }

  /** Settles (unanswered) the peeks targeted at a replica that failed or was dropped. */
  settleTargeted(replicaId: ReplicaId): void {
    for (const [uuid, p] of [...this.#pending])
      if (p.targetReplica === replicaId) this.finish(uuid);
  }
}
