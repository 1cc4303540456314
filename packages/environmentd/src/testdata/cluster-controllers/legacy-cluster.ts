/**
 * Tests only: one cluster's legacy parts without a network — compute-client's controller and
 * storage-client's controller with one instance each, through the replica seam with in-memory
 * fakes (`@mzts/controller-unified/testing`), and storage-client's `PersistReadHolds` over an
 * in-memory persist whose shard uppers are the uppers the replicas reported; `controller()` is
 * the legacy adapter (`cluster-controllers/legacy-cluster-controller.ts`) over them.
 */
import { type ComputeController, createComputeController } from "@mzts/compute-client";
import { createFakeConnector } from "@mzts/controller-unified/testing";
import type {
  ComputeCommand,
  ComputeResponse,
  StorageCommand,
  StorageResponse,
} from "@mzts/protocol";
import type { Frontier, GlobalId, ReplicaId } from "@mzts/repr";
import {
  createStorageController,
  PersistReadHolds,
  type StorageController,
} from "@mzts/storage-client";
import pino from "pino";
import { Registry } from "prom-client";
import { LegacyClusterController } from "../../cluster-controllers/legacy-cluster-controller.js";

export const CLUSTER = "u1";
export const LOGGING = {
  enabled: false,
  intervalMs: 1000,
  logLogging: false,
  indexLogs: new Map(),
};
const logger = pino({ level: "silent" });

/** An in-memory persist: what `PersistReadHolds` calls, nothing more. */
function fakePersist(uppers: Map<string, Frontier>): unknown {
  return {
    openShard: async (shardId: string) => ({
      upper: async () => uppers.get(shardId) ?? 0n,
      maintenance: async () => ({}),
      openSinceHandle: async () => {
        const handle = {
          since: 0n as Frontier,
          downgradeSince: async (f: Frontier) => {
            handle.since = f;
          },
          expire: async () => {},
        };
        return handle;
      },
    }),
  };
}

/** One legacy cluster's parts and their fakes. */
export class LegacyCluster {
  /** Shard id → the upper the replicas reported (the fake persist's upper). */
  readonly shardUppers = new Map<string, Frontier>();
  /** Collection id → shard id (subsources). */
  readonly shards = new Map<GlobalId, string>();
  readonly computeFake = createFakeConnector<ComputeCommand, ComputeResponse>();
  readonly storageFake = createFakeConnector<StorageCommand, StorageResponse>();
  readonly compute: ComputeController;
  readonly storage: StorageController;
  readonly readHolds: PersistReadHolds;

  constructor(windowMs: bigint) {
    this.compute = createComputeController({
      generation: 1n,
      logger,
      registry: new Registry(),
      compactionWindowMs: windowMs,
    });
    this.compute.createInstance(CLUSTER, LOGGING, { connector: this.computeFake.connector });
    this.storage = createStorageController({
      generation: 1n,
      logger,
      maintenanceIntervalMs: 3_600_000,
    });
    this.storage.createInstance(CLUSTER, { connector: this.storageFake.connector });
    this.readHolds = new PersistReadHolds({
      persist: fakePersist(this.shardUppers) as never,
      readerId: "environmentd",
      compactionWindowMs: windowMs,
      tickMs: 0,
      heartbeatMs: 3_600_000,
      maintenanceEveryMs: 3_600_000,
      logger,
      registry: new Registry(),
    });
  }

  /** The legacy adapter over these parts. */
  controller(): LegacyClusterController {
    const { compute, storage, readHolds } = this;
    return new LegacyClusterController({ clusterId: CLUSTER, compute, storage, readHolds });
  }

  /** Both of the replica's streams fail; each controller starts the next incarnation. */
  reconnect(replicaId: ReplicaId): void {
    this.computeFake.fail(replicaId, "reconnect");
    this.storageFake.fail(replicaId, "reconnect");
  }

  computeRespond(replicaId: ReplicaId, r: ComputeResponse): void {
    this.computeFake.respond(replicaId, [r]);
  }

  storageRespond(replicaId: ReplicaId, r: StorageResponse): void {
    if (r.kind === "frontierUpper") {
      const shard = this.shards.get(r.id);
      if (shard !== undefined) {
        const prev = this.shardUppers.get(shard) ?? 0n;
        if (prev !== null && (r.upper === null || r.upper > prev))
          this.shardUppers.set(shard, r.upper);
      }
    }
    this.storageFake.respond(replicaId, [r]);
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
