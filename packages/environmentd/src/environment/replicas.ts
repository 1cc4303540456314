/**
 * The replicas this environmentd runs: the spec each is started with (handed to the
 * orchestrator), its location and pid, its health, and its attachment to its cluster's
 * controller (`Clusters.controllerOf`).
 *
 * ## Invariants
 * - A replica's PhaseSet is read once, at replica start (style §16), and kept with it: status
 *   compares it with the cluster's current PhaseSet (`flipping`; a live flip rolls it, `flips/`).
 * - Attach adds the replica to its cluster's controller at the orchestrator's location; an
 *   orchestrator `online` event at a new location moves it there. The legacy controller takes
 *   both URLs (its connectors pick the replica's layout, `layoutOf`); the unified one the
 *   replica's layout (`clusterLocation`).
 * - A replica's layout (`replicaLayout` of its PhaseSet: one-port when `cluster-unification-client`
 *   takes effect) is what the orchestrator launched it with and what the controllers speak to it
 *   (`layoutOf`, read by the cluster's connectors when they connect). In the one-port layout both
 *   controllers' URLs are the replica's cluster port.
 * - Health is the orchestrator's view of the process and — while the process runs — the cluster
 *   controller's view of the connection (a replica that stops answering its PING probe is
 *   `offline` with the controller's reason). A replica refusing our hellos is `offline` with a
 *   reason judged against the catalog's generation (`hello-refusals.ts`): fenced, or driven by
 *   another process; each distinct refusal is logged once.
 * - Detach never throws: the replica leaves its controller and the orchestrator, best effort.
 */
import type { ClusterController, ClusterReplicaLocation } from "@mzts/controller-unified/state";
import type { PhaseSet } from "@mzts/flags";
import {
  type ProcessOrchestrator,
  type ReplicaLayout,
  type ReplicaLocation,
  type ReplicaSpec,
  replicaLayout,
} from "@mzts/orchestrator";
import type { ReplicaHealth } from "@mzts/protocol";
import type { GlobalId } from "@mzts/repr";
import type { Logger } from "pino";
import type { ReplicaSlot } from "../catalog/catalog.js";
import { RefusalLog, refusalReason } from "../hello-refusals.js";
import type { Clusters } from "./clusters.js";

/** Where the cluster's controller reaches a replica (see the file comment). */
export function clusterLocation(
  controller: ClusterController,
  location: ReplicaLocation,
): ClusterReplicaLocation {
  if (controller.path === "unified" && location.clusterUrl !== undefined)
    return { layout: "one-port", clusterUrl: location.clusterUrl };
  return { layout: "two-port", computeUrl: location.computeUrl, storageUrl: location.storageUrl };
}

/** A running replica as the environment sees it. */
export interface ReplicaRuntime {
  readonly clusterId: GlobalId;
  /** The catalog name (changes once, when a live flip's successor takes its old one's). */
  name: string;
  readonly workers: number;
  /** The PhaseSet this replica was started with. */
  readonly phases: PhaseSet;
  /** Its migration slot (catalog; `stages/replica-slots.ts`). */
  readonly slot: ReplicaSlot;
  location: ReplicaLocation;
  health: ReplicaHealth;
  reason: string;
  pid: number | null;
}

export interface ReplicasOptions {
  readonly generation: bigint;
  readonly orchestrator: ProcessOrchestrator;
  readonly clusters: Clusters;
  /** The catalog's generation as last read (`Fencing`), to judge a refused hello. */
  readonly catalogGeneration: () => bigint;
  /** Logs each distinct refusal of our hellos once. */
  readonly log: Logger;
}

/** The environment's replicas (see the file comment). */
export class Replicas {
  readonly #o: ReplicasOptions;
  readonly #replicas = new Map<string, ReplicaRuntime>();
  readonly #refusals: RefusalLog;

  constructor(opts: ReplicasOptions) {
    this.#o = opts;
    this.#refusals = new RefusalLog(opts.log);
    opts.orchestrator.onEvent((e) => {
      const r = this.#replicas.get(e.replicaId);
      if (r === undefined) return;
      switch (e.kind) {
        case "online":
          r.health = "online";
          r.reason = "";
          r.pid = e.pid;
          this.#located(r, e.replicaId, e.location);
          break;
        case "offline":
          r.health = "offline";
          r.reason = e.reason;
          r.pid = null;
          break;
        case "restarting":
          r.health = "restarting";
          r.reason = e.reason;
          break;
        case "failed":
          r.health = "offline";
          r.reason = e.reason;
          break;
      }
    });
  }

  /**
   * The replica's process serves at `location` (moved or not): its controller connects there at
   * once instead of after the rest of its reconnect backoff (up to 1.2 s of a restart; issue 16).
   */
  #located(r: ReplicaRuntime, replicaId: string, location: ReplicaLocation): void {
    const moved =
      location.computeUrl !== r.location.computeUrl ||
      location.storageUrl !== r.location.storageUrl;
    r.location = location;
    const c = this.#o.clusters.findController(r.clusterId);
    if (c === undefined) return;
    try {
      c.updateReplicaLocation(replicaId, clusterLocation(c, location));
    } catch (e) {
      // A replica its controller does not hold (a rebuild or roll in progress) gets its location
      // when it is added; only a lost move is worth a warning.
      const fields = { replica_id: replicaId, err: (e as Error).message };
      if (moved) this.#o.log.warn(fields, "replica location not updated");
      else this.#o.log.debug(fields, "replica restart not signalled");
    }
  }

  /** The spec a replica is started (or adopted) with. */
  spec(clusterId: string, replicaId: string, workers: number, phases: PhaseSet): ReplicaSpec {
    return { clusterId, replicaId, workers, phases, generation: Number(this.#o.generation) };
  }

  /** Records a started replica and adds it to its cluster's controller at `location`. */
  attach(
    clusterId: GlobalId,
    replicaId: string,
    name: string,
    workers: number,
    phases: PhaseSet,
    location: ReplicaLocation,
    slot: ReplicaSlot = "legacy",
  ): void {
    const { orchestrator, clusters } = this.#o;
    const controller = clusters.controllerOf(clusterId, "addReplica");
    const pid = orchestrator.list().find((s) => s.replicaId === replicaId)?.pid ?? null;
    this.#replicas.set(replicaId, {
      clusterId,
      name,
      workers,
      phases,
      slot,
      location,
      health: "online",
      reason: "",
      pid,
    });
    controller.addReplica(replicaId, clusterLocation(controller, location));
  }

  /**
   * Adds every running replica of a cluster to its (rebuilt) controller at its current location:
   * the processes kept running; the new controller's replay makes them reconcile.
   */
  reattach(clusterId: GlobalId): number {
    const controller = this.#o.clusters.controllerOf(clusterId, "addReplica");
    const running = this.ofCluster(clusterId);
    for (const [id, r] of this.#replicas) {
      if (r.clusterId === clusterId)
        controller.addReplica(id, clusterLocation(controller, r.location));
    }
    return running.length;
  }

  /** A replica took another name in the catalog (a live flip's successor taking its old one's). */
  rename(replicaId: string, name: string): void {
    const r = this.#replicas.get(replicaId);
    if (r !== undefined) r.name = name;
  }

  /** Removes a replica from its cluster's controller and stops its process (best effort). */
  async detach(clusterId: GlobalId, replicaId: string): Promise<void> {
    this.#replicas.delete(replicaId);
    const { orchestrator, clusters } = this.#o;
    await clusters
      .findController(clusterId)
      ?.dropReplica(replicaId)
      .catch(() => undefined);
    await orchestrator.dropReplica(replicaId).catch(() => undefined);
  }

  /** The running replicas of a cluster. */
  ofCluster(clusterId: GlobalId): ReplicaRuntime[] {
    return [...this.#replicas.values()].filter((r) => r.clusterId === clusterId);
  }

  /** The pid of each running replica. */
  pids(): ReadonlyMap<string, number | null> {
    return new Map([...this.#replicas].map(([id, r]) => [id, r.pid]));
  }

  /** Re-judges every replica's health (logs refusals of our hellos once each). */
  checkRefusals(): void {
    for (const [id, rt] of this.#replicas) this.healthOf(rt.clusterId, id);
  }

  /** The PhaseSet a replica was started with (undefined: not started by this environmentd). */
  phasesOf(replicaId: string): PhaseSet | undefined {
    return this.#replicas.get(replicaId)?.phases;
  }

  /** A replica's migration slot (undefined: not started by this environmentd). */
  slotOf(replicaId: string): ReplicaSlot | undefined {
    return this.#replicas.get(replicaId)?.slot;
  }

  /** The layout a replica was started with (undefined: not started by this environmentd). */
  layoutOf(replicaId: string): ReplicaLayout | undefined {
    const phases = this.phasesOf(replicaId);
    return phases === undefined ? undefined : replicaLayout(phases);
  }

  /** A replica's health (see the file comment). */
  healthOf(clusterId: GlobalId, replicaId: string): { health: ReplicaHealth; reason: string } {
    const rt = this.#replicas.get(replicaId);
    if (rt === undefined) return { health: "offline", reason: "not started by this environmentd" };
    if (rt.health !== "online") return { health: rt.health, reason: rt.reason };
    const task = this.#o.clusters
      .findController(clusterId)
      ?.replicas()
      .find((x) => x.replicaId === replicaId);
    if (task === undefined || task.state === "connected") return { health: "online", reason: "" };
    if (task.refusal !== undefined) {
      const { generation, catalogGeneration } = this.#o;
      const reason = refusalReason(replicaId, task.refusal, generation, catalogGeneration());
      this.#refusals.note(replicaId, task.refusal, reason);
      return { health: "offline", reason };
    }
    return {
      health: "offline",
      reason: task.lastError ?? "connecting to the replica's compute endpoint",
    };
  }
}
