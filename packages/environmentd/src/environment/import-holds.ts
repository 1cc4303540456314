/**
 * Import read holds across clusters, and the legacy read-hold upkeep loop.
 *
 * - `foreignHolds`: a dataflow's imports owned by ANOTHER cluster (a view on cluster B over a
 *   source of cluster A) are held at the dataflow's as-of by a hold from the owning cluster's
 *   controller (`acquireReadHold`), handed to the dataflow's controller as `foreignHolds`: it
 *   keeps them at the dataflow's since and releases them when it forgets the dataflow. Imports of
 *   the dataflow's own cluster are held by its controller itself.
 * - `ImportHolds` (the upkeep loop): every `tickMs`, each legacy cluster's controller moves its
 *   dataflows' import holds to their compute sinces (`LegacyClusterController.advanceImportHolds`),
 *   then the environment's `PersistReadHolds` ticks once (downgrading the since handles, trailing
 *   the uppers by the compaction window, and refreshing the uppers); once it settles the frontier
 *   waiters are woken (`onTick`). One tick at a time; `close()` waits for it. Unified clusters
 *   run their own maintenance (the driver's timer).
 */
import type { ReadHold } from "@mzts/controller-unified/state";
import type { DataflowDescription } from "@mzts/protocol";
import type { GlobalId } from "@mzts/repr";
import type { PersistReadHolds } from "@mzts/storage-client";
import { LegacyClusterController } from "../cluster-controllers/legacy-cluster-controller.js";
import type { Clusters } from "./clusters.js";
import type { Shards } from "./shards.js";
import { ShadowedClusterController } from "./stages/shadowed-controller.js";

/**
 * Holds on `df`'s source imports owned by another cluster than `clusterId`, at `df.asOf`, from
 * their owners' controllers. On a failure the holds taken so far are released.
 * @throws the owner's CollectionMissing / SinceViolation
 */
export function foreignHolds(
  shards: Shards,
  clusterId: GlobalId,
  df: DataflowDescription,
): ReadHold[] {
  const holds: ReadHold[] = [];
  try {
    for (const i of df.sourceImports) {
      const owner = shards.clusterOf(i.id);
      if (owner !== undefined && owner !== clusterId)
        holds.push(shards.acquire(i.id, df.asOf, clusterId));
    }
  } catch (e) {
    for (const h of holds) h.release();
    throw e;
  }
  return holds;
}

export interface ImportHoldsOptions {
  readonly clusters: Clusters;
  readonly readHolds: PersistReadHolds;
  /** Upkeep period (ms). */
  readonly tickMs: number;
  /** Called after every read-hold tick (the shards' uppers were refreshed). */
  readonly onTick: () => void;
}

// PHASE(state): legacy — delete when cluster-unification-state is retired
/** The legacy clusters' read-hold upkeep loop (file comment). */
export class ImportHolds {
  readonly #o: ImportHoldsOptions;
  readonly #timer: NodeJS.Timeout;
  #upkeep: Promise<void> | undefined;
  #closed = false;

  constructor(opts: ImportHoldsOptions) {
    this.#o = opts;
    this.#timer = setInterval(() => this.#tick(), opts.tickMs);
    this.#timer.unref();
  }

  /** Moves each legacy dataflow's import holds up to the dataflow's own since. */
  advance(): void {
    for (const c of this.#o.clusters.controllers()) {
      if (c instanceof LegacyClusterController) c.advanceImportHolds();
      // A `state` stage's authoritative legacy controller (its legacy shadow keeps its own).
      else if (
        c instanceof ShadowedClusterController &&
        c.authoritative instanceof LegacyClusterController
      )
        c.authoritative.advanceImportHolds();
    }
  }

  #tick(): void {
    if (this.#upkeep !== undefined || this.#closed) return;
    this.advance();
    this.#upkeep = this.#o.readHolds
      .tick()
      .then(() => this.#o.onTick())
      .finally(() => {
        this.#upkeep = undefined;
      });
  }

  /** Stops the upkeep loop (waits for a running tick). The holds go with the controllers. */
  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#timer);
    await this.#upkeep;
  }
}
