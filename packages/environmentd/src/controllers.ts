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
 * | `client`           | `cluster-unification-client`    | two ports, two streams per replica                | not built yet                 |
 * | `state`            | `cluster-unification-state`     | a compute and a storage instance per cluster      | not built yet                 |
 *
 * ## Invariants
 * - A seam runs unified exactly when its phase takes effect (`PhaseSet.takesEffect`: in force
 *   and built). A phase in force whose unified path is not built (client, state) is reported as
 *   "accepted, no effect yet" (design §7), never half-enabled; a phase that is off (or blocked)
 *   reports plain legacy.
 * - The selection is a pure function of the PhaseSet: the same PhaseSet gives the same choice.
 * - Both controllers take the chosen connector per instance (`createInstance(…, { connector })`);
 *   neither has a default of its own. The unified connectors carry the unified rehydration
 *   policy, which both instances then follow instead of their legacy ones.
 */
import {
  type ComputeReplicaConnector,
  connectLegacyComputeReplica,
  connectUnifiedComputeReplica,
} from "@mzts/compute-client";
import { FLAG_KEYS, type Phase, type PhaseSet } from "@mzts/flags";
import type { ControllerPath } from "@mzts/protocol";
import {
  connectLegacyStorageReplica,
  connectUnifiedStorageReplica,
  type StorageReplicaConnector,
} from "@mzts/storage-client";

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
  { seam: "client", phase: "client", legacy: "two ports, two streams per replica", unified: "" },
  { seam: "state", phase: "state", legacy: "a compute and a storage instance", unified: "" },
];

/** What one cluster's controller state runs (see the file comment). */
export interface ClusterControllers {
  /** The PhaseSet it was chosen from (read once, when the cluster's controllers were built). */
  readonly phases: PhaseSet;
  readonly compute: { readonly connector: ComputeReplicaConnector };
  readonly storage: { readonly connector: StorageReplicaConnector };
  /** Every controller-side seam with the path it runs, in seam order. */
  readonly paths: readonly ControllerPath[];
}

/** Chooses what a cluster's controller state runs from its PhaseSet. */
export function selectControllers(phases: PhaseSet): ClusterControllers {
  const paths = SEAMS.map(({ seam, phase, legacy, unified }): ControllerPath => {
    const flag = FLAG_KEYS[phase];
    if (phases.takesEffect(phase)) return { seam, flag, path: "unified", note: unified };
    const note = phases.inForce[phase]
      ? `${flag} in force: accepted, no effect yet (${legacy})`
      : legacy;
    return { seam, flag, path: "legacy", note };
  });
  const replicas = phases.takesEffect("replicas");
  return {
    phases,
    compute: {
      connector: replicas
        ? connectUnifiedComputeReplica
        : // PHASE(replicas): legacy — delete when cluster-unification-replicas is retired
          connectLegacyComputeReplica,
    },
    storage: {
      connector: replicas
        ? connectUnifiedStorageReplica
        : // PHASE(replicas): legacy — delete when cluster-unification-replicas is retired
          connectLegacyStorageReplica,
    },
    paths,
  };
}
