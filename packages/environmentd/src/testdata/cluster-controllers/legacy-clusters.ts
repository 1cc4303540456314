/**
 * Tests only: environmentd's `Clusters` over one `LegacyCluster`'s parts (the legacy path; no
 * persist client, so a cluster whose phases take `state` to the unified path cannot be built).
 * `close()` stops the clusters' controllers, then the parts.
 */
import type { PhaseSet } from "@mzts/flags";
import pino from "pino";
import { Clusters } from "../../environment/clusters.js";
import { LegacyCluster } from "./legacy-cluster.js";

export interface LegacyClusters {
  readonly clusters: Clusters;
  readonly parts: LegacyCluster;
  close(): Promise<void>;
}

/** `Clusters` reading each cluster's phases from `readPhases`, on a fresh `LegacyCluster`. */
export function legacyClusters(readPhases: (clusterId: string) => PhaseSet): LegacyClusters {
  const parts = new LegacyCluster(1000n);
  const clusters = new Clusters({
    compute: parts.compute,
    storage: parts.storage,
    readHolds: parts.readHolds,
    persist: {} as never, // legacy only: a unified controller would open its shards here
    readPhases: async (id) => readPhases(id),
    generation: 1n,
    logger: pino({ level: "silent" }),
    compactionWindowMs: 1000n,
    tickMs: 0,
  });
  return {
    clusters,
    parts,
    close: async () => {
      await clusters.close();
      await parts.close();
    },
  };
}
