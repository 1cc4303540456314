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
 *
 * ## Cost per peek (issue 16), as compute-client's replicas and instance already do
 * - Compute commands are tallied per replica and kind and added to `mz_compute_commands_total`
 *   when it is read (a scrape source: `ControllerMetrics.addScrapeSource`): a peek and its cancel
 *   go to every replica for each API peek, and a labelled `inc` hashes its labels each time. A
 *   scrape reads the same counts as if each had been added when sent. The peek answers dropped
 *   undecoded (the second replica's, for each API peek) are tallied the same way into
 *   `mz_compute_responses_total`.
 * - The pending-peek gauge is set at a scrape too (it changes with every peek); `gauges()` sets
 *   the other gauges only when a value changed (it runs after every call and response), and all
 *   of them at most `GAUGES_REFRESH_MS` after the last full set: a series another controller of
 *   the same cluster removed (its `close()` during a live rebuild) is back within that time.
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

/** How long `gauges()` sets only the changed gauges before it sets all of them again. */
export const GAUGES_REFRESH_MS = 1000;

/** One cluster's series in one registry (see the file comment). */
export class DriverMetrics {
  readonly #id: string;
  readonly #compute: ControllerMetrics;
  readonly #storage: StorageControllerMetrics;
  readonly #cluster: ClusterStateMetrics;
  readonly #detachHistory: () => void;
  readonly #removeScrapeSource: () => void;
  /** Compute commands sent and not yet added to the counter, by replica and kind. */
  readonly #pendingCommands = new Map<ReplicaId, Map<string, number>>();
  /** Peek answers dropped undecoded and not yet added to the counter, by replica. */
  readonly #pendingDropped = new Map<ReplicaId, number>();
  /** The last values `gauges()` set (undefined: none yet), in its order. */
  readonly #lastGauges: number[] = [];
  /** When `gauges()` last set every gauge (`performance.now()`). */
  #fullAt = Number.NEGATIVE_INFINITY;
  /** Pending peeks, read at a scrape. */
  #peeks = 0;
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
    this.#removeScrapeSource = this.#compute.addScrapeSource(() => this.#scrape());
  }

  /** Adds the tallied commands and sets the pending-peek gauge (a scrape reads them next). */
  #scrape(): void {
    for (const [replicaId, byKind] of this.#pendingCommands)
      for (const [kind, n] of byKind)
        this.#compute.commandsTotal.inc(
          { instance_id: this.#id, replica_id: replicaId, command_type: kind },
          n,
        );
    this.#pendingCommands.clear();
    for (const [replicaId, n] of this.#pendingDropped)
      this.#compute.responsesTotal.inc(
        { instance_id: this.#id, replica_id: replicaId, response_type: "peekResponse" },
        n,
      );
    this.#pendingDropped.clear();
    if (!this.#closed) this.#compute.peekCount.set({ instance_id: this.#id }, this.#peeks);
  }

  /** A command written to `replicaId` (replayed or live). */
  commandSent(replicaId: ReplicaId, c: ClusterCommand): void {
    if (c.kind === "compute") {
      let byKind = this.#pendingCommands.get(replicaId);
      if (byKind === undefined) {
        byKind = new Map();
        this.#pendingCommands.set(replicaId, byKind);
      }
      const kind = c.command.kind;
      byKind.set(kind, (byKind.get(kind) ?? 0) + 1);
      return;
    }
    const labels = { instance_id: this.#id, replica_id: replicaId, command_type: c.command.kind };
    this.#storage.commandsTotal.inc(labels);
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
    this.#pendingDropped.set(replicaId, (this.#pendingDropped.get(replicaId) ?? 0) + 1);
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

  /**
   * Sets the gauges from the state's sizes: those that changed since the last call; the pending
   * peeks at the next scrape (see the file comment).
   */
  gauges(state: ClusterState): void {
    if (this.#closed) return;
    const s = state.sizes();
    this.#peeks = s.peeks;
    let connected = 0;
    for (const r of state.health()) if (r.state === "connected") connected++;
    const now = performance.now();
    if (now - this.#fullAt >= GAUGES_REFRESH_MS) {
      this.#fullAt = now;
      this.#lastGauges.length = 0; // every gauge is set below
    }
    const c = this.#compute;
    this.#set(0, c.replicaCount, s.replicas);
    this.#set(1, c.connectedReplicaCount, connected);
    this.#set(2, this.#storage.connectedReplicaCount, connected);
    this.#set(3, c.subscribeCount, s.subscribes);
    this.#set(4, c.collectionCount, s.computeCollections);
    this.#set(5, this.#cluster.collections, s.collections);
    this.#set(6, this.#cluster.historyCommands, s.history);
  }

  /** Sets gauge `i` of `gauges()` when its value changed. */
  #set(i: number, g: { set(labels: { instance_id: string }, v: number): void }, v: number): void {
    if (this.#lastGauges[i] === v) return;
    this.#lastGauges[i] = v;
    g.set({ instance_id: this.#id }, v);
  }

  /** Removes the cluster's gauge series. */
  close(): void {
    if (this.#closed) return;
    this.#removeScrapeSource(); // adds what is tallied (and sets the peek gauge a last time)
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
