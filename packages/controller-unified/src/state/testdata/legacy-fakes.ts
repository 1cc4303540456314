/**
 * Tests only: what sits under one **legacy** cluster's controllers when they run without a
 * network — one copy for both packages that build such a cluster (this package's
 * `legacy-cluster.ts`, environmentd's `testdata/cluster-controllers/legacy-cluster.ts`, which
 * imports it from `@mzts/controller-unified/testing`):
 * - the in-memory replica seams (`createFakeConnector`) the compute and the storage instance take;
 * - an in-memory persist (`fakePersist`), just what storage-client's `PersistReadHolds` calls,
 *   whose shard uppers are the uppers the replicas reported (`storageRespond` advances them);
 * - the options every such cluster builds its three legacy parts with (`legacyPartsOptions`).
 *
 * It names no `-client` type (this package cannot depend on them): the options are typed loosely
 * and each cluster passes them to the classes it imports.
 */
import type {
  ComputeCommand,
  ComputeResponse,
  StorageCommand,
  StorageResponse,
} from "@mzts/protocol";
import type { Frontier, GlobalId, ReplicaId } from "@mzts/repr";
import pino from "pino";
import { createFakeConnector } from "./fake-connector.js";

/** The one cluster a legacy test cluster runs. */
export const CLUSTER = "u1";
/** Its logging configuration: disabled (no log indexes). */
export const LOGGING = {
  enabled: false,
  intervalMs: 1000,
  logLogging: false,
  indexLogs: new Map(),
};

const logger = pino({ level: "silent" });

/**
 * An in-memory persist: what `PersistReadHolds` calls, nothing more. A shard's upper is
 * `uppers.get(shardId)` (0 when unset); a since handle keeps the since it was downgraded to.
 */
export function fakePersist(uppers: ReadonlyMap<string, Frontier>): never {
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
  } as never;
}

/**
 * The fakes of one legacy cluster: both replica seams and the persist whose shard uppers follow
 * the storage replicas' reports. A legacy test cluster extends it and builds its controllers over
 * `computeFake.connector`, `storageFake.connector` and `persist`.
 */
export class LegacyClusterFakes {
  /** Shard id → the upper the replicas reported (the fake persist's upper). */
  readonly shardUppers = new Map<string, Frontier>();
  /** Collection id → shard id (subsources), for `storageRespond`. */
  readonly shards = new Map<GlobalId, string>();
  readonly computeFake = createFakeConnector<ComputeCommand, ComputeResponse>();
  readonly storageFake = createFakeConnector<StorageCommand, StorageResponse>();
  /** The in-memory persist over `shardUppers` (`PersistReadHolds`' `persist`). */
  readonly persist = fakePersist(this.shardUppers);

  /** Both of the replica's streams fail; each controller starts the next incarnation. */
  reconnect(replicaId: ReplicaId): void {
    this.computeFake.fail(replicaId, "reconnect");
    this.storageFake.fail(replicaId, "reconnect");
  }

  computeRespond(replicaId: ReplicaId, r: ComputeResponse): void {
    this.computeFake.respond(replicaId, [r]);
  }

  /** Delivers a storage response; a subsource's `frontierUpper` advances its shard's upper first. */
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

  /**
   * The options of the cluster's three legacy parts — compute-client's `createComputeController`
   * (and `createInstance`), storage-client's `createStorageController` (and `createInstance`) and
   * `PersistReadHolds` — with `newRegistry()` making each a fresh prom-client registry. Typed
   * loosely (`never` where a `-client` type goes): pass each to the class it names.
   */
  legacyPartsOptions(windowMs: bigint, newRegistry: () => unknown) {
    return {
      compute: {
        generation: 1n,
        logger,
        registry: newRegistry() as never,
        compactionWindowMs: windowMs,
      },
      computeInstance: { connector: this.computeFake.connector },
      storage: { generation: 1n, logger, maintenanceIntervalMs: 3_600_000 },
      storageInstance: { connector: this.storageFake.connector },
      readHolds: {
        persist: this.persist,
        readerId: "environmentd",
        compactionWindowMs: windowMs,
        tickMs: 0,
        heartbeatMs: 3_600_000,
        maintenanceEveryMs: 3_600_000,
        logger,
        registry: newRegistry() as never,
      },
    };
  }
}
