/**
 * The two sides of the state-scale bench (`state-scale.bench.ts`), built through the one
 * `ClusterController` interface over the same in-memory world (`state-scale-fakes.ts`):
 * - `legacy`: environmentd's composition — one compute-client controller and one storage-client
 *   controller with an instance per cluster, one `PersistReadHolds`, and environmentd's
 *   `LegacyClusterController` per cluster; the maintenance round is environmentd's upkeep —
 *   every adapter's import-hold step, then the shared `PersistReadHolds` tick (`sharedTick`
 *   times that tick alone);
 * - `unified`: one `UnifiedClusterController` per cluster (no timer; the round is `maintain()`
 *   of each), its since handles through `persistSinceHandleIo` over the fake persist.
 *
 * `preloadModules()` loads every module either side needs, so both processes hold the same code
 * and the memory they grow by is their controllers'.
 */
import type { ClusterController } from "@mzts/controller-unified/state";
import type {
  ComputeResponse,
  DataflowDescription,
  IngestionDescription,
  LoggingConfig,
  StorageResponse,
} from "@mzts/protocol";
import type { GlobalId } from "@mzts/repr";
import { pino } from "pino";
import {
  type BenchConnector,
  type BenchPersist,
  benchConnector,
  benchPersist,
} from "./state-scale-fakes.js";

export type SideName = "legacy" | "unified";

/** One cluster as the bench drives it. */
export interface BenchCluster {
  readonly controller: ClusterController;
  readonly compute: BenchConnector<ComputeResponse>;
  readonly storage: BenchConnector<StorageResponse>;
  readonly indexes: readonly GlobalId[];
  readonly subsources: readonly GlobalId[];
  readonly shards: readonly string[];
}

/** A built side. */
export interface BenchSide {
  readonly clusters: readonly BenchCluster[];
  readonly replicaIds: readonly string[];
  readonly persist: BenchPersist;
  /** The unified controllers' clock (ms), moved by the bench each round. */
  readonly clock: { now: number };
  /** One maintenance round over every cluster. */
  maintain(): Promise<void>;
  /** Legacy only: the environment's one `PersistReadHolds.tick()` alone. */
  sharedTick?(): Promise<void>;
  close(): Promise<void>;
}

export interface SideShape {
  readonly clusters: number;
  readonly indexes: number;
  readonly sources: number;
}

const REPLICAS = ["u1", "u2"] as const;
const WINDOW_MS = 1000n;
const LOGGING: LoggingConfig = {
  enabled: false,
  intervalMs: 1000,
  logLogging: false,
  indexLogs: new Map(),
};
const logger = pino({ level: "silent" });
const LOCATION = {
  layout: "two-port",
  computeUrl: "http://127.0.0.1:1",
  storageUrl: "http://127.0.0.1:1",
} as const;

/** Loads what both sides need (see the file comment). */
export async function preloadModules(): Promise<void> {
  await Promise.all([
    import("@mzts/controller-unified/state"),
    import("@mzts/compute-client"),
    import("@mzts/storage-client"),
    import("@mzts/environmentd"),
    import("prom-client"),
  ]);
}

/** A counter source writing one subsource (`shard-<id>`). */
function ingestion(subsource: GlobalId): IngestionDescription {
  return {
    sourceExports: [{ id: subsource, shardId: `shard-${subsource}`, outputIndex: 0, name: "" }],
    connection: {
      kind: "loadGenerator",
      generator: { kind: "counter" },
      seed: 1n,
      tickIntervalMs: 1000,
    },
  };
}

/** Index `id`: its own filter over `subsource` (`n` makes each plan distinct). */
function indexDataflow(id: GlobalId, subsource: GlobalId, n: number): DataflowDescription {
  return {
    debugName: `index ${id}`,
    sourceImports: [{ id: subsource, shardId: `shard-${subsource}`, arity: 1, upper: null }],
    indexImports: [],
    objectsToBuild: [
      {
        id,
        plan: {
          kind: "filter",
          input: { kind: "get", id: subsource, arity: 1 },
          predicates: [
            {
              kind: "binary",
              op: "gt",
              left: { kind: "column", index: 0 },
              right: { kind: "literal", value: BigInt(n) },
            },
          ],
        },
      },
    ],
    indexExports: [{ id, objectId: id, key: [0] }],
    sinkExports: [],
    asOf: 0n,
    until: null,
  };
}

/** Creates the cluster's objects through the interface (ids are unique per environment). */
async function populate(
  c: ClusterController,
  cluster: number,
  shape: SideShape,
): Promise<Pick<BenchCluster, "indexes" | "subsources" | "shards">> {
  let next = (cluster + 1) * 1_000_000;
  const subsources: GlobalId[] = [];
  const shards: string[] = [];
  for (let s = 0; s < shape.sources; s++) {
    const source = `u${next++}`;
    const sub = `u${next++}`;
    await c.openShards([{ id: sub, shardId: `shard-${sub}` }]);
    c.createIngestion(source, ingestion(sub));
    subsources.push(sub);
    shards.push(`shard-${sub}`);
  }
  const indexes: GlobalId[] = [];
  for (let i = 0; i < shape.indexes; i++) {
    const id = `u${next++}`;
    c.createDataflow(indexDataflow(id, subsources[i % subsources.length]!, i));
    indexes.push(id);
  }
  return { indexes, subsources, shards };
}

/** Builds a side (replicas connected, objects created; no frontier reported yet). */
export async function buildSide(name: SideName, shape: SideShape): Promise<BenchSide> {
  return name === "legacy" ? buildLegacy(shape) : buildUnified(shape);
}

async function buildUnified(shape: SideShape): Promise<BenchSide> {
  const { UnifiedClusterController, persistSinceHandleIo } = await import(
    "@mzts/controller-unified/state"
  );
  const persist = benchPersist();
  const sinceHandles = persistSinceHandleIo(persist.client, "environmentd");
  const clock = { now: 0 };
  const clusters: BenchCluster[] = [];
  const controllers: InstanceType<typeof UnifiedClusterController>[] = [];
  for (let k = 0; k < shape.clusters; k++) {
    const compute = benchConnector<never, ComputeResponse>();
    const storage = benchConnector<never, StorageResponse>();
    const controller = new UnifiedClusterController({
      clusterId: `u${k + 1}`,
      generation: 1n,
      logging: LOGGING,
      compactionWindowMs: WINDOW_MS,
      connectors: { compute: compute.connector, storage: storage.connector },
      sinceHandles,
      logger,
      tickIntervalMs: 0,
      now: () => clock.now,
    });
    controllers.push(controller);
    for (const r of REPLICAS) controller.addReplica(r, LOCATION);
    await settle();
    clusters.push({ controller, compute, storage, ...(await populate(controller, k, shape)) });
  }
  return {
    clusters,
    replicaIds: REPLICAS,
    persist,
    clock,
    async maintain() {
      for (const c of controllers) await c.maintain();
    },
    async close() {
      for (const c of controllers) await c.close();
    },
  };
}

async function buildLegacy(shape: SideShape): Promise<BenchSide> {
  const [{ createComputeController }, { createStorageController, PersistReadHolds }, env, prom] =
    await Promise.all([
      import("@mzts/compute-client"),
      import("@mzts/storage-client"),
      import("@mzts/environmentd"),
      import("prom-client"),
    ]);
  const { LegacyClusterController } = env;
  const persist = benchPersist();
  const compute = createComputeController({
    generation: 1n,
    logger,
    registry: new prom.Registry(),
    compactionWindowMs: WINDOW_MS,
  });
  const storage = createStorageController({ generation: 1n, logger });
  const readHolds = new PersistReadHolds({
    persist: persist.client,
    readerId: "environmentd",
    compactionWindowMs: WINDOW_MS,
    tickMs: 0,
    logger,
    registry: new prom.Registry(),
  });
  const clusters: BenchCluster[] = [];
  const adapters: InstanceType<typeof LegacyClusterController>[] = [];
  for (let k = 0; k < shape.clusters; k++) {
    const clusterId = `u${k + 1}`;
    const computeFake = benchConnector<never, ComputeResponse>();
    const storageFake = benchConnector<never, StorageResponse>();
    compute.createInstance(clusterId, LOGGING, { connector: computeFake.connector });
    storage.createInstance(clusterId, { connector: storageFake.connector });
    const controller = new LegacyClusterController({ clusterId, compute, storage, readHolds });
    adapters.push(controller);
    for (const r of REPLICAS) controller.addReplica(r, LOCATION);
    await settle();
    clusters.push({
      controller,
      compute: computeFake,
      storage: storageFake,
      ...(await populate(controller, k, shape)),
    });
  }
  return {
    clusters,
    replicaIds: REPLICAS,
    persist,
    clock: { now: 0 },
    async maintain() {
      // environmentd's upkeep: each adapter's import-hold step, then the shared since handles'
      // tick once (`advanceImportHolds`, the adapter as environmentd wires it); the adapter's
      // first version ran both per cluster in `upkeep()`.
      const steps = adapters as unknown as readonly LegacyUpkeep[];
      if (steps.every((a) => a.advanceImportHolds !== undefined)) {
        for (const a of steps) a.advanceImportHolds!();
        await readHolds.tick();
      } else for (const a of steps) await a.upkeep!();
    },
    sharedTick: () => readHolds.tick(),
    async close() {
      for (const a of adapters) await a.close();
      await readHolds.close();
      await compute.close();
      await storage.close();
    },
  };
}

/** The legacy adapter's upkeep, either version (see `maintain`). */
interface LegacyUpkeep {
  advanceImportHolds?(): void;
  upkeep?(): Promise<void>;
}

/** Lets the fake replicas connect (they do in a microtask). */
function settle(): Promise<void> {
  return new Promise((r) => setImmediate(r));
}
