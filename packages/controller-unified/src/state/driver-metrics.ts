/**
 * The unified driver's Prometheus series: the legacy controllers' (compute-client's and
 * storage-client's, `controller-metrics.ts`: same names, same `instance_id` / `replica_id`
 * labels, the same metric objects when both paths share the environment's registry), so
 * dashboards do not change with the `state` flag — plus the cluster state's own gauges
 * (`mz_cluster_state_collections`, `mz_cluster_state_history_commands`).
 *
 * ## How the one state maps onto the two legacy sets
 * - Commands and responses count under their workload's series (`mz_compute_commands_total` or
 *   `mz_storage_commands_total`, per replica and kind), as each legacy replica task counted them.
 * - An incarnation connects both sub-protocols at once: both workloads' connect counters and
 *   wait times advance, both connected-replica gauges are set.
 * - History gauges: the one history's per-kind counts, split by workload
 *   (`ClusterCommandHistory.attachMetrics`).
 * - Compute state sizes: replicas, pending peeks, subscribes, compute rows; peeks by result with
 *   their duration (`rows`, `error`, `canceled` — a timeout is a cancel, as in compute-client).
 * - `close()` removes the cluster's gauge series (counters stay: they are totals).
 */
import type { ClusterCommand, ClusterResponse } from "@mzts/protocol";
import type { ReplicaId } from "@mzts/repr";
import type { Registry } from "prom-client";
import type { ClusterState } from "./cluster-state.js";
import {
  bindHistoryMetrics,
  type ClusterStateMetrics,
  type ControllerMetrics,
  clusterStateMetrics,
  controllerMetrics,
  type PeekResult,
  type StorageControllerMetrics,
  storageControllerMetrics,
} from "./controller-metrics.js";
import { MetricsConflict } from "./errors.js";

/** One cluster's series in one registry (see the file comment). */
export class DriverMetrics {
  readonly #id: string;
  readonly #compute: ControllerMetrics;
  readonly #storage: StorageControllerMetrics;
  readonly #cluster: ClusterStateMetrics;
  readonly #detachHistory: () => void;
  #closed = false;

  /** @throws MetricsConflict when a name is registered by other code. */
  constructor(registry: Registry, clusterId: string, state: ClusterState) {
    this.#id = clusterId;
    const conflict = (name: string, reason: string) => new MetricsConflict(name, reason);
    this.#compute = controllerMetrics(registry, conflict);
    this.#storage = storageControllerMetrics(registry);
    this.#cluster = clusterStateMetrics(registry);
    this.#detachHistory = state.attachHistoryMetrics({
      compute: bindHistoryMetrics(registry, { instance_id: clusterId }, conflict),
      storage: this.#storage.historyCountsFor(clusterId),
    });
  }

  /** A command written to `replicaId` (replayed or live). */
  commandSent(replicaId: ReplicaId, c: ClusterCommand): void {
    const labels = { instance_id: this.#id, replica_id: replicaId, command_type: c.command.kind };
    if (c.kind === "compute") this.#compute.commandsTotal.inc(labels);
    else this.#storage.commandsTotal.inc(labels);
  }

  /**
   * Responses of `replicaId`'s current incarnation, as tallied by kind: one increment per kind
   * and stream message instead of one per response (issue 16: ~1,000 frontiers a second at 1,000
   * idle indexes, ~2 µs of label hashing each).
   */
  responses(replicaId: ReplicaId, tally: ResponseTally): void {
    for (const [kind, n] of tally.compute)
      this.#compute.responsesTotal.inc(
        { instance_id: this.#id, replica_id: replicaId, response_type: kind },
        n,
      );
    for (const [kind, n] of tally.storage)
      this.#storage.responsesTotal.inc(
        { instance_id: this.#id, replica_id: replicaId, response_type: kind },
        n,
      );
  }

  /** A current incarnation's peek answer nobody awaited, dropped undecoded (counted as delivered). */
  peekResponseDropped(replicaId: ReplicaId): void {
    const labels = { instance_id: this.#id, replica_id: replicaId, response_type: "peekResponse" };
    this.#compute.responsesTotal.inc(labels);
  }

  /** An incarnation connected after `waitSeconds` (from its start, backoff included). */
  connected(replicaId: ReplicaId, waitSeconds: number): void {
    const labels = { instance_id: this.#id, replica_id: replicaId };
    this.#compute.replicaConnectsTotal.inc(labels);
    this.#compute.replicaConnectWaitSeconds.inc(labels, waitSeconds);
    this.#storage.replicaConnectsTotal.inc(labels);
    this.#storage.replicaConnectWaitSeconds.inc(labels, waitSeconds);
  }

  /** A peek finished (`seconds` after it was issued). */
  peek(result: PeekResult, seconds: number): void {
    this.#compute.peeks.record(this.#id, result, seconds);
  }

  /** Sets the gauges from the state's sizes (cheap: a handful of sets). */
  gauges(state: ClusterState): void {
    if (this.#closed) return;
    const s = state.sizes();
    const l = { instance_id: this.#id };
    let connected = 0;
    for (const r of state.health()) if (r.state === "connected") connected++;
    this.#compute.replicaCount.set(l, s.replicas);
    this.#compute.connectedReplicaCount.set(l, connected);
    this.#storage.connectedReplicaCount.set(l, connected);
    this.#compute.peekCount.set(l, s.peeks);
    this.#compute.subscribeCount.set(l, s.subscribes);
    this.#compute.collectionCount.set(l, s.computeCollections);
    this.#cluster.collections.set(l, s.collections);
    this.#cluster.historyCommands.set(l, s.history);
  }

  /** Removes the cluster's gauge series. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    const l = { instance_id: this.#id };
    this.#detachHistory();
    this.#storage.forgetInstance(this.#id);
    for (const g of [
      this.#compute.replicaCount,
      this.#compute.connectedReplicaCount,
      this.#compute.peekCount,
      this.#compute.subscribeCount,
      this.#compute.collectionCount,
      this.#cluster.collections,
      this.#cluster.historyCommands,
    ])
      g.remove(l);
  }
}

/** Responses counted by workload and kind (`DriverMetrics.responses`). */
export class ResponseTally {
  readonly compute = new Map<string, number>();
  readonly storage = new Map<string, number>();

  add(r: ClusterResponse): void {
    const m = r.kind === "compute" ? this.compute : this.storage;
    const kind = r.response.kind;
    m.set(kind, (m.get(kind) ?? 0) + 1);
  }
}
