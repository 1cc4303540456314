/**
 * `PersistedIntrospection`: environmentd's persisted per-replica introspection, wired (phase 2,
 * *logging*): the shards and their collections (`replica-collections.ts`), the targeted
 * subscribes that feed them (`replica-introspection.ts`), and their peeks (`persisted-peek.ts`).
 * `environment.ts` creates it after the rebuild and closes it first.
 *
 * ## Boot (`open`)
 * 1. Open (create) one shard per relation (`persisted-relations.ts`) and register it with the
 *    environment's read holds under its collection id: its since trails its upper by the
 *    compaction window, so persist compacts it (nobody else reads it, and shard GC skips it).
 * 2. Read the uppers; retract the rows of every replica that is not running now (dropped while
 *    environmentd was down, or that could not start); the running ones keep theirs ("carried")
 *    until their first incarnation of this boot connects (a fresh snapshot replaces them), or
 *    fails or has not connected within 30 s (retracted).
 *
 * ## Upkeep (every `tickMs`, and `sync()`)
 * From the resolved catalog (cached until the next DDL): every cluster with logging on
 * (interval > 0) is synced (`ReplicaIntrospection.sync`: follow connected incarnations, end and
 * retract the others); a cluster that was synced before and is gone or has logging off is
 * forgotten (its replicas' rows retracted). A dropped replica leaves the controller, so the next
 * tick retracts its rows; a dropped cluster likewise.
 *
 * ## Fencing
 * A retraction is written only while no newer environmentd booted (the catalog's generation is
 * read right before it; unreadable = not fenced): an older environmentd seeing its replicas fail
 * over to the newer one must not delete the rows the newer one writes for them.
 *
 * ## Metrics
 * `mz_persisted_introspection_writes_total` and `…_updates_total` (by `relation`, `kind` =
 * append | retract), `mz_persisted_introspection_followed_replicas` (incarnations followed).
 *
 * ## Close
 * Stops the timer, ends every subscribe (without retracting: the rows stay for the next boot to
 * judge) and waits for the writes in flight, before the controllers and persist close.
 */
import { CollectionMissing } from "@mzts/controller-unified/state";
import type { PersistClient, Shard } from "@mzts/persist";
import type { EnvironmentPeekResponse, PeekRequest } from "@mzts/protocol";
import type { GlobalId } from "@mzts/repr";
import type { PersistReadHolds } from "@mzts/storage-client";
import type { Logger } from "pino";
import { Counter, Gauge, type Registry } from "prom-client";
import type { Cluster, ClusterReplica } from "../catalog/catalog.js";
import type { Clusters } from "../environment/clusters.js";
import type { FrontierSignal } from "../environment/frontier-signal.js";
import { introspectionIntervalOf, logIndexId } from "./log-indexes.js";
import { peekPersisted } from "./persisted-peek.js";
import { PERSISTED_RELATIONS, type PersistedRelation } from "./persisted-relations.js";
import {
  type PersistedIntrospection as Relation,
  ReplicaIntrospectionCollections,
} from "./replica-collections.js";
import { type IntrospectionController, ReplicaIntrospection } from "./replica-introspection.js";

/** The catalog as the upkeep reads it (`ObjectCache.get()`). */
export interface CatalogView {
  readonly clusters: readonly Cluster[];
  readonly replicas: readonly ClusterReplica[];
}

export interface PersistedIntrospectionOptions {
  readonly persist: PersistClient;
  readonly readHolds: PersistReadHolds;
  /** The clusters' controllers (each replica's targeted log subscribes). */
  readonly clusters: Clusters;
  /** The resolved catalog (cached until the next DDL). */
  readonly catalog: () => Promise<CatalogView>;
  /** Whether a newer environmentd booted (the catalog's generation moved past ours). */
  readonly fenced: () => Promise<boolean>;
  /** The replicas running now (attached to the controllers by the rebuild). */
  readonly running: ReadonlySet<string>;
  /** Transient ids, shared with peeks and subscribes (`TransientIds`). */
  nextId(): GlobalId;
  /** Woken by every write (peeks awaiting a time). */
  readonly signal: FrontierSignal;
  readonly log: Logger;
  readonly registry: Registry;
  /** Upkeep interval (ms); default 250. */
  readonly tickMs?: number;
}

/**
 * The replica subscribes' controller seen through each cluster's `ClusterController`: a
 * subscribe's transient id is dropped on the cluster that runs it.
 */
function introspectionController(clusters: Clusters): IntrospectionController {
  const clusterOf = new Map<GlobalId, string>();
  return {
    replicas: (instanceId) => clusters.findController(instanceId)?.replicas() ?? [],
    subscribe(instanceId, desc, options) {
      const stream = clusters.controllerOf(instanceId, "subscribe").subscribe(desc, options);
      for (const e of desc.sinkExports) clusterOf.set(e.id, instanceId);
      return stream;
    },
    dropCollection(id) {
      const instanceId = clusterOf.get(id);
      clusterOf.delete(id);
      if (instanceId === undefined) throw new CollectionMissing("", id, "drop");
      clusters.findController(instanceId)?.drop(id);
    },
  };
}

/** See the file comment. */
export class PersistedIntrospection {
  readonly #o: PersistedIntrospectionOptions;
  readonly #collections: ReplicaIntrospectionCollections;
  readonly #driver: ReplicaIntrospection;
  /** Interval (ms) of every cluster as last read. */
  readonly #intervals = new Map<GlobalId, number>();
  /** Clusters synced by the last tick. */
  #synced = new Set<GlobalId>();
  readonly #followedGauge: Gauge;
  #timer: NodeJS.Timeout | undefined;
  #ticking: Promise<void> | undefined;
  #closed = false;

  private constructor(
    o: PersistedIntrospectionOptions,
    collections: ReplicaIntrospectionCollections,
    followedGauge: Gauge,
  ) {
    this.#o = o;
    this.#collections = collections;
    this.#followedGauge = followedGauge;
    this.#driver = new ReplicaIntrospection({
      controller: introspectionController(o.clusters),
      collections,
      nextId: () => o.nextId(),
      logIndex: (instanceId, relation) =>
        (this.#intervals.get(instanceId) ?? 0) > 0 ? logIndexId(instanceId, relation) : undefined,
      intervalMs: (instanceId) => this.#intervals.get(instanceId) ?? 0,
      logger: o.log,
    });
  }

  /** Opens the shards and judges the rows carried over (see the file comment). */
  static async open(o: PersistedIntrospectionOptions): Promise<PersistedIntrospection> {
    const shards = new Map<Relation, Shard>();
    for (const r of PERSISTED_RELATIONS) {
      shards.set(r.relation, await o.persist.openShard(r.shardId, { create: true }));
      await o.readHolds.register(r.collectionId, r.shardId);
    }
    const labelNames = ["relation", "kind"] as const;
    const writes = new Counter({
      name: "mz_persisted_introspection_writes_total",
      help: "Writes of environmentd's persisted replica introspection shards, by relation and kind (append, retract)",
      labelNames,
      registers: [o.registry],
    });
    const updates = new Counter({
      name: "mz_persisted_introspection_updates_total",
      help: "Updates written to the persisted replica introspection shards, by relation and kind",
      labelNames,
      registers: [o.registry],
    });
    const followed = new Gauge({
      name: "mz_persisted_introspection_followed_replicas",
      help: "Replica incarnations whose introspection environmentd follows with targeted subscribes",
      registers: [o.registry],
    });
    const collections = new ReplicaIntrospectionCollections({
      shards,
      fenced: o.fenced,
      onWrite: (relation, kind, n) => {
        writes.inc({ relation, kind });
        updates.inc({ relation, kind }, n);
        o.signal.notify();
      },
    });
    await collections.load();
    await collections.retainOnly(o.running);
    const self = new PersistedIntrospection(o, collections, followed);
    const { replicas } = await o.catalog();
    self.#driver.carry(
      replicas.filter((r) => o.running.has(r.id)).map((r) => [r.clusterId, r.id] as const),
    );
    return self;
  }

  /** Starts the upkeep (see the file comment). */
  start(): void {
    const tickMs = this.#o.tickMs ?? 250;
    this.#timer = setInterval(() => void this.sync(), tickMs);
    this.#timer.unref();
    void this.sync();
  }

  /** One upkeep pass (one at a time; failures are logged and retried next tick). */
  sync(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    this.#ticking ??= this.#tick()
      .catch((e: unknown) => this.#o.log.warn({ err: e }, "persisted introspection upkeep failed"))
      .finally(() => {
        this.#ticking = undefined;
      });
    return this.#ticking;
  }

  async #tick(): Promise<void> {
    const { clusters } = await this.#o.catalog();
    if (this.#closed) return;
    const synced = new Set<GlobalId>();
    for (const c of clusters) {
      const interval = introspectionIntervalOf(c);
      this.#intervals.set(c.id, interval);
      if (interval > 0) synced.add(c.id);
    }
    for (const id of this.#synced) if (!synced.has(id)) this.#driver.forget(id);
    for (const id of synced) this.#driver.sync(id);
    this.#synced = synced;
    this.#followedGauge.set(this.#driver.followed);
  }

  /** A peek of a persisted relation (`persisted-peek.ts`). */
  peek(
    req: PeekRequest,
    rel: PersistedRelation,
    catalog: CatalogView,
    timeoutMs: number,
  ): Promise<EnvironmentPeekResponse> {
    return peekPersisted(req, rel, {
      ...catalog,
      collections: this.#collections,
      readHolds: this.#o.readHolds,
      signal: this.#o.signal,
      timeoutMs,
    });
  }

  /** Settles once every retraction issued so far is written (tests). */
  async idle(): Promise<void> {
    await this.#driver.idle();
    await this.#collections.settled();
  }

  /** See the file comment. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#timer);
    await this.#ticking;
    this.#driver.close();
    await this.idle();
  }
}
