/**
 * The environment: environmentd's composition root (design §2, §5, §7). It owns one catalog
 * handle, one boot generation, the process orchestrator and the compute and storage controllers,
 * and implements every API operation on top of them.
 *
 * ## Boot (numbered walk-through)
 * 1. Open the catalog (SQLite under `dataDir` unless one is injected) and `boot()`: generation + 1,
 *    which fences every older environmentd (its catalog writes fail with `StaleGeneration`).
 * 2. Start the process orchestrator (`dataDir/orchestrator`, persist at `dataDir/persist`).
 * 3. Create the compute and storage controllers with the new generation.
 * 4. Rebuild from `catalog.snapshot()`: per cluster, one compute and one storage instance; its
 *    PhaseSet is read ONCE here (style §16) and handed to every replica spec; `reconcile` adopts
 *    the replicas a previous environmentd left running (same pid) and terminates unwanted ones;
 *    each replica is added to both controllers at its reported location — after the sources
 *    (ingestions), indexes and materialized views (dataflows) were installed in dependency
 *    order, so the replay a replica reconciles against holds them all.
 * 5. Orchestrator `online` events move replicas (`updateReplicaLocation`) and feed health.
 *
 * ## Invariants
 * - Every write goes through the catalog with this environment's generation, before the
 *   controllers are touched: a zombie fails with `StaleGeneration` and changes nothing.
 * - DDL is serialised (one at a time), so the controllers see the catalog's order.
 * - Peeks without a timestamp read at the freshest complete time: one less than the smallest
 *   upper among the inputs of the peeked collection, never below its since (design §5). A closed
 *   deterministic input counts with its final upper (start + maxTicks × interval).
 */
import { join } from "node:path";
import { fromJson, type JsonValue as ProtoJson, toJson, toJsonString } from "@bufbuild/protobuf";
import {
  CollectionMissing as ComputeCollectionMissing,
  type ComputeController,
  connectLegacyComputeReplica,
  createComputeController,
} from "@mzts/compute-client";
import { type Plan, validatePlan } from "@mzts/expr";
import { createPhaseFlags, FLAG_KEYS, PHASES, type PhaseFlags, type PhaseSet } from "@mzts/flags";
import {
  createProcessOrchestrator,
  type ProcessOrchestrator,
  type ReplicaLocation,
  type ReplicaSpec,
} from "@mzts/orchestrator";
import { createPersist, ShardDropped } from "@mzts/persist";
import {
  type ClusterStatus,
  type CollectionStatus,
  type CreateClusterRequest,
  type CreateIndexRequest,
  type CreateMaterializedViewRequest,
  type CreateReplicaRequest,
  type CreateSourceRequest,
  type CreateSourceResponse,
  checkPeekColumns,
  type DataflowDescription,
  type DropClusterRequest,
  type DropObjectRequest,
  type DropReplicaRequest,
  type EnvironmentPeekResponse,
  type EnvironmentSubscribeResponse,
  environmentCodecs,
  type FlagState,
  type GetFlagsRequest,
  type GetFlagsResponse,
  type IngestionConnection,
  type ListClustersResponse,
  type ListObjectsRequest,
  type ListObjectsResponse,
  type ObjectInfo,
  objectKindPhrase,
  type PeekRequest,
  type ReplicaHealth,
  type SourceImport,
  type StatusRequest,
  type StatusResponse,
  type SubscribeRequest,
} from "@mzts/protocol";
import { environmentV1 } from "@mzts/protocol/wire";
import { Frontier, type GlobalId, type Timestamp } from "@mzts/repr";
import {
  connectLegacyStorageReplica,
  createStorageController,
  PersistReadHolds,
  type ReadHold,
  type StorageController,
} from "@mzts/storage-client";
import type { Logger } from "pino";
import type { Registry } from "prom-client";
import type { Catalog, CatalogItem, Cluster, JsonValue } from "./catalog/catalog.js";
import { StaleGeneration, UnknownObject } from "./catalog/errors.js";
import { openSqliteCatalog } from "./catalog/sqlite.js";
import {
  EnvironmentClosed,
  InvalidObjectRequest,
  NoIndexForPeek,
  PeekBelowSince,
  SubsourceDrop,
  UpperWaitTimeout,
} from "./errors.js";
import { OrphanSightings, orphanVerdict } from "./orphan-sightings.js";

/** Where the phases of a cluster come from: the flags service, or (tests) a function. */
export type PhaseSource = PhaseFlags | ((clusterId: string) => PhaseSet);

export interface EnvironmentOptions {
  /** Owns `catalog.sqlite`, `orchestrator/` and `persist/`. */
  readonly dataDir: string;
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
}

export interface CloseOptions {
  /** Leave the replicas running for the next environmentd to adopt (default false: stop them). */
  readonly keepReplicas?: boolean;
}

/** One generator output: its subsource suffix and arity. */
interface GeneratorOutput {
  readonly name: string;
  readonly arity: number;
}

/** The outputs of each load generator, in output order (storage's generator specs). */
export const GENERATOR_OUTPUTS: {
  readonly [k in "counter" | "auction"]: readonly GeneratorOutput[];
} = {
  counter: [{ name: "counter", arity: 1 }],
  auction: [
    { name: "organizations", arity: 2 },
    { name: "users", arity: 3 },
    { name: "accounts", arity: 3 },
    { name: "auctions", arity: 4 },
    { name: "bids", arity: 5 },
  ],
};

/** A resolved object (subsources included). */
interface Resolved {
  readonly id: GlobalId;
  readonly name: string;
  readonly kind: ObjectInfo["kind"];
  readonly clusterId: GlobalId;
  readonly arity: number;
  /** Persist shard (subsources and materialized views). */
  readonly shardId?: string;
  /** Index: the indexed object; subsource: its source. */
  readonly on?: GlobalId;
  readonly key: readonly number[];
  /** Inputs whose uppers bound the freshest read (indexes and views). */
  readonly inputs: readonly GlobalId[];
  /** Subsources: the ingestion's connection (for a closed deterministic input's final upper). */
  readonly connection?: IngestionConnection;
}

interface ReplicaRuntime {
  readonly clusterId: GlobalId;
  readonly name: string;
  readonly workers: number;
  /** The PhaseSet this replica was started with. */
  readonly phases: PhaseSet;
  location: ReplicaLocation;
  health: ReplicaHealth;
  reason: string;
  pid: number | null;
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
  peek(req: PeekRequest): Promise<EnvironmentPeekResponse>;
  /**
   * The object's snapshot at `asOf` (default: the freshest complete time), then its changes,
   * batch by batch; ends at the empty upper or at `upTo`. Breaking out drops the subscribe.
   */
  subscribe(req: SubscribeRequest): AsyncIterable<EnvironmentSubscribeResponse>;
  status(req: StatusRequest): Promise<StatusResponse>;
  getFlags(req: GetFlagsRequest): Promise<GetFlagsResponse>;
  /** The pid of each running replica (for tests and the CLI). */
  replicaPids(): ReadonlyMap<string, number | null>;
  /**
   * One pass of shard garbage collection (also run soon after boot and every
   * `shardGcIntervalMs`): a persist shard no catalog object references, with no reader and the
   * same upper for `shardGcConfirmMs` (nobody writes it any more; seen by this or an earlier
   * boot, see `orphan-sightings.ts`), is dropped and its blobs deleted. Returns how many were
   * dropped.
   */
  collectOrphanShards(): Promise<number>;
  close(options?: CloseOptions): Promise<void>;
}

const NO_LOGGING = { enabled: false, intervalMs: 1000, logLogging: false, indexLogs: new Map() };
const S = environmentV1;

/** Builds and boots an environment (see the file comment for the steps). */
export async function createEnvironment(opts: EnvironmentOptions): Promise<Environment> {
  const log = opts.logger.child({ component: "environment" });
  const catalog = opts.catalog ?? openSqliteCatalog({ path: join(opts.dataDir, "catalog.sqlite") });
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
  const orchestrator = await createProcessOrchestrator({
    dataDir: opts.dataDir,
    persistDir: join(opts.dataDir, "persist"),
    logger: opts.logger,
    registry: opts.registry,
    ...(opts.controllerAbsentTimeoutMs === undefined
      ? {}
      : { controllerAbsentTimeoutMs: opts.controllerAbsentTimeoutMs }),
  });
  const windowMs = BigInt(opts.compactionWindowMs ?? 1000);
  const compute = createComputeController({
    generation,
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
  /** Per installed dataflow (index or view id): the holds on its durable imports. */
  const importHolds = new Map<GlobalId, ReadHold[]>();
  const storage = createStorageController({
    generation,
    logger: opts.logger,
    registry: opts.registry,
  });
  const replicas = new Map<string, ReplicaRuntime>();
  /** The PhaseSet each cluster's controllers were built with (controller-side phases). */
  const clusterPhases = new Map<GlobalId, PhaseSet>();
  let closed = false;
  /** Counter of transient ids (`t<n>`) for subscribes. */
  let transientIds = 0;
  let chain: Promise<unknown> = Promise.resolve();
  const serial = <T>(f: () => Promise<T>): Promise<T> => {
    if (closed) return Promise.reject(new EnvironmentClosed());
    const op = async () => {
      objectsCache = undefined;
      try {
        return await f();
      } finally {
        objectsCache = undefined;
      }
    };
    const next = chain.then(op, op);
    chain = next.catch((e: unknown) => {
      if (e instanceof StaleGeneration) fencedBy(e.currentGeneration);
    });
    return next;
  };

  /** A newer environmentd booted: stop acting (the replicas are its now) and tell the owner. */
  let fenced = false;
  function fencedBy(newer: bigint): void {
    if (fenced || closed) return;
    fenced = true;
    log.error(
      { generation: `${generation}`, newer_generation: `${newer}` },
      "fenced by a newer environmentd; closing without touching the replicas",
    );
    // Not from inside the serial chain: close() waits for it.
    setImmediate(() => {
      void env.close({ keepReplicas: true }).finally(() => opts.onFenced?.(newer));
    });
  }
  /** Started once `env` exists (see the end of this function). */
  let fenceTimer: NodeJS.Timeout | undefined;

  orchestrator.onEvent((e) => {
    const r = replicas.get(e.replicaId);
    if (r === undefined) return;
    switch (e.kind) {
      case "online":
        r.health = "online";
        r.reason = "";
        r.pid = e.pid;
        if (
          e.location.computeUrl !== r.location.computeUrl ||
          e.location.storageUrl !== r.location.storageUrl
        ) {
          r.location = e.location;
          compute.updateReplicaLocation(r.clusterId, e.replicaId, e.location);
          storage.updateReplicaLocation(r.clusterId, e.replicaId, e.location);
        }
        break;
      case "offline":
        r.health = "offline";
        r.reason = e.reason;
        r.pid = null;
        break;
      case "restarting":
        r.health = "restarting";
        r.reason = e.reason;
        break;
      case "failed":
        r.health = "offline";
        r.reason = e.reason;
        break;
    }
  });

  // ---- object model -------------------------------------------------------------------------

  function connectionOf(spec: JsonValue): IngestionConnection {
    const msg = fromJson(S.CreateSourceRequestSchema, spec as ProtoJson);
    return environmentCodecs.createSourceRequest.fromProto(msg).loadGenerator;
  }
  function planOf(definition: string): Plan {
    const msg = fromJson(S.CreateMaterializedViewRequestSchema, JSON.parse(definition));
    return environmentCodecs.createMaterializedViewRequest.fromProto(msg).plan;
  }

  /**
   * Every object by name and by id, from one catalog read — cached until the next DDL: every
   * catalog write of this generation goes through `serial`, which drops the cache, and a newer
   * generation's writes fence this environmentd. Peeks thus skip the catalog read.
   */
  let objectsCache: ReturnType<typeof readObjects> | undefined;
  function objects(): ReturnType<typeof readObjects> {
    if (objectsCache === undefined) {
      const read = readObjects();
      objectsCache = read;
      read.catch(() => {
        if (objectsCache === read) objectsCache = undefined;
      });
    }
    return objectsCache;
  }
  async function readObjects(): Promise<{
    byName: Map<string, Resolved>;
    byId: Map<GlobalId, Resolved>;
    items: readonly CatalogItem[];
    clusters: readonly Cluster[];
  }> {
    const snap = await catalog.snapshot();
    const byName = new Map<string, Resolved>();
    const byId = new Map<GlobalId, Resolved>();
    const add = (r: Resolved) => {
      byName.set(r.name, r);
      byId.set(r.id, r);
    };
    for (const item of snap.items) {
      if (item.kind === "source") {
        const connection = connectionOf(item.spec);
        add({
          id: item.id,
          name: item.name,
          kind: "source",
          clusterId: item.clusterId,
          arity: 0,
          key: [],
          inputs: [],
        });
        const outputs = GENERATOR_OUTPUTS[connection.generator.kind];
        for (const e of item.exports) {
          add({
            id: e.id,
            name: e.name,
            kind: "subsource",
            clusterId: item.clusterId,
            arity: outputs[e.outputIndex]?.arity ?? 0,
            shardId: e.shardId,
            on: item.id,
            key: [],
            inputs: [],
            connection,
          });
        }
      } else if (item.kind === "index") {
        const on = byId.get(item.dependsOn[0] ?? "");
        add({
          id: item.id,
          name: item.name,
          kind: "index",
          clusterId: item.clusterId,
          arity: on?.arity ?? 0,
          ...(on === undefined ? {} : { on: on.id }),
          key: item.key,
          inputs: item.dependsOn,
        });
      } else {
        const plan = planOf(item.definition);
        add({
          id: item.id,
          name: item.name,
          kind: "materializedView",
          clusterId: item.clusterId,
          arity: validatePlan(plan, (id) => byId.get(id)?.arity),
          shardId: item.shardId,
          key: [],
          inputs: item.dependsOn,
        });
      }
    }
    return { byName, byId, items: snap.items, clusters: snap.clusters };
  }

  function sourceImport(r: Resolved): SourceImport {
    return { id: r.id, shardId: r.shardId ?? "", arity: r.arity, upper: upperOf(r) ?? null };
  }

  /** The write frontier the controllers report (undefined: not known to them yet). */
  function upperOf(r: Resolved): Frontier | undefined {
    try {
      // A durable collection's shard upper is the truth; the controllers may know a newer one
      // (replicas report before the next read-hold tick) or nothing yet (just booted).
      const durable = r.shardId !== undefined && readHolds.has(r.id) ? readHolds.upper(r.id) : 0n;
      if (r.kind === "subsource") {
        return Frontier.join(durable, storage.hasCollection(r.id) ? storage.frontier(r.id) : 0n);
      }
      const f = compute.frontiers(r.id);
      // An index nobody reported on yet only knows its as-of: not a frontier to show.
      if (r.kind === "index" && !f.reported) return undefined;
      return Frontier.join(durable, f.write);
    } catch (e) {
      if (e instanceof ComputeCollectionMissing) return undefined;
      throw e;
    }
  }

  /** The since of a durable collection's shard, or an index's. */
  function sinceOf(r: Resolved): Frontier {
    if (r.shardId !== undefined && readHolds.has(r.id)) return readHolds.since(r.id);
    return compute.frontiers(r.id).since;
  }

  /** Opens the since handles of an item's shards (subsources, materialized views). */
  async function registerShards(item: CatalogItem): Promise<void> {
    if (item.kind === "source") {
      for (const e of item.exports) await readHolds.register(e.id, e.shardId);
    } else if (item.kind === "materialized-view") {
      await readHolds.register(item.id, item.shardId);
    }
  }

  /**
   * The as-of of a dataflow over `imports` (Materialize's as-of selection): at least every
   * import's since; as late as the imports' uppers allow, so a rebuilt or reconciled dataflow
   * starts near the present (and at or after what a running replica compacted it to). A view
   * writing `ownShard` never starts at or past that shard's upper: its sink appends from there.
   */
  function selectAsOf(imports: readonly GlobalId[], own?: GlobalId): Timestamp {
    let least = 0n;
    let fresh: bigint | undefined;
    for (const id of imports) {
      const since = readHolds.since(id);
      if (since === null)
        throw new InvalidObjectRequest("plan", `${id} is closed and compacted away`);
      if (since > least) least = since;
      const upper = readHolds.upper(id);
      if (upper !== null && (fresh === undefined || upper < fresh)) fresh = upper;
    }
    if (own !== undefined) {
      const upper = readHolds.upper(own);
      if (upper !== null && upper > 0n && (fresh === undefined || upper < fresh)) fresh = upper;
    }
    const late = fresh === undefined || fresh === 0n ? 0n : fresh - 1n;
    return late > least ? late : least;
  }

  /** Moves each dataflow's import holds up to the dataflow's own since (what a replay needs). */
  function advanceImportHolds(): void {
    for (const [id, holds] of importHolds) {
      let since: Frontier;
      try {
        since = compute.frontiers(id).since;
      } catch (e) {
        if (e instanceof ComputeCollectionMissing) continue;
        throw e;
      }
      if (since === null) continue;
      for (const h of holds) h.downgrade(since);
    }
  }
  let upkeep: Promise<void> | undefined;
  const upkeepTimer = setInterval(() => {
    if (upkeep !== undefined || closed) return;
    advanceImportHolds();
    upkeep = readHolds.tick().finally(() => {
      upkeep = undefined;
    });
  }, opts.readHoldTickMs ?? 1000);
  upkeepTimer.unref();

  /**
   * The upper that bounds a read of `r`'s contents: its own upper while open; when closed, the
   * last finite upper it can have had (a deterministic source's final upper, or its inputs').
   * `undefined` = unbounded (closed with no known end).
   */
  function boundingUpper(r: Resolved, byId: ReadonlyMap<GlobalId, Resolved>): bigint | undefined {
    const own = upperOf(r);
    if (own !== null && own !== undefined) return own;
    if (r.kind === "subsource") {
      const d = r.connection?.deterministic;
      if (d?.maxTicks === undefined || r.connection === undefined) return undefined;
      return d.startTimeMs + d.maxTicks * BigInt(r.connection.tickIntervalMs);
    }
    return minUpper(r.inputs, byId);
  }
  function minUpper(ids: readonly GlobalId[], byId: ReadonlyMap<GlobalId, Resolved>) {
    let min: bigint | undefined;
    for (const id of ids) {
      const input = byId.get(id);
      if (input === undefined) continue;
      const u = boundingUpper(input, byId);
      if (u !== undefined && (min === undefined || u < min)) min = u;
    }
    return min;
  }

  function dataflowFor(
    item: CatalogItem,
    byId: ReadonlyMap<GlobalId, Resolved>,
  ): DataflowDescription | undefined {
    if (item.kind === "index") {
      const on = byId.get(item.dependsOn[0] ?? "");
      if (on === undefined) return undefined;
      return {
        debugName: item.name,
        sourceImports: [sourceImport(on)],
        indexImports: [],
        objectsToBuild: [{ id: item.id, plan: { kind: "get", id: on.id, arity: on.arity } }],
        indexExports: [{ id: item.id, objectId: item.id, key: item.key }],
        sinkExports: [],
        asOf: selectAsOf([on.id]),
        until: null,
      };
    }
    if (item.kind === "materialized-view") {
      const inputs = item.dependsOn.flatMap((id) => {
        const r = byId.get(id);
        return r === undefined ? [] : [sourceImport(r)];
      });
      return {
        debugName: item.name,
        sourceImports: inputs,
        indexImports: [],
        objectsToBuild: [{ id: item.id, plan: planOf(item.definition) }],
        indexExports: [],
        sinkExports: [
          { id: item.id, fromId: item.id, connection: { kind: "persist", shardId: item.shardId } },
        ],
        asOf: selectAsOf(
          inputs.map((i) => i.id),
          item.id,
        ),
        until: null,
      };
    }
    return undefined;
  }

  function install(item: CatalogItem, byId: ReadonlyMap<GlobalId, Resolved>): void {
    if (item.kind === "source") {
      storage.createIngestion(item.clusterId, item.id, {
        sourceExports: item.exports.map((e) => ({
          id: e.id,
          shardId: e.shardId,
          outputIndex: e.outputIndex,
          name: e.name,
        })),
        connection: connectionOf(item.spec),
      });
      return;
    }
    const df = dataflowFor(item, byId);
    if (df === undefined) return;
    const asOf = df.asOf;
    const holds = df.sourceImports.map((i) => readHolds.acquire(i.id, asOf));
    try {
      compute.createDataflow(item.clusterId, df);
    } catch (e) {
      for (const h of holds) h.release();
      throw e;
    }
    importHolds.set(item.id, holds);
    if (item.kind === "materialized-view") compute.allowWrites(item.clusterId, item.id);
  }

  function uninstall(item: CatalogItem): void {
    if (item.kind === "source") {
      if (storage.hasCollection(item.id)) storage.dropIngestion(item.id);
      for (const e of item.exports) void readHolds.unregister(e.id);
      return;
    }
    for (const h of importHolds.get(item.id) ?? []) h.release();
    importHolds.delete(item.id);
    if (item.kind === "materialized-view") void readHolds.unregister(item.id);
    try {
      compute.dropCollection(item.id);
    } catch (e) {
      if (!(e instanceof ComputeCollectionMissing)) throw e;
    }
  }

  function createInstances(clusterId: GlobalId): void {
    // PHASE(replicas): legacy — delete when cluster-unification-replicas is retired (`controllers.ts`
    // `selectControllers(phases)` will choose the connectors per cluster; until then: legacy tasks).
    compute.createInstance(clusterId, NO_LOGGING, { connector: connectLegacyComputeReplica });
    storage.createInstance(clusterId, { connector: connectLegacyStorageReplica });
  }

  function attachReplica(
    clusterId: GlobalId,
    replicaId: string,
    name: string,
    workers: number,
    phases: PhaseSet,
    location: ReplicaLocation,
  ): void {
    const pid = orchestrator.list().find((s) => s.replicaId === replicaId)?.pid ?? null;
    replicas.set(replicaId, {
      clusterId,
      name,
      workers,
      phases,
      location,
      health: "online",
      reason: "",
      pid,
    });
    compute.addReplica(clusterId, replicaId, { computeUrl: location.computeUrl });
    storage.addReplica(clusterId, replicaId, { storageUrl: location.storageUrl });
  }

  const spec = (clusterId: string, replicaId: string, workers: number, phases: PhaseSet) =>
    ({
      clusterId,
      replicaId,
      workers,
      phases,
      generation: Number(generation),
    }) satisfies ReplicaSpec;

  // ---- rebuild --------------------------------------------------------------------------------
  try {
    const snap = await catalog.snapshot();
    const wanted: ReplicaSpec[] = [];
    for (const c of snap.clusters) {
      createInstances(c.id);
      clusterPhases.set(c.id, await readPhases(c.id));
    }
    for (const r of snap.replicas) {
      const phases = clusterPhases.get(r.clusterId);
      if (phases !== undefined) wanted.push(spec(r.clusterId, r.id, r.workers, phases));
    }
    // Dataflows and ingestions first: a replica's replay is the history at the time it is added,
    // and a replica that reconciles against a history without its dataflows drops them all.
    for (const item of snap.items) await registerShards(item);
    const { byId } = await objects();
    for (const item of snap.items) install(item, byId);
    const result = await orchestrator.reconcile(wanted);
    for (const r of snap.replicas) {
      const location = result.locations.get(r.id);
      const phases = clusterPhases.get(r.clusterId);
      if (location === undefined || phases === undefined) {
        log.warn({ replica_id: r.id, err: result.failed.get(r.id) }, "replica could not start");
        continue;
      }
      attachReplica(r.clusterId, r.id, r.name, r.workers, phases, location);
    }
    log.info(
      { clusters: snap.clusters.length, replicas: snap.replicas.length, items: snap.items.length },
      "controllers rebuilt from the catalog",
    );
  } catch (e) {
    orchestrator.abandon();
    clearInterval(upkeepTimer);
    clearInterval(fenceTimer);
    await Promise.allSettled([compute.close(), storage.close(), catalog.close()]);
    await readHolds.close();
    await persist.close();
    await ownedFlags?.close();
    throw e;
  }

  async function flagStates(clusterId: GlobalId): Promise<FlagState[]> {
    const now = await readPhases(clusterId);
    const running = [...replicas.values()].filter((r) => r.clusterId === clusterId);
    const built = clusterPhases.get(clusterId) ?? now;
    return PHASES.map((p) => {
      const inForce = now.inForce[p];
      const applied =
        running.length > 0 ? running.every((r) => r.phases.inForce[p]) : built.inForce[p];
      const mixed = running.some((r) => r.phases.inForce[p] !== inForce);
      return {
        key: FLAG_KEYS[p],
        enabled: now.flagsOn[p],
        inForce,
        blockedBy: (now.blocked[p] ?? []).map((q) => FLAG_KEYS[q]),
        applied,
        pendingRestart: inForce !== applied || mixed,
      };
    }).sort((a, b) => (a.key < b.key ? -1 : 1));
  }

  async function clustersFor(name: string | undefined): Promise<readonly Cluster[]> {
    if (name !== undefined) return [await catalog.getCluster(name)];
    return [...(await catalog.listClusters())].sort((a, b) => (a.name < b.name ? -1 : 1));
  }

  /** Orphaned shards seen by earlier GC passes, this boot's or a previous one's. */
  const sightings = new OrphanSightings(join(opts.dataDir, "shard-gc.json"), log);
  const gcConfirmMs = opts.shardGcConfirmMs ?? 60_000;
  async function collectOrphanShards(): Promise<number> {
    const snap = await catalog.snapshot();
    const referenced = new Set<string>();
    for (const item of snap.items) {
      if (item.kind === "source") for (const e of item.exports) referenced.add(e.shardId);
      else if (item.kind === "materialized-view") referenced.add(item.shardId);
    }
    let dropped = 0;
    const seen = new Set<string>();
    for (const shardId of await persist.listShards()) {
      if (referenced.has(shardId)) continue;
      // Shards derived from a referenced one (`<shard>-<suffix>`, e.g. an ingestion's clock
      // anchor `<first export's shard>-clock`) belong to its object.
      const dash = shardId.lastIndexOf("-");
      if (dash > 0 && referenced.has(shardId.slice(0, dash))) continue;
      let upper: Frontier;
      let readers: number;
      try {
        const shard = await persist.openShard(shardId);
        await shard.maintenance(); // expires readers whose lease lapsed (e.g. a crashed replica's)
        const info = await shard.info();
        upper = info.upper;
        readers = Object.keys(info.readers).length;
      } catch (e) {
        if (e instanceof ShardDropped) continue; // a tombstone
        throw e;
      }
      seen.add(shardId);
      const now = Date.now();
      // Still read, first seen, or still written (a replica finishing its drop): a later pass.
      const verdict = orphanVerdict(sightings.get(shardId), readers, upper, now, gcConfirmMs);
      sightings.see(shardId, upper, now);
      if (verdict === "wait") continue;
      await persist.dropShard(shardId);
      sightings.forget(shardId);
      dropped++;
      log.info(
        { shard: shardId },
        "dropped an orphaned shard (no catalog object, reader or writer)",
      );
    }
    sightings.retainOnly(seen);
    sightings.save();
    return dropped;
  }
  const gcMs = opts.shardGcIntervalMs ?? 60_000;
  const gcPass = () => {
    if (closed) return;
    // Serialised with DDL: a shard is in the catalog before it is created.
    serial(collectOrphanShards).catch((e: unknown) =>
      log.warn({ err: e }, "shard garbage collection failed; retrying next time"),
    );
  };
  // The first pass soon after boot: an environmentd restarted more often than the interval
  // would otherwise never collect anything.
  const gcTimer = gcMs > 0 ? setInterval(gcPass, gcMs) : undefined;
  const gcFirst = gcMs > 0 ? setTimeout(gcPass, Math.min(gcMs, 1000)) : undefined;
  gcTimer?.unref();
  gcFirst?.unref();

  const env: Environment = {
    generation,
    catalog,
    orchestrator,
    compute,
    storage,

    createCluster: (req) =>
      serial(async () => {
        const c = await catalog.createCluster(generation, { name: req.name });
        createInstances(c.id);
        clusterPhases.set(c.id, await readPhases(c.id));
        return { id: c.id };
      }),

    dropCluster: (req) =>
      serial(async () => {
        const dropped = await catalog.dropCluster(generation, req.name, { cascade: req.cascade });
        for (const o of dropped) {
          if (o.kind === "source" || o.kind === "index" || o.kind === "materialized-view")
            uninstall(o);
        }
        for (const o of dropped) {
          if (o.kind !== "replica") continue;
          await detachReplica(o.clusterId, o.id);
        }
        for (const o of dropped) {
          if (o.kind !== "cluster") continue;
          await compute.dropInstance(o.id);
          await storage.dropInstance(o.id);
          clusterPhases.delete(o.id);
        }
      }),

    async listClusters() {
      const [clusters, reps] = await Promise.all([catalog.listClusters(), catalog.listReplicas()]);
      return {
        clusters: [...clusters]
          .sort((a, b) => (a.name < b.name ? -1 : 1))
          .map((c) => ({
            id: c.id,
            name: c.name,
            replicas: reps
              .filter((r) => r.clusterId === c.id)
              .sort((a, b) => (a.name < b.name ? -1 : 1))
              .map((r) => ({ id: r.id, name: r.name, size: r.workers })),
          })),
      };
    },

    createReplica: (req) =>
      serial(async () => {
        const r = await catalog.createReplica(generation, {
          cluster: req.cluster,
          name: req.name,
          workers: req.size,
        });
        const phases = await readPhases(r.clusterId); // read once, at replica start (style §16)
        let location: ReplicaLocation;
        try {
          location = await orchestrator.ensureReplica(spec(r.clusterId, r.id, r.workers, phases));
        } catch (e) {
          await catalog.dropReplica(generation, req.cluster, req.name).catch(() => undefined);
          throw e;
        }
        attachReplica(r.clusterId, r.id, r.name, r.workers, phases, location);
        return { id: r.id };
      }),

    dropReplica: (req) =>
      serial(async () => {
        const r = await catalog.dropReplica(generation, req.cluster, req.name);
        await detachReplica(r.clusterId, r.id);
      }),

    createSource: (req) =>
      serial(async () => {
        const outputs = GENERATOR_OUTPUTS[req.loadGenerator.generator.kind];
        const specJson = toJson(
          S.CreateSourceRequestSchema,
          environmentCodecs.createSourceRequest.toProto(req),
        ) as JsonValue;
        const source = await catalog.createSource(generation, {
          name: req.name,
          cluster: req.cluster,
          spec: specJson,
          exports: outputs.map((o, i) => ({ name: `${req.name}_${o.name}`, outputIndex: i })),
        });
        await registerShards(source);
        install(source, new Map());
        return {
          id: source.id,
          subsources: source.exports.map((e) => ({ id: e.id, name: e.name })),
        };
      }),

    createIndex: (req) =>
      serial(async () => {
        const { byName, byId } = await objects();
        const on = byName.get(req.on);
        if (on === undefined) throw new UnknownObject("object", req.on);
        if (on.kind === "index" || on.kind === "source") {
          throw new InvalidObjectRequest(
            "on",
            `${req.on} is ${objectKindPhrase(on.kind)}; index a subsource or materialized view instead`,
          );
        }
        for (const [i, k] of req.key.entries()) {
          if (k >= on.arity) {
            throw new InvalidObjectRequest(
              `key[${i}]`,
              `column ${k} is out of range for ${req.on} (${on.arity} columns)`,
            );
          }
        }
        const index = await catalog.createIndex(generation, {
          name: req.name,
          cluster: req.cluster,
          definition: JSON.stringify({ on: on.id }),
          key: req.key,
          dependsOn: [on.id],
        });
        install(index, byId);
        return { id: index.id };
      }),

    createMaterializedView: (req) =>
      serial(async () => {
        const { byId } = await objects();
        const gets = new Set<GlobalId>();
        collectGets(req.plan, gets);
        for (const id of gets) {
          const r = byId.get(id);
          if (r === undefined) throw new UnknownObject("object", id);
          if (r.kind !== "subsource" && r.kind !== "materializedView") {
            throw new InvalidObjectRequest(
              "plan",
              `get ${id} names ${r.name}, ${objectKindPhrase(r.kind)}; read subsources or materialized views`,
            );
          }
        }
        try {
          validatePlan(req.plan, (id) => byId.get(id)?.arity);
        } catch (e) {
          throw new InvalidObjectRequest("plan", e instanceof Error ? e.message : String(e));
        }
        const view = await catalog.createMaterializedView(generation, {
          name: req.name,
          cluster: req.cluster,
          definition: toJsonString(
            S.CreateMaterializedViewRequestSchema,
            environmentCodecs.createMaterializedViewRequest.toProto(req),
          ),
          dependsOn: [...gets],
        });
        await registerShards(view);
        const after = await objects();
        install(view, after.byId);
        return { id: view.id };
      }),

    dropObject: (req) =>
      serial(async () => {
        const { byName, byId } = await objects();
        const r = byName.get(req.name);
        if (r === undefined) throw new UnknownObject("object", req.name);
        if (r.kind === "subsource") {
          throw new SubsourceDrop(req.name, byId.get(r.on ?? "")?.name ?? "its source");
        }
        const kind =
          r.kind === "materializedView"
            ? "materialized-view"
            : r.kind === "index"
              ? "index"
              : "source";
        const dropped = await catalog.dropItem(generation, kind, req.name, {
          cascade: req.cascade,
        });
        for (const item of dropped) uninstall(item);
      }),

    async listObjects(req) {
      const { byName, byId } = await objects();
      const clusters = await catalog.listClusters();
      const clusterName = new Map(clusters.map((c) => [c.id, c.name]));
      if (req.cluster !== undefined) await catalog.getCluster(req.cluster);
      const out: ObjectInfo[] = [];
      for (const r of byName.values()) {
        const cluster = clusterName.get(r.clusterId) ?? "";
        if (req.cluster !== undefined && cluster !== req.cluster) continue;
        const on = r.on === undefined ? undefined : byId.get(r.on)?.name;
        out.push({
          id: r.id,
          name: r.name,
          kind: r.kind,
          cluster,
          arity: r.arity,
          ...(on === undefined ? {} : { on }),
          key: r.key,
        });
      }
      out.sort((a, b) => (a.name < b.name ? -1 : 1));
      return { objects: out };
    },

    async peek(req) {
      if (closed) throw new EnvironmentClosed();
      const { byName, byId } = await objects();
      const object = byName.get(req.object);
      if (object === undefined) throw new UnknownObject("object", req.object);
      if (object.kind === "source") {
        throw new InvalidObjectRequest(
          "object",
          `${req.object} is a source; its data is in its subsources (${req.object}_<output>): peek one of them`,
        );
      }
      let index: Resolved | undefined = object.kind === "index" ? object : undefined;
      if (index === undefined) {
        for (const r of byId.values()) {
          if (r.kind === "index" && r.on === object.id) {
            index = r;
            break;
          }
        }
      }
      if (index === undefined) throw new NoIndexForPeek(req.object);
      checkPeekColumns(req, index.arity);
      let targetReplica: string | undefined;
      if (req.replica !== undefined) {
        const name = req.replica;
        targetReplica = (await catalog.listReplicas()).find(
          (r) => r.clusterId === index.clusterId && r.name === name,
        )?.id;
        if (targetReplica === undefined) {
          const cluster = (await catalog.listClusters()).find((c) => c.id === index.clusterId);
          throw new UnknownObject("replica", name, cluster?.name ?? index.clusterId);
        }
      }
      const timeoutMs = req.timeoutMs ?? opts.peekTimeoutMs ?? 10_000;
      const deadline = Date.now() + timeoutMs;
      let since = compute.frontiers(index.id).since;
      let timestamp: Timestamp;
      if (req.timestamp !== undefined) {
        timestamp = req.timestamp;
        if (since === null || timestamp < since)
          throw new PeekBelowSince(req.object, timestamp, since);
        // Wait for the inputs to pass the requested time.
        for (;;) {
          const u = minUpper(index.inputs, byId);
          if (u === undefined || u > timestamp) break;
          if (Date.now() > deadline) throw new UpperWaitTimeout(req.object, timestamp, timeoutMs);
          await sleep(20);
        }
      } else {
        for (;;) {
          since = compute.frontiers(index.id).since;
          if (since === null) throw new PeekBelowSince(req.object, 0n, since);
          const u = minUpper(index.inputs, byId);
          const fresh = u === undefined ? since : u - 1n;
          if (fresh >= since) {
            timestamp = fresh;
            break;
          }
          // Nothing complete at or beyond the since yet: wait for the inputs to move.
          if (Date.now() > deadline) throw new UpperWaitTimeout(req.object, since, timeoutMs);
          await sleep(20);
        }
      }
      const rows = await compute.peek(index.clusterId, {
        target: index.id,
        ...(targetReplica === undefined ? {} : { targetReplica }),
        timestamp,
        timeoutMs: Math.max(1, deadline - Date.now()),
        ...(req.mapFilterProject === undefined ? {} : { mapFilterProject: req.mapFilterProject }),
        ...(req.finishing === undefined ? {} : { finishing: req.finishing }),
        ...(req.literalConstraints === undefined
          ? {}
          : { literalConstraints: req.literalConstraints }),
      });
      return { rows, timestamp };
    },

    async *subscribe(req) {
      if (closed) throw new EnvironmentClosed();
      const { byName, byId } = await objects();
      const object = byName.get(req.object);
      if (object === undefined) throw new UnknownObject("object", req.object);
      // Read the durable collection: the object itself, or the one an index is on.
      const base = object.kind === "index" ? byId.get(object.on ?? "") : object;
      if (base === undefined || (base.kind !== "subsource" && base.kind !== "materializedView")) {
        throw new InvalidObjectRequest(
          "object",
          `${req.object} is ${objectKindPhrase(object.kind)}; subscribe to a subsource, materialized view or index`,
        );
      }
      const since = sinceOf(base);
      let asOf: Timestamp;
      if (req.asOf !== undefined) asOf = req.asOf;
      else {
        const u = boundingUpper(base, byId);
        asOf = u === undefined || u === 0n ? 0n : u - 1n;
        if (since !== null && asOf < since) asOf = since;
      }
      if (since === null || asOf < since) throw new PeekBelowSince(req.object, asOf, since);
      const id = `t${++transientIds}`;
      const hold = readHolds.has(base.id) ? readHolds.acquire(base.id, asOf) : undefined;
      try {
        const batches = compute.subscribe(base.clusterId, {
          debugName: `subscribe-${req.object}`,
          sourceImports: [sourceImport(base)],
          indexImports: [],
          objectsToBuild: [{ id, plan: { kind: "get", id: base.id, arity: base.arity } }],
          indexExports: [],
          sinkExports: [{ id, fromId: id, connection: { kind: "subscribe" } }],
          asOf,
          until: req.upTo ?? null,
        });
        for await (const batch of batches) {
          const done = batch.upper === null || (req.upTo !== undefined && batch.upper >= req.upTo);
          const updates = batch.updates.filter(([, , diff]) => diff !== 0);
          // Emitted times are final: the shard may compact up to the subscribe's progress.
          if (batch.upper !== null && batch.upper > 0n) hold?.downgrade(batch.upper - 1n);
          yield { updates, upper: done ? null : batch.upper };
          if (done) return;
        }
      } finally {
        hold?.release();
      }
    },

    async status(req) {
      const clusters = await clustersFor(req.cluster);
      const { byId } = await objects();
      const reps = await catalog.listReplicas();
      const now = BigInt(Date.now());
      const out: ClusterStatus[] = [];
      for (const c of clusters) {
        const collections: CollectionStatus[] = [];
        for (const r of byId.values()) {
          if (r.clusterId !== c.id || r.kind === "source") continue;
          const write = upperOf(r);
          if (write === undefined) continue;
          const since = sinceOf(r);
          const lag =
            write === null || write === 0n
              ? undefined
              : now - (write - 1n) > 0n
                ? now - (write - 1n)
                : 0n;
          collections.push({
            id: r.id,
            name: r.name,
            writeFrontier: write,
            since,
            ...(lag === undefined ? {} : { lagMs: Number(lag) }),
          });
        }
        collections.sort((a, b) => (a.name < b.name ? -1 : 1));
        out.push({
          id: c.id,
          name: c.name,
          replicas: reps
            .filter((r) => r.clusterId === c.id)
            .sort((a, b) => (a.name < b.name ? -1 : 1))
            .map((r) => ({ id: r.id, name: r.name, size: r.workers, ...healthOf(c.id, r.id) })),
          collections,
          flags: await flagStates(c.id),
        });
      }
      return { clusters: out };
    },

    async getFlags(req) {
      const clusters = await clustersFor(req.cluster);
      return {
        clusters: await Promise.all(
          clusters.map(async (c) => ({ cluster: c.name, flags: await flagStates(c.id) })),
        ),
      };
    },

    replicaPids() {
      return new Map([...replicas].map(([id, r]) => [id, r.pid]));
    },

    collectOrphanShards: () => serial(collectOrphanShards),

    async close(options = {}) {
      if (closed) return;
      await chain;
      closed = true;
      clearInterval(upkeepTimer);
      clearInterval(fenceTimer);
      clearInterval(gcTimer);
      clearTimeout(gcFirst);
      await upkeep;
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

  /**
   * A replica's health: the orchestrator's view of the process, and — while the process runs —
   * the compute controller's view of the connection, which is what notices a replica that stopped
   * answering (its PING probe) although its process is alive.
   */
  function healthOf(
    clusterId: GlobalId,
    replicaId: string,
  ): { health: ReplicaHealth; reason: string } {
    const rt = replicas.get(replicaId);
    if (rt === undefined) return { health: "offline", reason: "not started by this environmentd" };
    if (rt.health !== "online") return { health: rt.health, reason: rt.reason };
    let task: ReturnType<ComputeController["replicas"]>[number] | undefined;
    try {
      task = compute.replicas(clusterId).find((x) => x.replicaId === replicaId);
    } catch {
      task = undefined;
    }
    if (task === undefined || task.state === "connected") return { health: "online", reason: "" };
    return {
      health: "offline",
      reason: task.lastError ?? "connecting to the replica's compute endpoint",
    };
  }

  async function detachReplica(clusterId: GlobalId, replicaId: string): Promise<void> {
    replicas.delete(replicaId);
    await compute.dropReplica(clusterId, replicaId).catch(() => undefined);
    await storage.dropReplica(clusterId, replicaId).catch(() => undefined);
    await orchestrator.dropReplica(replicaId).catch(() => undefined);
  }

  fenceTimer = setInterval(() => {
    catalog.generation().then(
      (current) => {
        if (current > generation) fencedBy(current);
      },
      () => undefined, // the catalog is unavailable: the next write will say so
    );
  }, opts.fenceCheckMs ?? 2000);
  fenceTimer.unref();
  return env;
}

function collectGets(plan: Plan, out: Set<GlobalId>): void {
  if (plan.kind === "get") {
    out.add(plan.id);
    return;
  }
  for (const child of planChildren(plan)) collectGets(child, out);
}

function planChildren(plan: Plan): readonly Plan[] {
  const p = plan as { input?: Plan; inputs?: readonly Plan[] };
  if (p.inputs !== undefined) return p.inputs;
  if (p.input !== undefined) return [p.input];
  return [];
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
