/**
 * Tests only: one cluster's legacy parts without a network — compute-client's controller and
 * storage-client's controller with one instance each, through the replica seam with in-memory
 * fakes, and storage-client's `PersistReadHolds` over an in-memory persist whose shard uppers are
 * the uppers the replicas reported (the fakes, the persist and the parts' options are
 * `LegacyClusterFakes` of `@mzts/controller-unified/testing`, shared with that package's own
 * legacy cluster); `controller()` is the legacy adapter
 * (`cluster-controllers/legacy-cluster-controller.ts`) over them.
 */
import { type ComputeController, createComputeController } from "@mzts/compute-client";
import {
  LEGACY_CLUSTER as CLUSTER,
  LegacyClusterFakes,
  LEGACY_LOGGING as LOGGING,
} from "@mzts/controller-unified/testing";
import {
  createStorageController,
  PersistReadHolds,
  type StorageController,
} from "@mzts/storage-client";
import { Registry } from "prom-client";
import { LegacyClusterController } from "../../cluster-controllers/legacy-cluster-controller.js";

export { CLUSTER, LOGGING };

/** One legacy cluster's parts over the shared fakes (`LegacyClusterFakes`). */
export class LegacyCluster extends LegacyClusterFakes {
  readonly compute: ComputeController;
  readonly storage: StorageController;
  readonly readHolds: PersistReadHolds;

  constructor(windowMs: bigint) {
    super();
    const o = this.legacyPartsOptions(windowMs, () => new Registry());
    this.compute = createComputeController(o.compute);
    this.compute.createInstance(CLUSTER, LOGGING, o.computeInstance);
    this.storage = createStorageController(o.storage);
    this.storage.createInstance(CLUSTER, o.storageInstance);
    this.readHolds = new PersistReadHolds(o.readHolds);
  }

  /** The legacy adapter over these parts. */
  controller(): LegacyClusterController {
    const { compute, storage, readHolds } = this;
    return new LegacyClusterController({ clusterId: CLUSTER, compute, storage, readHolds });
  }

  async close(): Promise<void> {
    await this.readHolds.close();
    await this.compute.close();
    await this.storage.close();
  }
}

/** Lets the fakes' microtask connections and the controllers' sends run. */
export async function flush(): Promise<void> {
  await new Promise((resolve) => setImmediate(resolve));
}

/** JSON with bigints and maps (for comparisons and messages). */
export function stringify(v: unknown): string {
  return JSON.stringify(v, (_k, x) =>
    typeof x === "bigint" ? `${x}n` : x instanceof Map ? [...x] : x instanceof Set ? [...x] : x,
  );
}
