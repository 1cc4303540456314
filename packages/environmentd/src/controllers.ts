/**
 * The composition root for controllers (design §7, §9 phases 3–5): `selectControllers(phases)`
 * chooses, per cluster, what that cluster's controller state runs — the replica connector of its
 * compute instance and of its storage instance — and describes the path of every controller-side
 * seam, so status can show it. environmentd calls it once per cluster, at the point where that
 * cluster's compute and storage instances are built (boot, `createCluster`): a phase never
 * switches per process, always per cluster.
 *
 * ## Seams and their phases
 * | Seam               | Phase                           | Legacy (off)                                      | Unified (in force)            |
 * | ------------------ | ------------------------------- | ------------------------------------------------- | ----------------------------- |
 * | `compute-replicas` | `cluster-unification-replicas`  | compute-client's replica task (`connectLegacyComputeReplica`) | controller-unified's `ReplicaTask` with compute's protocol (`connectUnifiedComputeReplica`) |
 * | `storage-replicas` | `cluster-unification-replicas`  | storage-client's replica task (`connectLegacyStorageReplica`) | controller-unified's `ReplicaTask` with storage's protocol (`connectUnifiedStorageReplica`) |
 * | `client`           | `cluster-unification-client`    | two ports, two streams per replica                | controller-unified's `ClusterStreams`: one `ClusterService` stream per replica for both |
 * | `state`            | `cluster-unification-state`     | a compute and a storage instance per cluster behind `LegacyClusterController` | one `ClusterState` per cluster (`UnifiedClusterController`) |
 *
 * ## Invariants
 * - A seam runs unified exactly when its phase takes effect (`PhaseSet.takesEffect`: in force
 *   and built); `Clusters.build` builds the unified cluster controller exactly when the `state`
 *   seam is unified here. A phase in force whose unified path is not built is reported as
 *   "accepted, no effect yet" (design §7), never half-enabled; a phase that is off (or blocked)
 *   reports plain legacy.
 * - The selection is a pure function of the PhaseSet: the same PhaseSet gives the same choice.
 * - Both controllers take the chosen connector per instance (`createInstance(…, { connector })`);
 *   neither has a default of its own. The unified connectors carry the unified rehydration
 *   policy, which both instances then follow instead of their legacy ones.
 * - The client seam is chosen per REPLICA, not per cluster: a replica's layout is read once, at
 *   its creation, from the PhaseSet it was started with (`replicaLayout` of `@mzts/orchestrator`,
 *   which also shapes clusterd's arguments) and looked up here through `layoutOf(replicaId)`, so
 *   the controller always speaks what the replica serves. One-port replicas ride the cluster's
 *   `ClusterStreams` (one stream for both instances); two-port replicas take the per-workload
 *   connector the replicas seam chose. A disagreement anyway (Connect `Unimplemented`) is a
 *   `ReplicaLayoutMismatch` in the replica's status.
 * - While `cluster-unification-replicas` migrates (a middle stage), the replicas seam is chosen
 *   per replica too: each replica's task follows the PhaseSet of its migration slot
 *   (`slotOf`, `environment/stages/replica-tasks.ts`); the seam's path is the authoritative one.
 * - While `cluster-unification-state` migrates, the `state` seam's path is the authoritative one
 *   and `Clusters.build` runs both controllers (`environment/stages/shadowed-controller.ts`).
 */
import {
  type ComputeReplicaConnector,
  connectLegacyComputeReplica,
  connectUnifiedComputeReplica,
} from "@mzts/compute-client";
import type { ReplicaConnector } from "@mzts/controller-unified";
import { type ClusterStreams, createClusterStreams } from "@mzts/controller-unified/client";
import { FLAG_KEYS, type Phase, type PhasePath, type PhaseSet } from "@mzts/flags";
import { type ReplicaLayout, replicaLayout } from "@mzts/orchestrator";
import type { ControllerPath } from "@mzts/protocol";
import {
  connectLegacyStorageReplica,
  connectUnifiedStorageReplica,
  type StorageReplicaConnector,
} from "@mzts/storage-client";
import type { ReplicaTaskMetric } from "./environment/stages/replica-task-metric.js";
import { perReplicaTask } from "./environment/stages/replica-tasks.js";

/** A controller-side seam. */
export type ControllerSeam = "compute-replicas" | "storage-replicas" | "client" | "state";

/** The phase that switches each seam, and what its legacy and unified paths are. */
const SEAMS: readonly { seam: ControllerSeam; phase: Phase; legacy: string; unified: string }[] = [
  {
    seam: "compute-replicas",
    phase: "replicas",
    legacy: "compute-client replica task",
    unified: "controller-unified replica task (compute protocol)",
  },
  {
    seam: "storage-replicas",
    phase: "replicas",
    legacy: "storage-client replica task",
    unified: "controller-unified replica task (storage protocol)",
  },
  {
    seam: "client",
    phase: "client",
    legacy: "two ports, two streams per replica",
    unified: "one ClusterService stream per replica (controller-unified client)",
  },
  {
    seam: "state",
    phase: "state",
    legacy: "a compute and a storage instance",
    unified: "one controller state per cluster (controller-unified state)",
  },
];

/** One instance's connectors: the one it takes, and the per-workload one of two-port replicas. */
export interface InstanceConnectors<C> {
  /** What the instance takes: per replica, by its layout (the cluster stream or `perWorkload`). */
  readonly connector: C;
  /** The two-port layout's connector, chosen by the replicas seam (legacy or unified task). */
  readonly perWorkload: C;
}

/** What one cluster's controller state runs (see the file comment). */
export interface ClusterControllers {
  /** The PhaseSet it was chosen from (read once, when the cluster's controllers were built). */
  readonly phases: PhaseSet;
  readonly compute: InstanceConnectors<ComputeReplicaConnector>;
  readonly storage: InstanceConnectors<StorageReplicaConnector>;
  /** The cluster's shared replica streams (its one-port replicas). */
  readonly streams: ClusterStreams;
  /** Every controller-side seam with the path it runs, in seam order. */
  readonly paths: readonly ControllerPath[];
}

/** Options of `selectControllers`. */
export interface SelectOptions {
  /**
   * The layout of a replica, read once at its creation (`replicaLayout(its PhaseSet)`); a replica
   * it does not know (undefined) takes the layout of the cluster's PhaseSet.
   */
  readonly layoutOf?: (replicaId: string) => ReplicaLayout | undefined;
  /**
   * A replica's migration slot (catalog): while `cluster-unification-replicas` migrates, each
   * replica's task follows its slot's PhaseSet (`environment/stages/replica-tasks.ts`).
   */
  readonly slotOf?: (replicaId: string) => PhasePath | undefined;
  /** Counts each replica's connections per task (`mz_controller_replica_task`). */
  readonly taskMetric?: ReplicaTaskMetric;
}

/**
 * A connector choosing, per replica, the cluster stream (one-port) or `perWorkload` (two-port),
 * carrying `perWorkload`'s rehydration policy (the one the replicas seam chose for the cluster).
 * `onePort` is the cluster stream's connector.
 */
function perLayout<C, R>(
  layoutOf: (replicaId: string) => ReplicaLayout,
  onePort: ReplicaConnector<C, R>,
  perWorkload: ReplicaConnector<C, R>,
): ReplicaConnector<C, R> {
  const connect: ReplicaConnector<C, R> = (o) =>
    layoutOf(o.replicaId) === "one-port"
      ? onePort(o)
      : // PHASE(client): legacy — delete when cluster-unification-client is retired
        perWorkload(o);
  // A one-port replica of a cluster whose replicas seam is legacy (it was created after a flag
  // change) follows the instances' legacy policies: its sub-connections still share one stream.
  const rehydration = perWorkload.rehydration;
  return rehydration === undefined ? connect : Object.assign(connect, { rehydration });
}

/**
 * Whether the connectors chosen from `a` and from `b` connect a cluster's existing replicas
 * differently, so a reseat must reconnect them. They do when the replicas seam changes (another
 * replica task, or per replica by slot ↔ one for all, or another authoritative path: the
 * instance's rehydration policy and the task of a replica of unknown slot follow it). A change of
 * `client` alone does not: each replica's layout is the one it was started with (`layoutOf`,
 * fixed until a flip rolls the replica, whose successor connects anew), so e.g. a `client`
 * shadow → live flip changes only which path answers. `selectControllers` builds new connector
 * objects on every call, so they cannot be compared by identity.
 */
export function connectorsDiffer(a: PhaseSet, b: PhaseSet): boolean {
  return (
    a.inForce.replicas !== b.inForce.replicas ||
    a.path("replicas") !== b.path("replicas") ||
    a.migrating.includes("replicas") !== b.migrating.includes("replicas")
  );
}

/** Chooses what a cluster's controller state runs from its PhaseSet. */
export function selectControllers(
  phases: PhaseSet,
  options: SelectOptions = {},
): ClusterControllers {
  const paths = SEAMS.map(({ seam, phase, legacy, unified }): ControllerPath => {
    const flag = FLAG_KEYS[phase];
    if (phase === "replicas" && phases.migrating.includes(phase)) {
      const stage = phases.stage(phase);
      const path = phases.path(phase);
      return { seam, flag, path, note: `${stage}: per replica by slot (${legacy} | ${unified})` };
    }
    if (phase === "state" && phases.migrating.includes(phase) && !phases.noEffect.includes(phase)) {
      const stage = phases.stage(phase);
      const path = phases.path(phase);
      return { seam, flag, path, note: `${stage}: both controllers run, ${path} authoritative` };
    }
    if (phases.takesEffect(phase)) return { seam, flag, path: "unified", note: unified };
    const note = phases.inForce[phase]
      ? `${flag} in force: accepted, no effect yet (${legacy})`
      : legacy;
    return { seam, flag, path: "legacy", note };
  });
  const metric = options.taskMetric;
  const observed = <C, R>(
    workload: "compute" | "storage",
    p: PhaseSet,
    unified: ReplicaConnector<C, R>,
    legacy: ReplicaConnector<C, R>,
  ): ReplicaConnector<C, R> => {
    const task: PhasePath = p.takesEffect("replicas") ? "unified" : "legacy";
    const connector = task === "unified" ? unified : legacy;
    return metric === undefined ? connector : metric.observe(workload, task, connector);
  };
  const computeTask = perReplicaTask(phases, options.slotOf, (p) =>
    observed(
      "compute",
      p,
      connectUnifiedComputeReplica,
      // PHASE(replicas): legacy — delete when cluster-unification-replicas is retired
      connectLegacyComputeReplica,
    ),
  );
  const storageTask = perReplicaTask(phases, options.slotOf, (p) =>
    observed(
      "storage",
      p,
      connectUnifiedStorageReplica,
      // PHASE(replicas): legacy — delete when cluster-unification-replicas is retired
      connectLegacyStorageReplica,
    ),
  );
  const clusterLayout = replicaLayout(phases);
  const layoutOf = (id: string) => options.layoutOf?.(id) ?? clusterLayout;
  const streams = createClusterStreams();
  return {
    phases,
    compute: {
      connector: perLayout(layoutOf, streams.compute, computeTask),
      perWorkload: computeTask,
    },
    storage: {
      connector: perLayout(layoutOf, streams.storage, storageTask),
      perWorkload: storageTask,
    },
    streams,
    paths,
  };
}
