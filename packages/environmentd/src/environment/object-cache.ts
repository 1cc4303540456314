/**
 * The resolved-object cache: the catalog's objects as `objects.ts` resolves them, read once and
 * then kept current by applying each catalog write's own result — a DDL costs the objects it
 * creates or drops, not a re-read and re-resolve of the whole catalog (creating N indexes was
 * O(N²): every create re-resolved every object).
 *
 * ## Invariants
 * - Every catalog write of this environmentd goes through `track(catalog)` (the environment
 *   hands out only the tracked catalog). A write that succeeded is applied to the cached value
 *   (`applyWrite`); a write that failed — refused, fenced (`StaleGeneration`) or of unknown
 *   outcome (`CatalogUnavailable`) — drops the cache, so the next `get()` reads the catalog.
 * - The cached value equals `resolveObjects(catalog.snapshot())` after every write (the tests
 *   compare them after random create/drop sequences). Items keep the catalog's dependency order:
 *   a created item has the largest id and its dependencies already exist, so it goes last, as a
 *   fresh snapshot orders it.
 * - A value handed out is never changed: a write builds new maps and arrays (copy on write,
 *   O(objects) map copies, no decoding or resolving), so a reader holding an older value sees
 *   one consistent catalog state.
 * - A write while a read is in flight drops that read's result for the cache (it may or may not
 *   include the write; its callers, which asked before the write finished, still get it). A
 *   failed read is not cached.
 * - A newer generation's writes fence this environmentd (its own writes fail with
 *   `StaleGeneration`); the cache does not see them, as before.
 *
 * ## Flow
 * `get()` → (cached or) `catalog.snapshot()` → `resolveObjects` ; a tracked write →
 * `applyWrite(value, write)` → the new cached value.
 */
import { ReplicaId } from "@mzts/repr";
import type {
  Catalog,
  CatalogItem,
  CatalogObject,
  Cluster,
  ClusterReplica,
} from "../catalog/catalog.js";
import { type ResolvedObjects, resolveItem, resolveObjects } from "./objects.js";

/** What one successful catalog write did. */
export type CatalogWrite =
  | { readonly kind: "created"; readonly object: CatalogObject }
  | { readonly kind: "dropped"; readonly objects: readonly CatalogObject[] }
  | {
      readonly kind: "replaced";
      readonly retired: ClusterReplica;
      readonly successor: ClusterReplica;
    };

/** The resolved objects, kept current by the tracked catalog's writes (see the file comment). */
export class ObjectCache {
  readonly #catalog: Catalog;
  #cached: Promise<ResolvedObjects> | undefined;
  /** The settled value of `#cached` (undefined while a read is in flight). */
  #value: ResolvedObjects | undefined;

  /** `catalog`: where `get()` reads; writes must go through `track(catalog)`. */
  constructor(catalog: Catalog) {
    this.#catalog = catalog;
  }

  get(): Promise<ResolvedObjects> {
    if (this.#cached === undefined) {
      const read = this.#catalog.snapshot().then(resolveObjects);
      this.#cached = read;
      read.then(
        (v) => {
          if (this.#cached === read) this.#value = v;
        },
        () => {
          if (this.#cached === read) this.#cached = undefined;
        },
      );
    }
    return this.#cached;
  }

  /** Drops the cache: the next `get()` reads the catalog. */
  invalidate(): void {
    this.#cached = undefined;
    this.#value = undefined;
  }

  /** Applies a successful write (or drops the cache while a read is in flight or none was made). */
  applied(write: CatalogWrite): void {
    if (this.#value === undefined) {
      this.invalidate();
      return;
    }
    const next = applyWrite(this.#value, write);
    this.#value = next;
    this.#cached = Promise.resolve(next);
  }

  /**
   * `catalog` with every write reported to this cache: applied when it succeeded, the cache
   * dropped when it failed. Reads pass through.
   */
  track(catalog: Catalog): Catalog {
    const write = async <T>(f: () => Promise<T>, change: (r: T) => CatalogWrite): Promise<T> => {
      let r: T;
      try {
        r = await f();
      } catch (e) {
        this.invalidate();
        throw e;
      }
      this.applied(change(r));
      return r;
    };
    const created = (object: CatalogObject): CatalogWrite => ({ kind: "created", object });
    const dropped = (objects: readonly CatalogObject[]): CatalogWrite => ({
      kind: "dropped",
      objects,
    });
    return {
      location: catalog.location,
      boot: () => catalog.boot(),
      generation: () => catalog.generation(),
      createCluster: (g, input) => write(() => catalog.createCluster(g, input), created),
      createReplica: (g, input) => write(() => catalog.createReplica(g, input), created),
      createSource: (g, input) => write(() => catalog.createSource(g, input), created),
      createIndex: (g, input) => write(() => catalog.createIndex(g, input), created),
      createMaterializedView: (g, input) =>
        write(() => catalog.createMaterializedView(g, input), created),
      dropCluster: (g, name, options) =>
        write(() => catalog.dropCluster(g, name, options), dropped),
      dropReplica: (g, cluster, name) =>
        write(
          () => catalog.dropReplica(g, cluster, name),
          (r) => dropped([r]),
        ),
      replaceReplica: async (g, cluster, retired, successor) => {
        // The retired replica's id is not in the result: read it first (under the DDL queue no
        // other write of ours interleaves; a failed lookup is the write's own UnknownObject).
        const old = await catalog.getReplica(cluster, retired).catch((e: unknown) => {
          this.invalidate();
          throw e;
        });
        return write(
          () => catalog.replaceReplica(g, cluster, retired, successor),
          (r) => ({ kind: "replaced", retired: old, successor: r }),
        );
      },
      dropItem: (g, kind, name, options) =>
        write(() => catalog.dropItem(g, kind, name, options), dropped),
      getCluster: (name) => catalog.getCluster(name),
      getReplica: (cluster, name) => catalog.getReplica(cluster, name),
      getItem: (kind, name) => catalog.getItem(kind, name),
      listClusters: () => catalog.listClusters(),
      listReplicas: (cluster) => catalog.listReplicas(cluster),
      listItems: (kind) => catalog.listItems(kind),
      snapshot: () => catalog.snapshot(),
      close: () => catalog.close(),
    };
  }
}

/** `v` after `write` (new maps and arrays; `v` is left as it was). */
export function applyWrite(v: ResolvedObjects, write: CatalogWrite): ResolvedObjects {
  const byName = new Map(v.byName);
  const byId = new Map(v.byId);
  let { items, clusters, replicas } = v;
  const byIdOrder = <T extends CatalogObject>(xs: readonly T[]) =>
    [...xs].sort((a, b) => ReplicaId.compare(a.id, b.id));
  const remove = (objects: readonly CatalogObject[]) => {
    const gone = new Set(objects.map((o) => o.id));
    if (objects.some((o) => o.kind === "cluster"))
      clusters = clusters.filter((c) => !gone.has(c.id));
    if (objects.some((o) => o.kind === "replica"))
      replicas = replicas.filter((r) => !gone.has(r.id));
    if (!objects.some(isItem)) return;
    items = items.filter((i) => !gone.has(i.id));
    for (const o of objects.filter(isItem)) {
      for (const id of o.kind === "source" ? [o.id, ...o.exports.map((e) => e.id)] : [o.id]) {
        const r = byId.get(id);
        byId.delete(id);
        if (r !== undefined && byName.get(r.name) === r) byName.delete(r.name);
      }
    }
  };
  const add = (o: CatalogObject) => {
    if (o.kind === "cluster") clusters = byIdOrder<Cluster>([...clusters, o]);
    else if (o.kind === "replica") replicas = byIdOrder<ClusterReplica>([...replicas, o]);
    else {
      items = [...items, o];
      for (const r of resolveItem(o, byId)) {
        byName.set(r.name, r);
        byId.set(r.id, r);
      }
    }
  };
  if (write.kind === "created") add(write.object);
  else if (write.kind === "dropped") remove(write.objects);
  else {
    remove([write.retired, write.successor]);
    add(write.successor);
  }
  return { byName, byId, items, clusters, replicas };
}

function isItem(o: CatalogObject): o is CatalogItem {
  return o.kind === "source" || o.kind === "index" || o.kind === "materialized-view";
}
