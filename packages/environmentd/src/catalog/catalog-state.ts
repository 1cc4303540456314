/**
 * `CatalogState`: the catalog's contents inside one store transaction, with the rules of every
 * mutation (name uniqueness, dependencies, cascades, id allocation) and the stored row format.
 *
 * Both backends run the same flow, so the rules live here once:
 * 1. begin a transaction holding the write lock; read `(generation, next_id)` and check the
 *    caller's generation (`checkGeneration`);
 * 2. read every object row into a `CatalogState` (decoding refuses newer format versions);
 * 3. run the mutation, which throws a typed error or records `inserted`, `deleted`, `nextId`;
 * 4. write those changes and commit. A throw at any step rolls the transaction back.
 * Loading every row per mutation is deliberate: a catalog holds hundreds of objects, and DDL is
 * rare, so simplicity beats incremental queries.
 *
 * ## Stored row format
 * `(id, kind, name, scope, format_version, body)`: `scope` is `""` for clusters and items and the
 * cluster id for replicas, so `UNIQUE(namespace, scope, name)` backs up the name rules; `body`
 * is the JSON of the kind's remaining fields (`createdGeneration` as a decimal string). A row
 * whose `format_version` exceeds `CATALOG_OBJECT_FORMAT_VERSION` is refused with
 * `UnsupportedFormatVersion` and never rewritten.
 */
import { randomUUID } from "node:crypto";
import { ReplicaId } from "@mzts/repr";
import type {
  CatalogItem,
  CatalogObject,
  CatalogSnapshot,
  CatalogSourceExport,
  Cluster,
  ClusterOptions,
  ClusterReplica,
  CreateClusterInput,
  CreateIndexInput,
  CreateMaterializedViewInput,
  CreateReplicaInput,
  CreateSourceInput,
  Generation,
  Index,
  ItemKind,
  JsonValue,
  MaterializedView,
  ReplicaSlot,
  Source,
} from "./catalog.js";
import {
  CorruptCatalog,
  DependencyExists,
  GenerationNotBooted,
  InvalidCatalogInput,
  NameInUse,
  StaleGeneration,
  UnknownObject,
  UnsupportedFormatVersion,
} from "./errors.js";

/** The format version written to every object row. */
export const CATALOG_OBJECT_FORMAT_VERSION = 1;

/** Which names collide: clusters with clusters, replicas within a cluster, items with items. */
export type Namespace = "cluster" | "replica" | "item";

/** One object row as stored. @internal */
export interface StoredObjectRow {
  readonly id: string;
  readonly kind: string;
  readonly namespace: string;
  readonly scope: string;
  readonly name: string;
  readonly formatVersion: number;
  readonly body: string;
}

/**
 * Refuses a mutation from any generation but the current one.
 * @throws StaleGeneration (older: fenced), GenerationNotBooted (0 or newer: a caller bug)
 */
export function checkGeneration(
  operation: string,
  generation: Generation,
  current: Generation,
): void {
  // Generation 0 is "never booted": the catalog starts there and the first boot returns 1.
  if (generation < 1n || generation > current) {
    throw new GenerationNotBooted(generation, current, operation);
  }
  if (generation < current) throw StaleGeneration.catalog(generation, current, operation);
}

const MAX_NAME = 255;
const ITEM_KINDS: readonly string[] = ["source", "index", "materialized-view"];

/** The catalog inside one transaction. @internal */
export class CatalogState {
  /** The stored generation (read under the write lock for mutations). */
  readonly generation: Generation;
  /** The next user id to allocate; advanced by creates, written back at commit. */
  nextId: bigint;
  /** Every object by id; updated in place by mutations. */
  readonly #objects = new Map<string, CatalogObject>();
  /** Rows to insert at commit (objects created by this transaction). */
  readonly inserted: StoredObjectRow[] = [];
  /** Ids to delete at commit. */
  readonly deleted: string[] = [];

  /**
   * From the stored rows (decoded here), or from objects decoded before (`objects`, e.g. a
   * store's copy of what it last read or committed: copied, never changed).
   * @throws UnsupportedFormatVersion, CorruptCatalog
   */
  constructor(
    generation: Generation,
    nextId: bigint,
    rows: readonly StoredObjectRow[] | ReadonlyMap<string, CatalogObject>,
  ) {
    this.generation = generation;
    this.nextId = nextId;
    if (rows instanceof Map) for (const [id, o] of rows) this.#objects.set(id, o);
    else
      for (const row of rows as readonly StoredObjectRow[])
        this.#objects.set(row.id, decodeRow(row));
  }

  /** Every object by id as of now (after this transaction's mutations); a copy. */
  objects(): Map<string, CatalogObject> {
    return new Map(this.#objects);
  }

  // ---- reads ----

  clusters(): Cluster[] {
    return this.#sorted().filter((o): o is Cluster => o.kind === "cluster");
  }

  /** @throws UnknownObject */
  replicas(cluster?: string): ClusterReplica[] {
    const clusterId = cluster === undefined ? undefined : this.getCluster(cluster).id;
    return this.#sorted().filter(
      (o): o is ClusterReplica =>
        o.kind === "replica" && (clusterId === undefined || o.clusterId === clusterId),
    );
  }

  /** Items in dependency order (each after everything it depends on; ties by id). */
  items(kind?: ItemKind): CatalogItem[] {
    const items = this.#sorted().filter((o): o is CatalogItem => isItem(o));
    const owner = new Map<string, CatalogItem>();
    for (const item of items) {
      owner.set(item.id, item);
      if (item.kind === "source") for (const e of item.exports) owner.set(e.id, item);
    }
    const out: CatalogItem[] = [];
    const done = new Set<string>();
    const visit = (item: CatalogItem) => {
      if (done.has(item.id)) return;
      done.add(item.id);
      if (item.kind !== "source") {
        for (const dep of item.dependsOn) {
          const d = owner.get(dep);
          if (d !== undefined) visit(d);
        }
      }
      out.push(item);
    };
    for (const item of items) visit(item);
    return kind === undefined ? out : out.filter((i) => i.kind === kind);
  }

  /** @throws UnknownObject */
  getCluster(name: string): Cluster {
    const c = this.#find((o) => o.kind === "cluster" && o.name === name);
    if (c === undefined) throw new UnknownObject("cluster", name);
    return c as Cluster;
  }

  /** @throws UnknownObject */
  getReplica(cluster: string, name: string): ClusterReplica {
    const clusterId = this.getCluster(cluster).id;
    const r = this.#find(
      (o) => o.kind === "replica" && o.clusterId === clusterId && o.name === name,
    );
    if (r === undefined) throw new UnknownObject("replica", name, cluster);
    return r as ClusterReplica;
  }

  /** @throws UnknownObject */
  getItem<K extends ItemKind>(kind: K, name: string): Extract<CatalogItem, { kind: K }> {
    const item = this.#find((o) => o.kind === kind && o.name === name);
    if (item === undefined) throw new UnknownObject(kind, name);
    return item as Extract<CatalogItem, { kind: K }>;
  }

  snapshot(): CatalogSnapshot {
    return {
      generation: this.generation,
      clusters: this.clusters(),
      replicas: this.replicas(),
      items: this.items(),
    };
  }

  // ---- mutations (the caller has checked the generation) ----

  /** @throws NameInUse, InvalidCatalogInput */
  createCluster(input: CreateClusterInput): Cluster {
    const op = "createCluster";
    const name = checkName(op, input.name);
    const options = checkJson(op, "options", input.options ?? {});
    if (options === null || typeof options !== "object" || Array.isArray(options)) {
      throw new InvalidCatalogInput(op, "options", "must be a JSON object");
    }
    this.#checkFree("cluster", "cluster", "", name);
    return this.#insert<Cluster>({
      kind: "cluster",
      id: this.#allocate(),
      name,
      createdGeneration: this.generation,
      options: options as ClusterOptions,
    });
  }

  /** @throws UnknownObject, NameInUse, InvalidCatalogInput */
  createReplica(input: CreateReplicaInput): ClusterReplica {
    const op = "createReplica";
    const name = checkName(op, input.name);
    if (!Number.isSafeInteger(input.workers) || input.workers < 1) {
      throw new InvalidCatalogInput(op, "workers", `must be an integer ≥ 1, got ${input.workers}`);
    }
    for (const field of ["slot", "tieSlot"] as const) {
      const v = input[field];
      if (v !== undefined && !isSlot(v)) {
        throw new InvalidCatalogInput(
          op,
          field,
          `must be "legacy" or "unified", got ${JSON.stringify(v)}`,
        );
      }
    }
    const cluster = this.getCluster(input.cluster);
    this.#checkFree("replica", "replica", cluster.id, name);
    const slots = this.replicas(cluster.name).map((r) => r.slot);
    return this.#insert<ClusterReplica>({
      kind: "replica",
      id: this.#allocate(),
      name,
      createdGeneration: this.generation,
      clusterId: cluster.id,
      workers: input.workers,
      slot: input.slot ?? balancedSlot(slots, input.tieSlot ?? "legacy"),
    });
  }

  /** @throws UnknownObject, NameInUse, InvalidCatalogInput */
  createSource(input: CreateSourceInput): Source {
    const op = "createSource";
    const name = checkName(op, input.name);
    const spec = checkJson(op, "spec", input.spec);
    if (!Array.isArray(input.exports) || input.exports.length === 0) {
      throw new InvalidCatalogInput(op, "exports", "must list at least one export");
    }
    const exportNames = new Set<string>();
    for (const [i, e] of input.exports.entries()) {
      checkName(op, e.name, `exports[${i}].name`, true);
      if (exportNames.has(e.name)) {
        throw new InvalidCatalogInput(
          op,
          `exports[${i}].name`,
          `repeats ${JSON.stringify(e.name)}`,
        );
      }
      exportNames.add(e.name);
      if (!Number.isSafeInteger(e.outputIndex) || e.outputIndex < 0) {
        throw new InvalidCatalogInput(op, `exports[${i}].outputIndex`, "must be an integer ≥ 0");
      }
    }
    const cluster = this.getCluster(input.cluster);
    this.#checkFree("source", "item", "", name);
    const id = this.#allocate();
    const exports: CatalogSourceExport[] = input.exports.map((e) => ({
      id: this.#allocate(),
      name: e.name,
      outputIndex: e.outputIndex,
      shardId: newShardId(),
    }));
    return this.#insert<Source>({
      kind: "source",
      id,
      name,
      createdGeneration: this.generation,
      clusterId: cluster.id,
      spec,
      exports,
    });
  }

  /** @throws UnknownObject, NameInUse, InvalidCatalogInput */
  createIndex(input: CreateIndexInput): Index {
    const op = "createIndex";
    const name = checkName(op, input.name);
    checkDefinition(op, input.definition);
    if (!Array.isArray(input.key) || !input.key.every((k) => Number.isSafeInteger(k) && k >= 0)) {
      throw new InvalidCatalogInput(op, "key", "must be an array of column indexes (integers ≥ 0)");
    }
    const dependsOn = this.#checkDependencies(op, input.dependsOn);
    const cluster = this.getCluster(input.cluster);
    this.#checkFree("index", "item", "", name);
    return this.#insert<Index>({
      kind: "index",
      id: this.#allocate(),
      name,
      createdGeneration: this.generation,
      clusterId: cluster.id,
      definition: input.definition,
      key: [...input.key],
      dependsOn,
    });
  }

  /** @throws UnknownObject, NameInUse, InvalidCatalogInput */
  createMaterializedView(input: CreateMaterializedViewInput): MaterializedView {
    const op = "createMaterializedView";
    const name = checkName(op, input.name);
    checkDefinition(op, input.definition);
    const dependsOn = this.#checkDependencies(op, input.dependsOn);
    const cluster = this.getCluster(input.cluster);
    this.#checkFree("materialized-view", "item", "", name);
    return this.#insert<MaterializedView>({
      kind: "materialized-view",
      id: this.#allocate(),
      name,
      createdGeneration: this.generation,
      clusterId: cluster.id,
      definition: input.definition,
      shardId: newShardId(),
      dependsOn,
    });
  }

  /** @throws UnknownObject, DependencyExists */
  dropCluster(name: string, cascade: boolean): CatalogObject[] {
    return this.#drop(this.getCluster(name), cascade);
  }

  /** @throws UnknownObject */
  dropReplica(cluster: string, name: string): ClusterReplica {
    const replica = this.getReplica(cluster, name);
    this.#delete(replica.id);
    return replica;
  }

  /** Drops `retired`, and `successor` takes its name. @throws UnknownObject, InvalidCatalogInput */
  replaceReplica(cluster: string, retired: string, successor: string): ClusterReplica {
    const old = this.getReplica(cluster, retired);
    const next = this.getReplica(cluster, successor);
    if (old.id === next.id) {
      throw new InvalidCatalogInput("replaceReplica", "successor", "must name another replica");
    }
    this.#delete(old.id);
    this.#delete(next.id);
    return this.#insert<ClusterReplica>({ ...next, name: old.name });
  }

  /** @throws UnknownObject, DependencyExists */
  dropItem(kind: ItemKind, name: string, cascade: boolean): CatalogItem[] {
    if (!ITEM_KINDS.includes(kind)) throw new UnknownObject("object", String(kind));
    return this.#drop(this.getItem(kind, name), cascade) as CatalogItem[];
  }

  // ---- helpers ----

  /** Objects in numeric id order. */
  #sorted(): CatalogObject[] {
    return [...this.#objects.values()].sort((a, b) => ReplicaId.compare(a.id, b.id));
  }

  #find(p: (o: CatalogObject) => boolean): CatalogObject | undefined {
    for (const o of this.#objects.values()) if (p(o)) return o;
    return undefined;
  }

  #allocate(): string {
    const id = `u${this.nextId}`;
    this.nextId += 1n;
    return id;
  }

  #insert<T extends CatalogObject>(object: T): T {
    this.#objects.set(object.id, object);
    this.inserted.push(encodeRow(object));
    return object;
  }

  #delete(id: string): void {
    this.#objects.delete(id);
    const i = this.inserted.findIndex((r) => r.id === id);
    if (i >= 0) this.inserted.splice(i, 1);
    else this.deleted.push(id);
  }

  /** @throws NameInUse */
  #checkFree(kind: CatalogObject["kind"], ns: Namespace, scope: string, name: string): void {
    const existing = this.#find(
      (o) => namespaceOf(o) === ns && scopeOf(o) === scope && o.name === name,
    );
    if (existing !== undefined) throw new NameInUse(kind, name, existing.kind, existing.id);
  }

  /** Every dependency must be an existing item or source export. @throws UnknownObject, InvalidCatalogInput */
  #checkDependencies(op: string, dependsOn: readonly string[]): string[] {
    if (!Array.isArray(dependsOn) || !dependsOn.every((d) => typeof d === "string")) {
      throw new InvalidCatalogInput(op, "dependsOn", "must be an array of ids");
    }
    const known = new Set<string>();
    for (const o of this.#objects.values()) {
      if (!isItem(o)) continue;
      known.add(o.id);
      if (o.kind === "source") for (const e of o.exports) known.add(e.id);
    }
    for (const d of dependsOn) if (!known.has(d)) throw new UnknownObject("object", d);
    return [...new Set(dependsOn)];
  }

  /** The objects that depend directly on `o` (replicas are part of a cluster, not dependents). */
  #dependents(o: CatalogObject): CatalogItem[] {
    const out: CatalogItem[] = [];
    if (o.kind === "replica") return out;
    const ids = new Set([o.id]);
    if (o.kind === "source") for (const e of o.exports) ids.add(e.id);
    for (const x of this.#sorted()) {
      if (!isItem(x) || x.id === o.id) continue;
      if (o.kind === "cluster" ? x.clusterId === o.id : dependsOnAny(x, ids)) out.push(x);
    }
    return out;
  }

  /** @throws DependencyExists */
  #drop(target: CatalogObject, cascade: boolean): CatalogObject[] {
    const direct = this.#dependents(target);
    if (direct.length > 0 && !cascade) {
      throw new DependencyExists(
        target.kind,
        target.name,
        direct.map((d) => ({ kind: d.kind, id: d.id, name: d.name })),
      );
    }
    const order: CatalogObject[] = [];
    const seen = new Set<string>();
    const visit = (o: CatalogObject) => {
      if (seen.has(o.id)) return;
      seen.add(o.id);
      for (const d of this.#dependents(o)) visit(d);
      if (o.kind === "cluster") {
        for (const r of this.replicas(o.name)) {
          seen.add(r.id);
          order.push(r);
        }
      }
      order.push(o);
    };
    visit(target);
    for (const o of order) this.#delete(o.id);
    return order;
  }
}

function isItem(o: CatalogObject): o is CatalogItem {
  return o.kind === "source" || o.kind === "index" || o.kind === "materialized-view";
}

/** Whether `v` is a replica slot. */
export function isSlot(v: unknown): v is ReplicaSlot {
  return v === "legacy" || v === "unified";
}

/**
 * The slot a new replica of a cluster whose replicas have `slots` takes: the one fewer have, a
 * tie going to `tie` (so replicas alternate by creation order, the first taking `tie`).
 */
export function balancedSlot(slots: readonly ReplicaSlot[], tie: ReplicaSlot): ReplicaSlot {
  const legacy = slots.filter((s) => s === "legacy").length;
  const unified = slots.length - legacy;
  return legacy === unified ? tie : legacy < unified ? "legacy" : "unified";
}

function dependsOnAny(item: CatalogItem, ids: ReadonlySet<string>): boolean {
  return item.kind !== "source" && item.dependsOn.some((d) => ids.has(d));
}

function namespaceOf(o: CatalogObject): Namespace {
  return o.kind === "cluster" ? "cluster" : o.kind === "replica" ? "replica" : "item";
}

function scopeOf(o: CatalogObject): string {
  return o.kind === "replica" ? o.clusterId : "";
}

/** A persist shard id, as Materialize spells them (`s` + a UUID). */
function newShardId(): string {
  return `s${randomUUID()}`;
}

/** @throws InvalidCatalogInput */
function checkName(op: string, name: unknown, field = "name", allowEmpty = false): string {
  if (typeof name !== "string" || (!allowEmpty && name.length === 0) || name.length > MAX_NAME) {
    throw new InvalidCatalogInput(
      op,
      field,
      `must be a${allowEmpty ? "" : " non-empty"} string of at most ${MAX_NAME} characters, ` +
        `got ${JSON.stringify(name)}`,
    );
  }
  return name;
}

/** @throws InvalidCatalogInput */
function checkJson(op: string, field: string, value: unknown): JsonValue {
  let text: string | undefined;
  try {
    text = JSON.stringify(value);
  } catch (e) {
    throw new InvalidCatalogInput(op, field, `is not JSON (${(e as Error).message})`);
  }
  if (text === undefined) throw new InvalidCatalogInput(op, field, "is not a JSON value");
  const back = JSON.parse(text) as JsonValue;
  if (!jsonEqual(back, value)) {
    throw new InvalidCatalogInput(
      op,
      field,
      "does not survive JSON (undefined, NaN or a class instance inside?); encode it as " +
        "protobuf JSON first (int64 as strings)",
    );
  }
  return back;
}

function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (!Array.isArray(b) && Object.getPrototypeOf(b) !== Object.prototype) return false;
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  if (ka.length !== kb.length) return false;
  return ka.every(
    (k) =>
      Object.hasOwn(b, k) &&
      jsonEqual((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]),
  );
}

/** @throws InvalidCatalogInput */
function checkDefinition(op: string, definition: unknown): void {
  if (typeof definition !== "string") {
    throw new InvalidCatalogInput(op, "definition", "must be the plan's protobuf JSON text");
  }
  try {
    JSON.parse(definition);
  } catch {
    throw new InvalidCatalogInput(op, "definition", "is not valid JSON text");
  }
}

// ---- row encoding ----

/** @internal */
export function encodeRow(o: CatalogObject): StoredObjectRow {
  const { id, kind, name, createdGeneration, ...rest } = o;
  return {
    id,
    kind,
    namespace: namespaceOf(o),
    scope: scopeOf(o),
    name,
    formatVersion: CATALOG_OBJECT_FORMAT_VERSION,
    body: JSON.stringify({ ...rest, createdGeneration: createdGeneration.toString() }),
  };
}

/** @throws UnsupportedFormatVersion, CorruptCatalog */
export function decodeRow(row: StoredObjectRow): CatalogObject {
  if (row.formatVersion > CATALOG_OBJECT_FORMAT_VERSION) {
    throw new UnsupportedFormatVersion(
      `object ${row.id}`,
      "catalog object",
      row.formatVersion,
      CATALOG_OBJECT_FORMAT_VERSION,
    );
  }
  const corrupt = (reason: string) => new CorruptCatalog(row.id, reason);
  let body: Record<string, unknown>;
  try {
    body = JSON.parse(row.body) as Record<string, unknown>;
  } catch {
    throw corrupt("its body is not JSON");
  }
  if (body === null || typeof body !== "object") throw corrupt("its body is not an object");
  const str = (k: string): string => {
    const v = body[k];
    if (typeof v !== "string") throw corrupt(`${k} is not a string`);
    return v;
  };
  const int = (k: string, v: unknown = body[k]): number => {
    if (!Number.isSafeInteger(v)) throw corrupt(`${k} is not an integer`);
    return v as number;
  };
  const ids = (k: string): string[] => {
    const v = body[k];
    if (!Array.isArray(v) || !v.every((x) => typeof x === "string")) {
      throw corrupt(`${k} is not a list of ids`);
    }
    return v as string[];
  };
  let createdGeneration: bigint;
  try {
    createdGeneration = BigInt(str("createdGeneration"));
  } catch (e) {
    if (e instanceof CorruptCatalog) throw e;
    throw corrupt("createdGeneration is not an integer");
  }
  const base = { id: row.id, name: row.name, createdGeneration };
  switch (row.kind) {
    case "cluster": {
      const options = body.options;
      if (options === null || typeof options !== "object" || Array.isArray(options)) {
        throw corrupt("options is not an object");
      }
      return { ...base, kind: "cluster", options: options as ClusterOptions };
    }
    case "replica": {
      const slot = body.slot;
      if (!isSlot(slot))
        throw corrupt(`slot is ${JSON.stringify(slot)}, not "legacy" or "unified"`);
      return {
        ...base,
        kind: "replica",
        clusterId: str("clusterId"),
        workers: int("workers"),
        slot,
      };
    }
    case "source": {
      const exports = body.exports;
      if (!Array.isArray(exports)) throw corrupt("exports is not a list");
      return {
        ...base,
        kind: "source",
        clusterId: str("clusterId"),
        spec: (body.spec ?? null) as JsonValue,
        exports: exports.map((e: Record<string, unknown>) => {
          if (typeof e?.id !== "string" || typeof e.name !== "string") {
            throw corrupt("an export lacks its id or name");
          }
          if (typeof e.shardId !== "string") throw corrupt("an export lacks its shard id");
          return {
            id: e.id,
            name: e.name,
            outputIndex: int("outputIndex", e.outputIndex),
            shardId: e.shardId,
          };
        }),
      };
    }
    case "index": {
      const key = body.key;
      if (!Array.isArray(key)) throw corrupt("key is not a list");
      return {
        ...base,
        kind: "index",
        clusterId: str("clusterId"),
        definition: str("definition"),
        key: key.map((k) => int("key", k)),
        dependsOn: ids("dependsOn"),
      };
    }
    case "materialized-view":
      return {
        ...base,
        kind: "materialized-view",
        clusterId: str("clusterId"),
        definition: str("definition"),
        shardId: str("shardId"),
        dependsOn: ids("dependsOn"),
      };
    default:
      throw corrupt(`unknown kind ${JSON.stringify(row.kind)}`);
  }
}
