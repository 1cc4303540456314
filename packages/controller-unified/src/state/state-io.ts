/**
 * What flows between a `ClusterState` and its driver (the `ClusterController` implementation):
 * the state's options, the commands it asks to send (`takeOutbox`), the events it reports
 * (`takeEvents`) and the options of `createDataflow`.
 */
import type { ClusterCommand, ClusterResponse, LoggingConfig, PeekResponse } from "@mzts/protocol";
import type { Frontier, GlobalId, ReplicaId } from "@mzts/repr";
import type { ClusterReductionRules } from "./cluster-history.js";
import type { PreferenceOf } from "./cluster-placement.js";
import type { MaintenanceTuning } from "./maintenance.js";
import type { ReadHold } from "./read-holds.js";

/** Options of `ClusterState`. */
export interface ClusterStateOptions {
  readonly clusterId: string;
  /** The environment's generation (the history's placeholder hello carries it). */
  readonly generation: bigint;
  readonly logging: LoggingConfig;
  /** How far the policy hold trails the write frontier (ms of timestamp). Default 1000. */
  readonly compactionWindowMs?: bigint;
  /** A read-only state never sends storage `allowWrites` (0dt). Default false. */
  readonly readOnly?: boolean;
  readonly maintenance?: Partial<MaintenanceTuning>;
  /** Tests only: the reduction rules (default: the protocol's). */
  readonly rules?: ClusterReductionRules;
  /**
   * Tests only: how an ingestion is placed (default: storage-client's `ingestionPreference`;
   * every connection kind today is deterministic, so this is how a test gets a single-replica one).
   */
  readonly placement?: PreferenceOf;
}

/** A command to send: to every replica, or to `replicaId` only. */
export interface OutgoingCommand {
  readonly command: ClusterCommand;
  readonly replicaId?: ReplicaId;
}

/** What the state tells its driver (drained by `takeEvents`). */
export type ClusterStateEvent =
  | { readonly kind: "writeFrontier"; readonly id: GlobalId; readonly frontier: Frontier }
  | {
      readonly kind: "peekSettled";
      readonly uuid: string;
      /** The answering replica, or undefined when `finishPeek`/a replica loss settled it. */
      readonly replicaId: ReplicaId | undefined;
      readonly response: PeekResponse | undefined;
    }
  /** A row was forgotten, or a subscribe ended: the id is free. */
  | { readonly kind: "forgotten"; readonly id: GlobalId }
  /** A response the state does not interpret (status, statistics, subscribes, errors). */
  | {
      readonly kind: "response";
      readonly replicaId: ReplicaId;
      readonly response: ClusterResponse;
    };

/** Options of `createDataflow`. */
export interface CreateDataflowOptions {
  /**
   * Holds on imports that are not collections of this cluster (another cluster's
   * `acquireReadHold`), at or below the as-of; the state keeps them at the dataflow's since and
   * releases them with it.
   */
  readonly foreignHolds?: readonly ReadHold[];
  /**
   * The durable since of a persist sink's shard (its since handle, opened by the driver; default
   * the as-of). The row's since is the as-of either way: below it the shard holds nothing the
   * sink wrote (the readable floor).
   */
  readonly shardSince?: (shardId: string) => Frontier;
}

/** `ClusterState.sizes()`: counts for status and metrics. */
export interface ClusterStateSizes {
  readonly collections: number;
  readonly computeCollections: number;
  readonly subscribes: number;
  readonly history: number;
  readonly peeks: number;
  readonly replicas: number;
  readonly sinceHandles: number;
}
