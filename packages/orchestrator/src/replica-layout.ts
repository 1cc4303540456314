/**
 * A replica's controller-endpoint layout (design §9 phase 4), decided ONCE per replica from the
 * PhaseSet it is created with, and handed both to clusterd's arguments (here) and to the
 * controller (environmentd's `controllers.ts`), so both ends agree:
 * - `two-port`: `--compute-listen` + `--storage-listen`, `ComputeService` and `StorageService`
 *   (the legacy client: two gRPC clients, two streams);
 * - `one-port`: `--cluster-listen`, `ClusterService` (one stream for both; `cluster-unification-client`).
 */
import type { PhaseSet } from "@mzts/flags";

/** How a replica's controller endpoints are laid out (see the file comment). */
export type ReplicaLayout = "two-port" | "one-port";

/** The layout of a replica created with `phases`. */
export function replicaLayout(phases: PhaseSet): ReplicaLayout {
  if (phases.takesEffect("client")) return "one-port";
  // PHASE(client): legacy — delete when cluster-unification-client is retired
  return "two-port";
}
