/**
 * How a replica's responses change a `ClusterState` (design §9 phase 5): one concept split out of
 * the state. `ClusterState.absorb` checks the epoch and the replica's health, then hands each
 * response of a current incarnation here.
 *
 * - compute `frontiers`: a replica's input frontier past its hold (`replica:<id>`) releases the
 *   hold; the write frontier updates the per-replica and global write frontiers, which move the
 *   policy holds (`#absorbWrite`).
 * - storage `frontierUpper`: the same write path; a dropped collection's late upper only from a
 *   replica the storage rules still expect one from (`REPLICA_RULES.storage.lateWrite`).
 * - `peekResponse`: settles the first pending peek (`cluster-peeks.ts`); `subscribeResponse`: the
 *   subscribe's merge (`cluster-subscribes.ts`).
 * - storage `droppedId`: the replica acknowledged the drop; the row is forgotten once every
 *   replica that owed one did.
 * - anything else: passed on as a `response` event.
 */
import type { ClusterResponse, ComputeResponse, StorageResponse } from "@mzts/protocol";
import { Frontier, type ReplicaId } from "@mzts/repr";
import type { ClusterPeeks } from "./cluster-peeks.js";
import type { ClusterSubscribes } from "./cluster-subscribes.js";
import type { Collection, CollectionTable } from "./collection-table.js";
import { Holder } from "./read-holds.js";
import { REPLICA_RULES } from "./replica-rules.js";
import type { SincePropagation } from "./since-propagation.js";
import type { ClusterStateEvent } from "./state-io.js";

/** What absorbing responses needs from its state. */
export interface ClusterResponsesOptions {
  readonly table: CollectionTable;
  readonly propagation: SincePropagation;
  readonly peeks: ClusterPeeks;
  readonly subscribes: ClusterSubscribes;
  event(e: ClusterStateEvent): void;
}

/** Absorbs the responses of a cluster's replicas into its state (see the file comment). */
export class ClusterResponses {
  readonly #o: ClusterResponsesOptions;

  constructor(opts: ClusterResponsesOptions) {
    this.#o = opts;
  }

  /** A response of a current, not failed incarnation of `replicaId`. */
  absorb(replicaId: ReplicaId, response: ClusterResponse): void {
    if (response.kind === "compute") this.#compute(replicaId, response.response, response);
    else this.#storage(replicaId, response.response, response);
  }

  #compute(replicaId: ReplicaId, r: ComputeResponse, whole: ClusterResponse): void {
    const { table, propagation } = this.#o;
    switch (r.kind) {
      case "frontiers": {
        const c = table.find(r.id);
        if (c === undefined || c.workload !== "compute") return;
        const held = c.holds.get(Holder.replica(replicaId));
        const input = r.frontiers.input;
        if (held !== undefined && input !== undefined && Frontier.lessThan(held, input)) {
          c.holds.release(Holder.replica(replicaId));
          propagation.settle(c);
        }
        if (r.frontiers.write === undefined || !table.has(c.id)) return;
        this.#absorbWrite(c, replicaId, r.frontiers.write);
        return;
      }
      case "peekResponse":
        this.#o.peeks.answered(replicaId, r.uuid, r.response);
        return;
      case "subscribeResponse":
        this.#o.subscribes.absorb(replicaId, r.id, r.response);
        return;
      default:
        this.#o.event({ kind: "response", replicaId, response: whole });
    }
  }

  #storage(replicaId: ReplicaId, r: StorageResponse, whole: ClusterResponse): void {
    switch (r.kind) {
      case "frontierUpper": {
        const c = this.#o.table.find(r.id);
        if (c === undefined || c.workload !== "storage") return;
        if (c.dropped && !REPLICA_RULES.storage.lateWrite(c, replicaId)) return;
        this.#absorbWrite(c, replicaId, r.upper);
        return;
      }
      case "droppedId": {
        const c = this.#o.table.find(r.id);
        if (c === undefined || c.owed === undefined) return;
        c.delivered.add(replicaId);
        c.owed.delete(replicaId);
        this.#o.propagation.maybeForget(c);
        return;
      }
      default:
        this.#o.event({ kind: "response", replicaId, response: whole });
    }
  }

  #absorbWrite(c: Collection, replicaId: ReplicaId, write: Frontier): void {
    if (this.#o.table.absorbWrite(c, replicaId, write)) {
      this.#o.event({ kind: "writeFrontier", id: c.id, frontier: c.write });
      this.#o.propagation.updatePolicy(c);
    } else {
      this.#o.propagation.maybeForget(c);
    }
  }
}
