/**
 * The `Catalog`: environmentd's durable record of clusters, replicas, sources, indexes and
 * materialized views, and of the environment **generation** (design.md §1, §6).
 *
 * ## Invariants
 * - `boot()` increments the generation atomically and returns it; the first boot returns 1.
 *   Two environmentd processes booting concurrently get distinct generations.
 * - **Fencing**: every mutating call carries the caller's generation. The check "caller's
 *   generation = the catalog's generation" and the write run in one transaction that holds the
 *   store's write lock, so once a newer environmentd has booted, every write of an older one
 *   fails with `StaleGeneration` and changes nothing (a zombie cannot overwrite a newer one).
 * - Ids are `u<n>` from one durable counter (never reused, also across generations); persist
 *   shard ids are `s<uuid>`, allocated by the catalog at creation.
 * - Names: clusters are unique; replicas are unique within their cluster; sources, indexes and
 *   materialized views share one namespace.
 * - Every dependency of an object exists when it is created; a drop refuses while dependents
 *   exist (`DependencyExists`) unless `cascade`, which drops them first. A cluster's replicas
 *   belong to it and go with it; the items running on a cluster are dependents.
 * - Reads (`get*`, `list*`, `snapshot`) need no generation and see one consistent state.
 *
 * ## Flow at boot (environmentd's main)
 * 1. `const generation = await catalog.boot()` — from here on, older environmentds are fenced.
 * 2. `const snap = await catalog.snapshot()` — clusters, replicas, then items in dependency
 *    order: exactly the order in which the controllers are rebuilt.
 * 3. Every DDL then calls `create*`/`drop*` with `generation`; a `StaleGeneration` means exit.
 */
import type { GlobalId, ReplicaId } from "@mzts/repr";
import type { CatalogState } from "./catalog-state.js";
import { CatalogClosed } from "./errors.js";

/** The environment generation: incremented at every environmentd boot. */
export type Generation = bigint;

/** A JSON value (what `JSON.parse` returns). */
export type JsonValue =
  | null
  | boolean
  | number
  | string
  | readonly JsonValue[]
  | { readonly [key: string]: JsonValue };

/** Free-form cluster options (e.g. logging configuration), stored as JSON. */
export type ClusterOptions = { readonly [key: string]: JsonValue };

/** Fields every catalog object has. */
interface ObjectBase {
  /** `u<n>`, allocated by the catalog. */
  readonly id: GlobalId;
  readonly name: string;
  /** The generation of the environmentd that created the object. */
  readonly createdGeneration: Generation;
}

/** A named set of replicas. */
export interface Cluster extends ObjectBase {
  readonly kind: "cluster";
  readonly options: ClusterOptions;
}

/**
 * Which path of a migrating phase a replica runs (docs/design/20261207_migration_stages.md):
 * given at creation, kept across restarts, meaningful only while some phase of its cluster is
 * in a middle stage (`PhaseSet.forSlot`).
 */
export type ReplicaSlot = "legacy" | "unified";

/** One replica (one clusterd process) of a cluster. */
export interface ClusterReplica extends ObjectBase {
  readonly kind: "replica";
  readonly id: ReplicaId;
  readonly clusterId: GlobalId;
  /** The replica's size: its number of worker threads (≥ 1). */
  readonly workers: number;
  /** Its migration slot (see `ReplicaSlot`). */
  readonly slot: ReplicaSlot;
}

/** One collection a source writes (a subsource / source export). */
export interface CatalogSourceExport {
  /** `u<n>`, allocated by the catalog. */
  readonly id: GlobalId;
  readonly name: string;
  /** Which output of the source feeds it. */
  readonly outputIndex: number;
  /** The persist shard holding the collection (`s<uuid>`, allocated by the catalog). */
  readonly shardId: string;
}

/** A load-generator source, ingested on a cluster. */
export interface Source extends ObjectBase {
  readonly kind: "source";
  readonly clusterId: GlobalId;
  /** The source's connection in protobuf JSON form (e.g. `IngestionConnection`). */
  readonly spec: JsonValue;
  /** At least one. */
  readonly exports: readonly CatalogSourceExport[];
}

/** An index maintained in a cluster's memory. */
export interface Index extends ObjectBase {
  readonly kind: "index";
  readonly clusterId: GlobalId;
  /** The plan of the indexed collection, in protobuf JSON form, as text. */
  readonly definition: string;
  /** Key columns. */
  readonly key: readonly number[];
  /** Ids of the collections the plan reads (source exports, sources, indexes, views). */
  readonly dependsOn: readonly GlobalId[];
}

/** A materialized view: a plan computed on a cluster and written to a persist shard. */
export interface MaterializedView extends ObjectBase {
  readonly kind: "materialized-view";
  readonly clusterId: GlobalId;
  /** The plan in protobuf JSON form, as text. */
  readonly definition: string;
  /** The persist shard the view is written to (`s<uuid>`, allocated by the catalog). */
  readonly shardId: string;
  readonly dependsOn: readonly GlobalId[];
}

/** Objects that live in the item namespace (and run on a cluster). */
export type CatalogItem = Source | Index | MaterializedView;
export type ItemKind = CatalogItem["kind"];
export type CatalogObject = Cluster | ClusterReplica | CatalogItem;

export interface CreateClusterInput {
  readonly name: string;
  readonly options?: ClusterOptions;
}

export interface CreateReplicaInput {
  /** The cluster's name. */
  readonly cluster: string;
  readonly name: string;
  readonly workers: number;
  /**
   * The replica's slot. Absent: the slot fewer of the cluster's replicas have, ties going to
   * `tieSlot` — so replicas alternate by creation order, the first taking `tieSlot`.
   */
  readonly slot?: ReplicaSlot;
  /** The slot a tie goes to (the authoritative path of the cluster's stage; default `legacy`). */
  readonly tieSlot?: ReplicaSlot;
}

export interface CreateSourceInput {
  readonly name: string;
  /** The cluster's name. */
  readonly cluster: string;
  readonly spec: JsonValue;
  /** The collections the source writes; ids and shard ids are allocated. */
  readonly exports: readonly { readonly name: string; readonly outputIndex: number }[];
}

export interface CreateIndexInput {
  readonly name: string;
  readonly cluster: string;
  /** Protobuf JSON text of the plan. */
  readonly definition: string;
  readonly key: readonly number[];
  readonly dependsOn: readonly GlobalId[];
}

export interface CreateMaterializedViewInput {
  readonly name: string;
  readonly cluster: string;
  /** Protobuf JSON text of the plan. */
  readonly definition: string;
  readonly dependsOn: readonly GlobalId[];
}

export interface DropOptions {
  /** Drop the dependents too (transitively) instead of refusing. */
  readonly cascade?: boolean;
}

/** Everything needed to rebuild the controllers, in dependency order. */
export interface CatalogSnapshot {
  /** The catalog's generation (the newest boot) when the snapshot was taken. */
  readonly generation: Generation;
  /** In id order. */
  readonly clusters: readonly Cluster[];
  /** In id order; every replica's cluster is in `clusters`. */
  readonly replicas: readonly ClusterReplica[];
  /** Sources, indexes and materialized views; each after everything it depends on. */
  readonly items: readonly CatalogItem[];
}

/**
 * The catalog. Mutating calls take the caller's generation first.
 *
 * Every method may also throw `CatalogUnavailable` (the store failed), `CatalogClosed`,
 * `UnsupportedFormatVersion` (an object written by a newer format) and `CorruptCatalog`.
 */
export interface Catalog {
  /** Where the catalog lives (`sqlite:<file>` or `postgres:<host>/<db>/<schema>`), no secrets. */
  readonly location: string;
  /** Increments the generation and returns it (1 at the first boot). */
  boot(): Promise<Generation>;
  /** The newest booted generation (0 before the first boot). */
  generation(): Promise<Generation>;

  /** @throws StaleGeneration, GenerationNotBooted, NameInUse, InvalidCatalogInput */
  createCluster(generation: Generation, input: CreateClusterInput): Promise<Cluster>;
  /** @throws StaleGeneration, GenerationNotBooted, UnknownObject (cluster), NameInUse, InvalidCatalogInput */
  createReplica(generation: Generation, input: CreateReplicaInput): Promise<ClusterReplica>;
  /** @throws StaleGeneration, GenerationNotBooted, UnknownObject (cluster), NameInUse, InvalidCatalogInput */
  createSource(generation: Generation, input: CreateSourceInput): Promise<Source>;
  /** @throws StaleGeneration, GenerationNotBooted, UnknownObject (cluster, dependency), NameInUse, InvalidCatalogInput */
  createIndex(generation: Generation, input: CreateIndexInput): Promise<Index>;
  /** @throws StaleGeneration, GenerationNotBooted, UnknownObject (cluster, dependency), NameInUse, InvalidCatalogInput */
  createMaterializedView(
    generation: Generation,
    input: CreateMaterializedViewInput,
  ): Promise<MaterializedView>;

  /**
   * Drops a cluster with its replicas (and, with `cascade`, everything that runs on it and
   * everything depending on that). Returns the dropped objects, dependents first.
   * @throws StaleGeneration, GenerationNotBooted, UnknownObject, DependencyExists
   */
  dropCluster(
    generation: Generation,
    name: string,
    options?: DropOptions,
  ): Promise<readonly CatalogObject[]>;
  /** @throws StaleGeneration, GenerationNotBooted, UnknownObject */
  dropReplica(generation: Generation, cluster: string, name: string): Promise<ClusterReplica>;
  /**
   * In one transaction: drops replica `retired` of `cluster` and gives replica `successor` (of
   * the same cluster) its name — the last step of rolling a replica onto new phases
   * (`environment/flips/`). Returns the successor as renamed.
   * @throws StaleGeneration, GenerationNotBooted, UnknownObject, InvalidCatalogInput (same replica)
   */
  replaceReplica(
    generation: Generation,
    cluster: string,
    retired: string,
    successor: string,
  ): Promise<ClusterReplica>;
  /**
   * Drops a source, index or materialized view (and, with `cascade`, its dependents).
   * Returns the dropped objects, dependents first.
   * @throws StaleGeneration, GenerationNotBooted, UnknownObject, DependencyExists
   */
  dropItem(
    generation: Generation,
    kind: ItemKind,
    name: string,
    options?: DropOptions,
  ): Promise<readonly CatalogItem[]>;

  /** @throws UnknownObject */
  getCluster(name: string): Promise<Cluster>;
  /** @throws UnknownObject */
  getReplica(cluster: string, name: string): Promise<ClusterReplica>;
  /** @throws UnknownObject (also when the name belongs to an item of another kind) */
  getItem<K extends ItemKind>(kind: K, name: string): Promise<Extract<CatalogItem, { kind: K }>>;
  /** In id order. */
  listClusters(): Promise<readonly Cluster[]>;
  /** In id order; only the named cluster's replicas when given. @throws UnknownObject */
  listReplicas(cluster?: string): Promise<readonly ClusterReplica[]>;
  /** In dependency order; only one kind when given. */
  listItems(kind?: ItemKind): Promise<readonly CatalogItem[]>;
  /** Everything needed to rebuild the controllers, in dependency order. */
  snapshot(): Promise<CatalogSnapshot>;

  /** Closes the store connection; further calls throw `CatalogClosed`. Idempotent. */
  close(): Promise<void>;
}

/**
 * What a storage backend provides: atomic boot, a consistent read, and a fenced read-modify-write
 * transaction over a `CatalogState`. `catalogFromStore` builds the whole `Catalog` API on it.
 * @internal
 */
export interface CatalogStore {
  readonly location: string;
  boot(): Promise<Generation>;
  /**
   * The stored generation alone (the fencing check every few seconds): reads one row, not every
   * object (`read` loads and decodes the whole catalog, ~10 ms at 1,000 indexes).
   */
  generation(): Promise<Generation>;
  /** Runs `f` over one consistent state (no generation check, no writes). */
  read<T>(f: (state: CatalogState) => T): Promise<T>;
  /**
   * In one transaction holding the write lock: checks `generation` against the stored one
   * (`checkGeneration`), runs `f` (which may throw to abort), then writes the state's changes.
   */
  mutate<T>(operation: string, generation: Generation, f: (state: CatalogState) => T): Promise<T>;
  close(): Promise<void>;
}

/**
 * Builds the `Catalog` API over a backend. Calls after `close()` throw `CatalogClosed`.
 * @internal
 */
export function catalogFromStore(store: CatalogStore): Catalog {
  let closed = false;
  const guard = <T>(f: () => Promise<T>): Promise<T> =>
    closed ? Promise.reject(new CatalogClosed(store.location)) : f();
  const read = <T>(f: (s: CatalogState) => T) => guard(() => store.read(f));
  const mutate = <T>(op: string, g: Generation, f: (s: CatalogState) => T) =>
    guard(() => store.mutate(op, g, f));

  return {
    location: store.location,
    boot: () => guard(() => store.boot()),
    generation: () => guard(() => store.generation()),
    createCluster: (g, input) => mutate("createCluster", g, (s) => s.createCluster(input)),
    createReplica: (g, input) => mutate("createReplica", g, (s) => s.createReplica(input)),
    createSource: (g, input) => mutate("createSource", g, (s) => s.createSource(input)),
    createIndex: (g, input) => mutate("createIndex", g, (s) => s.createIndex(input)),
    createMaterializedView: (g, input) =>
      mutate("createMaterializedView", g, (s) => s.createMaterializedView(input)),
    dropCluster: (g, name, options = {}) =>
      mutate("dropCluster", g, (s) => s.dropCluster(name, options.cascade ?? false)),
    dropReplica: (g, cluster, name) =>
      mutate("dropReplica", g, (s) => s.dropReplica(cluster, name)),
    replaceReplica: (g, cluster, retired, successor) =>
      mutate("replaceReplica", g, (s) => s.replaceReplica(cluster, retired, successor)),
    dropItem: (g, kind, name, options = {}) =>
      mutate("dropItem", g, (s) => s.dropItem(kind, name, options.cascade ?? false)),
    getCluster: (name) => read((s) => s.getCluster(name)),
    getReplica: (cluster, name) => read((s) => s.getReplica(cluster, name)),
    getItem: (kind, name) => read((s) => s.getItem(kind, name)),
    listClusters: () => read((s) => s.clusters()),
    listReplicas: (cluster) => read((s) => s.replicas(cluster)),
    listItems: (kind) => read((s) => s.items(kind)),
    snapshot: () => read((s) => s.snapshot()),
    async close() {
      if (closed) return;
      closed = true;
      await store.close();
    },
  };
}
