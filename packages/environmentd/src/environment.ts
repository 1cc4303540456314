/**
 * The environment: environmentd's composition root (design §2, §5, §7). It owns one catalog
 * handle, one boot generation, the process orchestrator, persist and the compute and storage
 * controllers, and wires the modules under `environment/` that implement the API on them:
 *
 * | Module                | Owns                                                              |
 * | --------------------- | ----------------------------------------------------------------- |
 * | `ddl-queue.ts`        | one catalog write at a time; the resolved-object cache's lifetime |
 * | `fencing.ts`          | noticing a newer generation and stopping                          |
 * | `objects.ts`          | object resolution and its cache                                   |
 * | `frontiers.ts`        | an object's upper and since from its shard + its cluster's controller |
 * | `shards.ts`           | durable collections by owning cluster: open, since, upper, holds  |
 * | `frontier-signal.ts`  | awaiting a frontier (woken by frontier updates, with a timeout)   |
 * | `timestamps.ts`       | as-of, peek timestamp and subscribe as-of selection               |
 * | `import-holds.ts`     | cross-cluster import holds; the legacy read-hold upkeep loop      |
 * | `clusters.ts`         | one `ClusterController` per cluster (legacy adapter or unified)   |
 * | `replicas.ts`         | replica specs, attach/detach, locations, health                   |
 * | `dataflows.ts`        | installing catalog items as ingestions and dataflows              |
 * | `boot.ts`             | rebuilding the controllers from the catalog                       |
 * | `ddl.ts`, `reads.ts`  | the DDL operations; peeks and subscribes                          |
 * | `status.ts`           | listings, status, flags                                           |
 * | `shard-gc.ts`         | dropping orphaned persist shards                                  |
 * | `flips/`              | live flips: watching the flags, rolling replicas, reseating       |
 * | `transient-ids.ts`    | the one counter of transient (`t<n>`) dataflow ids                |
 *
 * and `introspection/persisted-introspection.ts`: every replica's hydration, frontiers and error
 * counts kept in persist by environmentd (`mz_introspection.replica_<relation>`).
 *
 * ## Boot (numbered walk-through)
 * 1. Open the catalog (SQLite under `dataDir` unless one is injected) and `boot()`: generation + 1,
 *    which fences every older environmentd (its catalog writes fail with `StaleGeneration`).
 * 2. Start the process orchestrator (`dataDir/orchestrator`, persist at `dataDir/persist`),
 *    handing every clusterd the replica secret (`replica-secret.ts`, created once in `dataDir`);
 *    the controllers sign their hellos with it.
 * 3. Create the compute and storage controllers with the new generation, persist and its read
 *    holds; frontier updates from all three wake the frontier waiters.
 * 4. Rebuild from the catalog (`boot.ts`): per cluster its instances (PhaseSet read ONCE,
 *    `selectControllers`), ingestions and dataflows in dependency order, then the replicas,
 *    adopted where a previous environmentd left them running.
 * 5. Open the persisted introspection (its shards; rows of replicas not running are retracted).
 * 6. Start the timers: read-hold upkeep, shard GC, the fencing check, the persisted
 *    introspection's upkeep (one replica-targeted subscribe per relation and connected replica
 *    of every cluster with logging on); watch every cluster's flags (`flips/live-flips.ts`: a
 *    changed PhaseSet is flipped live).
 *
 * ## Invariants
 * - Every write goes through the catalog with this environment's generation, before the
 *   controllers are touched, one at a time (`DdlQueue`).
 * - `close()` waits for the running DDL, stops the timers and the persisted introspection's
 *   subscribes (its rows stay for the next boot), closes the controllers, read holds and
 *   persist, then stops (or, `keepReplicas`, leaves) the replicas; it runs once.
 */
import { join } from "node:path";
import {
  type ComputeController,
  type ComputeReplicaConnector,
  createComputeController,
} from "@mzts/compute-client";
import type { PeekTrace } from "@mzts/controller-unified/state";
import { createPhaseFlags, type PhaseFlags, type PhaseSet } from "@mzts/flags";
import {
  createProcessOrchestrator,
  type ProcessOrchestrator,
  type ReplicaLayout,
} from "@mzts/orchestrator";
import { createPersist } from "@mzts/persist";
import type {
  CreateClusterRequest,
  CreateIndexRequest,
  CreateMaterializedViewRequest,
  CreateReplicaRequest,
  CreateSourceRequest,
  CreateSourceResponse,
  DropClusterRequest,
  DropObjectRequest,
  DropReplicaRequest,
  EnvironmentPeekResponse,
  EnvironmentSubscribeResponse,
  GetFlagsRequest,
  GetFlagsResponse,
  ListClustersResponse,
  ListObjectsRequest,
  ListObjectsResponse,
  PeekRequest,
  StatusRequest,
  StatusResponse,
  SubscribeRequest,
} from "@mzts/protocol";
import {
  createStorageController,
  PersistReadHolds,
  type StorageController,
} from "@mzts/storage-client";
import type { Logger } from "pino";
import type { Registry } from "prom-client";
import type { Catalog } from "./catalog/catalog.js";
import { openSqliteCatalog } from "./catalog/sqlite.js";
import { rebuildFromCatalog } from "./environment/boot.js";
import { Clusters } from "./environment/clusters.js";
import { Dataflows } from "./environment/dataflows.js";
import { Ddl } from "./environment/ddl.js";
import { DdlQueue } from "./environment/ddl-queue.js";
import { Fencing } from "./environment/fencing.js";
import { LiveFlips } from "./environment/flips/live-flips.js";
import { FrontierSignal } from "./environment/frontier-signal.js";
import { Frontiers } from "./environment/frontiers.js";
import { ImportHolds } from "./environment/import-holds.js";
import { ObjectCache } from "./environment/object-cache.js";
import { listObjects } from "./environment/objects.js";
import { Reads } from "./environment/reads.js";
import { Replicas } from "./environment/replicas.js";
import { ShardGc } from "./environment/shard-gc.js";
import { Shards } from "./environment/shards.js";
import { ClusterStages, type ClusterStagesOptions } from "./environment/stages/cluster-stages.js";
import { Status } from "./environment/status.js";
import { TransientIds } from "./environment/transient-ids.js";
import { EnvironmentClosed } from "./errors.js";
import { PersistedIntrospection } from "./introspection/persisted-introspection.js";
import { ensureReplicaSecret } from "./replica-secret.js";

export { GENERATOR_OUTPUTS } from "./environment/objects.js";

/** Where the phases of a cluster come from: the flags service, or (tests) a function. */
export type PhaseSource = PhaseFlags | ((clusterId: string) => PhaseSet);

export interface EnvironmentOptions {
  /** Owns `catalog.sqlite`, `orchestrator/` and `persist/`. */
  readonly dataDir: string;
  /** Node.js options for every clusterd (`MZ_CLUSTERD_NODE_ARGS`, e.g. `--cpu-prof`). */
  readonly clusterdNodeArgs?: readonly string[];
  /** A flags file (LaunchDarkly file data source); ignored when `phaseFlags` is given. */
  readonly flagsFile?: string;
  /** Phases per cluster; default: `createPhaseFlags` over `flagsFile`. */
  readonly phaseFlags?: PhaseSource;
  readonly logger: Logger;
  readonly registry: Registry;
  /** Default: SQLite at `<dataDir>/catalog.sqlite`. Closed by `close()`. */
  readonly catalog?: Catalog;
  /** Passed to the orchestrator (ms; clusterd exits without a controller). Default 300 000. */
  readonly controllerAbsentTimeoutMs?: number;
  /** Default peek timeout (10 000 ms). */
  readonly peekTimeoutMs?: number;
  /**
   * How far collections' sinces trail their uppers (ms): the read policy of indexes, views and
   * source shards. Default 1000 (Materialize's default logical compaction window).
   */
  readonly compactionWindowMs?: number;
  /** How often the environment advances read holds and downgrades shard sinces (ms). Default 1000. */
  readonly readHoldTickMs?: number;
  /**
   * Called once this environmentd finds itself fenced by a newer generation (a refused catalog
   * write, or the catalog's generation seen moving on; checked every `fenceCheckMs`, default
   * 2000). The environment has then closed itself, leaving the replicas to the newer one.
   */
  readonly onFenced?: (newerGeneration: bigint) => void;
  readonly fenceCheckMs?: number;
  /**
   * How often `collectOrphanShards` runs (ms; 0 = never by itself). Default 60 000. The first
   * pass runs one second after boot (or after the interval, if shorter).
   */
  readonly shardGcIntervalMs?: number;
  /**
   * How long an orphaned shard must keep the same upper, with no reader, before GC drops it
   * (ms; sightings are kept in `<dataDir>/shard-gc.json` across restarts). Default 60 000.
   */
  readonly shardGcConfirmMs?: number;
  /**
   * Every cluster's compute replica connection, instead of the one `selectControllers` chose (a
   * test seam: tests wrap the legacy task to observe or break replicas).
   */
  readonly computeConnector?: ComputeReplicaConnector;
  /**
   * How long a live flip waits for a replica to hydrate — a successor started with the new
   * phases, or a replica reseated on new controllers — before it stops and reports the failure
   * (ms). Default 120 000.
   */
  readonly flipHydrationTimeoutMs?: number;
  /**
   * Migration stages (docs/design/20261207_migration_stages.md): how long a peek's other path is
   * waited for (ms; default 5000), and a test hook rewriting a cluster's non-authoritative
   * answers before they are compared (never what a caller is served).
   */
  readonly stages?: Pick<
    ClusterStagesOptions,
    "comparisonTimeoutMs" | "perturbOther" | "perturbState"
  >;
}

export interface CloseOptions {
  /** Leave the replicas running for the next environmentd to adopt (default false: stop them). */
  readonly keepReplicas?: boolean;
}

export interface Environment {
  readonly generation: bigint;
  readonly catalog: Catalog;
  readonly orchestrator: ProcessOrchestrator;
  readonly compute: ComputeController;
  readonly storage: StorageController;
  createCluster(req: CreateClusterRequest): Promise<{ id: string }>;
  dropCluster(req: DropClusterRequest): Promise<void>;
  listClusters(): Promise<ListClustersResponse>;
  createReplica(req: CreateReplicaRequest): Promise<{ id: string }>;
  dropReplica(req: DropReplicaRequest): Promise<void>;
  createSource(req: CreateSourceRequest): Promise<CreateSourceResponse>;
  createIndex(req: CreateIndexRequest): Promise<{ id: string }>;
  createMaterializedView(req: CreateMaterializedViewRequest): Promise<{ id: string }>;
  dropObject(req: DropObjectRequest): Promise<void>;
  listObjects(req: ListObjectsRequest): Promise<ListObjectsResponse>;
  /** `trace`: the API's stage times of this peek (`PeekTrace`), marked on the way. */
  peek(req: PeekRequest, trace?: PeekTrace): Promise<EnvironmentPeekResponse>;
  /**
   * The object's snapshot at `asOf` (default: the freshest complete time), then its changes,
   * batch by batch; ends at the empty upper or at `upTo`. Breaking out drops the subscribe, and
   * so does aborting `cancel` — also while it waits for a batch, when breaking out cannot.
   */
  subscribe(
    req: SubscribeRequest,
    cancel?: AbortSignal,
  ): AsyncIterable<EnvironmentSubscribeResponse>;
  status(req: StatusRequest): Promise<StatusResponse>;
  getFlags(req: GetFlagsRequest): Promise<GetFlagsResponse>;
  /** The pid of each running replica (for tests and the CLI). */
  replicaPids(): ReadonlyMap<string, number | null>;
  /**
   * Checks a cluster's phases now and flips what runs if they changed (flag sources with change
   * events do this by themselves); resolves when no flip of it runs any more.
   */
  flipNow(clusterId: string): Promise<void>;
  /**
   * One pass of shard garbage collection (also run soon after boot and every
   * `shardGcIntervalMs`): a persist shard no catalog object references, with no reader and the
   * same upper for `shardGcConfirmMs` (nobody writes it any more; seen by this or an earlier
   * boot, see `environment/orphan-sightings.ts`), is dropped and its blobs deleted. Returns how
   * many were dropped.
   */
  collectOrphanShards(): Promise<number>;
  close(options?: CloseOptions): Promise<void>;
}

/** Builds and boots an environment (see the file comment for the steps). */
export async function createEnvironment(opts: EnvironmentOptions): Promise<Environment> {
  const log = opts.logger.child({ component: "environment" });
  const store = opts.catalog ?? openSqliteCatalog({ path: join(opts.dataDir, "catalog.sqlite") });
  // Every write goes through the tracked catalog, which keeps the resolved objects current.
  const objects = new ObjectCache(store);
  const catalog = objects.track(store);
  let ownedFlags: PhaseFlags | undefined;
  let phaseSource: PhaseSource;
  if (opts.phaseFlags !== undefined) phaseSource = opts.phaseFlags;
  else {
    ownedFlags = createPhaseFlags({
      environmentId: "environmentd",
      flagsFile: opts.flagsFile,
      logger: opts.logger,
      registry: opts.registry,
    });
    await ownedFlags.ready();
    phaseSource = ownedFlags;
  }
  const readPhases = async (clusterId: string): Promise<PhaseSet> =>
    typeof phaseSource === "function" ? phaseSource(clusterId) : phaseSource.phases(clusterId);

  const generation = await catalog.boot();
  log.info({ generation: `${generation}` }, "environment booted");
  const replicaSecret = ensureReplicaSecret(opts.dataDir);
  const orchestrator = await createProcessOrchestrator({
    dataDir: opts.dataDir,
    persistDir: join(opts.dataDir, "persist"),
    controllerSecretFile: replicaSecret.path,
    logger: opts.logger,
    registry: opts.registry,
    ...(opts.controllerAbsentTimeoutMs === undefined
      ? {}
      : { controllerAbsentTimeoutMs: opts.controllerAbsentTimeoutMs }),
    ...(opts.clusterdNodeArgs === undefined ? {} : { clusterdNodeArgs: opts.clusterdNodeArgs }),
  });
  const windowMs = BigInt(opts.compactionWindowMs ?? 1000);
  const compute = createComputeController({
    generation,
    replicaSecret: replicaSecret.secret,
    logger: opts.logger,
    registry: opts.registry,
    compactionWindowMs: windowMs,
  });
  const persist = await createPersist({
    dataDir: join(opts.dataDir, "persist"),
    logger: opts.logger.child({ component: "persist" }),
    registry: opts.registry,
  });
  const readHolds = new PersistReadHolds({
    persist,
    readerId: "environmentd",
    compactionWindowMs: windowMs,
    tickMs: 0,
    logger: opts.logger,
    registry: opts.registry,
  });
  const storage = createStorageController({
    generation,
    replicaSecret: replicaSecret.secret,
    logger: opts.logger,
    registry: opts.registry,
  });

  // Frontier updates from the three sources wake readers awaiting a frontier.
  const signal = new FrontierSignal();
  compute.onWriteFrontier(() => signal.notify());
  storage.onEvent((e) => {
    if (e.kind === "writeFrontier") signal.notify();
  });

  let closed = false;
  const fencing = new Fencing({
    catalog,
    generation,
    log,
    checkMs: opts.fenceCheckMs ?? 2000,
    isClosed: () => closed,
    stop: (newer) => {
      void env.close({ keepReplicas: true }).finally(() => opts.onFenced?.(newer));
    },
    onChecked: () => replicas.checkRefusals(),
  });
  const queue = new DdlQueue((newer) => fencing.fencedBy(newer));
  const readHoldTickMs = opts.readHoldTickMs ?? 1000;
  const stages = new ClusterStages({
    clusterPhases: (clusterId): PhaseSet | undefined => clusters.selection(clusterId)?.phases,
    replicaPhases: (replicaId) => replicas.phasesOf(replicaId),
    replicaSlot: (replicaId) => replicas.slotOf(replicaId),
    ...(typeof phaseSource === "function" ? {} : { tracker: phaseSource }),
    ...opts.stages,
    log: log.child({ component: "stages" }),
  });
  const clusters: Clusters = new Clusters({
    compute,
    storage,
    readHolds,
    persist,
    readPhases,
    generation,
    replicaSecret: replicaSecret.secret,
    logger: opts.logger,
    registry: opts.registry,
    compactionWindowMs: windowMs,
    tickMs: readHoldTickMs,
    onWriteFrontier: () => signal.notify(),
    log,
    stages,
    uppers: persist,
    layoutOf: (replicaId): ReplicaLayout | undefined => replicas.layoutOf(replicaId),
    slotOf: (replicaId) => replicas.slotOf(replicaId),
    ...(opts.computeConnector === undefined ? {} : { computeConnector: opts.computeConnector }),
  });
  const importHolds = new ImportHolds({
    clusters,
    readHolds,
    tickMs: readHoldTickMs,
    onTick: () => signal.notify(),
  });
  const shards = new Shards({ clusters, readHolds, persist });
  const frontiers = new Frontiers({ clusters, shards });
  const replicas: Replicas = new Replicas({
    generation,
    orchestrator,
    clusters,
    catalogGeneration: () => fencing.catalogGeneration,
    log,
  });
  const dataflows = new Dataflows({ clusters, shards, readHolds, frontiers });
  const shardGc = new ShardGc({
    catalog,
    persist,
    log,
    sightingsPath: join(opts.dataDir, "shard-gc.json"),
    confirmMs: opts.shardGcConfirmMs ?? 60_000,
  });

  const transientIds = new TransientIds();
  let persisted: PersistedIntrospection;
  try {
    await rebuildFromCatalog({
      catalog,
      objects,
      orchestrator,
      clusters,
      replicas,
      dataflows,
      log,
    });
    persisted = await PersistedIntrospection.open({
      persist,
      readHolds,
      clusters,
      catalog: () => objects.get(),
      fenced: () =>
        catalog.generation().then(
          (g) => g > generation,
          () => false,
        ),
      running: new Set(replicas.pids().keys()),
      nextId: () => transientIds.next(),
      signal,
      log: log.child({ component: "persisted-introspection" }),
      registry: opts.registry,
    });
  } catch (e) {
    orchestrator.abandon();
    await importHolds.close();
    await clusters.close();
    await Promise.allSettled([compute.close(), storage.close(), catalog.close()]);
    await readHolds.close();
    await persist.close();
    await ownedFlags?.close();
    throw e;
  }

  const ddl = new Ddl({
    catalog,
    generation,
    queue,
    objects,
    orchestrator,
    clusters,
    replicas,
    dataflows,
    readPhases,
  });
  const reads = new Reads({
    objects,
    clusters,
    shards,
    frontiers,
    signal,
    dataflows,
    peekTimeoutMs: opts.peekTimeoutMs ?? 10_000,
    transientIds,
    persisted,
    replicaHealth: (clusterId, replicaId) => replicas.healthOf(clusterId, replicaId),
    replicaLogsStorage: (replicaId) => replicas.phasesOf(replicaId)?.takesEffect("logging"),
  });
  const status = new Status({
    catalog,
    objects,
    frontiers,
    replicas,
    clusters,
    readPhases,
    stages,
    flipOf: (clusterId) => flips.statusOf(clusterId),
  });
  const flips = new LiveFlips({
    catalog,
    generation,
    queue,
    orchestrator,
    clusters,
    replicas,
    shards,
    dataflows,
    objects,
    readHolds,
    readPhases,
    log,
    registry: opts.registry,
    hydrationTimeoutMs: opts.flipHydrationTimeoutMs ?? 120_000,
    journalPath: join(opts.dataDir, "flips.json"),
    ...(typeof phaseSource === "function"
      ? {}
      : { subscribe: phaseSource.subscribe.bind(phaseSource) }),
  });
  await flips.start();
  const collectOrphanShards = () => queue.run(() => shardGc.collect());
  shardGc.start(opts.shardGcIntervalMs ?? 60_000, collectOrphanShards);
  persisted.start();

  const env: Environment = {
    generation,
    catalog,
    orchestrator,
    compute,
    storage,
    createCluster: (req) => ddl.createCluster(req),
    dropCluster: (req) => ddl.dropCluster(req),
    listClusters: () => status.listClusters(),
    createReplica: (req) => ddl.createReplica(req),
    dropReplica: (req) => ddl.dropReplica(req),
    createSource: (req) => ddl.createSource(req),
    createIndex: (req) => ddl.createIndex(req),
    createMaterializedView: (req) => ddl.createMaterializedView(req),
    dropObject: (req) => ddl.dropObject(req),
    listObjects: (req) => listObjects(catalog, objects, req),
    async peek(req, trace) {
      if (closed) throw new EnvironmentClosed();
      return reads.peek(req, trace);
    },
    async *subscribe(req, cancel) {
      if (closed) throw new EnvironmentClosed();
      yield* reads.subscribe(req, cancel);
    },
    status: (req) => status.status(req),
    getFlags: (req) => status.getFlags(req),
    replicaPids: () => replicas.pids(),
    async flipNow(clusterId) {
      flips.poke(clusterId);
      await flips.idle(clusterId);
    },
    collectOrphanShards,

    async close(options = {}) {
      if (closed) return;
      await flips.close();
      await queue.idle();
      closed = true;
      queue.close();
      fencing.stop();
      shardGc.stop();
      await persisted.close();
      await importHolds.close();
      signal.close(new EnvironmentClosed());
      await clusters.close();
      await compute.close();
      await storage.close();
      await readHolds.close();
      await persist.close();
      if (options.keepReplicas === true) orchestrator.abandon();
      else await orchestrator.close();
      await ownedFlags?.close();
      if (opts.catalog === undefined) await catalog.close();
      log.info({ generation: `${generation}` }, "environment closed");
    },
  };
  fencing.start();
  return env;
}
