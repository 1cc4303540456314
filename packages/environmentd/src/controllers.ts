/**
 * The composition root for controllers (design §7, §9 phases 3–5): `selectControllers(phases)`
 * chooses, per cluster, what that cluster's controller state runs — the replica connector of its
 * compute instance and of its storage instance — and describes the path of every controller-side
 * seam, so status can show it. environmentd calls it once per cluster, at the point where that
 * cluster's compute and storage instances are built (boot, `createCluster`): a phase never
 * switches per process, always per cluster.
 *
 * ## Seams and their phases
 * | Seam               | Phase                           | Legacy (what runs today)                          |
 * | ------------------ | ------------------------------- | ------------------------------------------------- |
 * | `compute-replicas` | `cluster-unification-replicas`  | compute-client's replica task (`connectLegacyComputeReplica`) |
 * | `storage-replicas` | `cluster-unification-replicas`  | storage-client's replica task (`connectLegacyStorageReplica`) |
 * | `client`           | `cluster-unification-client`    | two ports, two streams per replica                |
 * | `state`            | `cluster-unification-state`     | a compute and a storage instance per cluster      |
 *
 * ## Invariants
 * - The unified paths (`@mzts/controller-unified`) are not built yet: every seam runs legacy. A
 *   phase in force for a seam is reported as "accepted, no effect yet" (design §7), never
 *   half-enabled; a phase that is off reports plain legacy.
 * - The selection is a pure function of the PhaseSet: the same PhaseSet gives the same choice.
 * - Both controllers take the chosen connector per instance (`createInstance(…, { connector })`);
 *   neither has a default of its own.
 */
import { type ComputeReplicaConnector, connectLegacyComputeReplica } from "@mzts/compute-client";
import { FLAG_KEYS, type Phase, type PhaseSet } from "@mzts/flags";
import type { ControllerPath } from "@mzts/protocol";
import { connectLegacyStorageReplica, type StorageReplicaConnector } from "@mzts/storage-client";

/** A controller-side seam. */
export type ControllerSeam = "compute-replicas" | "storage-replicas" | "client" | "state";

/** The phase that switches each seam, and what its legacy path is. */
const SEAMS: readonly { seam: ControllerSeam; phase: Phase; legacy: string }[] = [
  { seam: "compute-replicas", phase: "replicas", legacy: "compute-client replica task" },
  { seam: "storage-replicas", phase: "replicas", legacy: "storage-client replica task" },
  { seam: "client", phase: "client", legacy: "two ports, two streams per replica" },
  { seam: "state", phase: "state", legacy: "a compute and a storage instance" },
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
  const paths = SEAMS.map(({ seam, phase, legacy }): ControllerPath => {
    const inForce = phases.inForce[phase];
    return {
      seam,
      flag: FLAG_KEYS[phase],
      path: "legacy",
      note: inForce ? `${FLAG_KEYS[phase]} in force: accepted, no effect yet (${legacy})` : legacy,
    };
  });
  return {
    phases,
    // PHASE(replicas): legacy — delete when cluster-unification-replicas is retired
    compute: { connector: connectLegacyComputeReplica },
    // PHASE(replicas): legacy — delete when cluster-unification-replicas is retired
    storage: { connector: connectLegacyStorageReplica },
    paths,
  };
}
