/**
 * The collection table of one cluster: compute and storage objects in one map (design.md §9
 * phase 5), each with its kind, per-replica write frontiers, since, read holds and dependants.
 *
 * ## Kinds
 * | kind               | workload | written by                       | shard | answers peeks |
 * | ------------------ | -------- | -------------------------------- | ----- | ------------- |
 * | `ingestion`        | storage  | an ingestion (its own id)        | no    | no            |
 * | `sourceExport`     | storage  | an ingestion (a subsource)       | yes   | no            |
 * | `index`            | compute  | a dataflow's index export        | no    | yes           |
 * | `materializedView` | compute  | a dataflow's persist sink export | yes   | no            |
 *
 * ## Fields and their lifecycle
 * - `write`: the join of the replicas' reported write frontiers (the first replica to advance
 *   wins); starts at the as-of (compute) or the minimum (storage); never moves back.
 * - `replicaWrite`: per replica, the latest write frontier its *current incarnation* reported
 *   (absent: nothing yet). A report below the replica's previous one is ignored. Reset by the
 *   per-workload replica rules (`replica-rules.ts`) when an incarnation ends or starts.
 * - `since`: the meet of `holds` as last published; only advances (`advanceSince`). What the
 *   replicas were allowed to compact to and what a replay rebuilds the collection at.
 * - `floor`: the client's read-policy floor (`allowCompaction`), never backward.
 * - `dependencies`: the local collections this one's dataflow reads (it holds each of them with
 *   `dependant:<dataflow>`); `dependants`: the dataflows reading this one.
 * - `dropped`: set by the drop; the entry stays until the workload's forget rule says every
 *   replica acknowledged it (`replica-rules.ts`); `owed`: storage only, the replicas that still
 *   owe a `droppedId`.
 */
import { Frontier, type GlobalId, invariant, type ReplicaId } from "@mzts/repr";
import { CollectionMissing } from "./errors.js";
import { ReadHoldSet } from "./read-holds.js";

/** What kind of object a collection is (see the file comment). */
export type CollectionKind = "ingestion" | "sourceExport" | "index" | "materializedView";

/** Which sub-protocol a collection's commands and responses travel on. */
export type Workload = "compute" | "storage";

/** The workload of a kind. */
export function workloadOf(kind: CollectionKind): Workload {
  return kind === "ingestion" || kind === "sourceExport" ? "storage" : "compute";
}

/** One row of the table (see the file comment for each field's lifecycle). */
export interface Collection {
  readonly id: GlobalId;
  readonly kind: CollectionKind;
  readonly workload: Workload;
  /** The ingestion (storage) or dataflow (compute: its first export) the collection belongs to. */
  readonly objectId: GlobalId;
  /** The persist shard, for `sourceExport` and `materializedView`. */
  readonly shardId: string | undefined;
  write: Frontier;
  readonly replicaWrite: Map<ReplicaId, Frontier>;
  /** Whether any replica reported a write frontier (sticky across incarnations). */
  reported: boolean;
  floor: Frontier;
  readonly holds: ReadHoldSet;
  since: Frontier;
  readonly dependencies: readonly GlobalId[];
  readonly dependants: Set<GlobalId>;
  dropped: boolean;
  owed: Set<ReplicaId> | undefined;
  /** Storage: replicas whose `droppedId` arrived (nothing is owed by them again). */
  readonly delivered: Set<ReplicaId>;
}

/** What `insert` needs. */
export interface NewCollection {
  readonly id: GlobalId;
  readonly kind: CollectionKind;
  readonly objectId: GlobalId;
  readonly shardId?: string;
  /** Compute: the as-of; storage: the shard's since (the minimum when new). */
  readonly since: Frontier;
  readonly dependencies?: readonly GlobalId[];
}

/** A collection's frontiers as callers see them. */
export interface CollectionFrontiers {
  readonly since: Frontier;
  readonly write: Frontier;
  readonly reported: boolean;
}

/** The collections of one cluster. */
export class CollectionTable {
  readonly #clusterId: string;
  /** Live and dropped-but-not-forgotten collections. */
  readonly #rows = new Map<GlobalId, Collection>();
  /** Compute rows among them (a gauge's value, kept O(1)). */
  #compute = 0;

  constructor(clusterId: string) {
    this.#clusterId = clusterId;
  }

  get size(): number {
    return this.#rows.size;
  }

  /** Rows of the compute workload (indexes, materialized views). */
  get computeSize(): number {
    return this.#compute;
  }

  /** Adds a row; the caller checked that the id is free. */
  insert(n: NewCollection): Collection {
    invariant(!this.#rows.has(n.id), `collection ${n.id} inserted twice`);
    const workload = workloadOf(n.kind);
    const row: Collection = {
      id: n.id,
      kind: n.kind,
      workload,
      objectId: n.objectId,
      shardId: n.shardId,
      write: workload === "compute" ? n.since : Frontier.MIN,
      replicaWrite: new Map(),
      reported: false,
      floor: n.since,
      holds: new ReadHoldSet(),
      since: n.since,
      dependencies: n.dependencies ?? [],
      dependants: new Set(),
      dropped: false,
      owed: undefined,
      delivered: new Set(),
    };
    this.#rows.set(n.id, row);
    if (workload === "compute") this.#compute++;
    return row;
  }

  /** The row, live or dropped-but-not-forgotten. */
  find(id: GlobalId): Collection | undefined {
    return this.#rows.get(id);
  }

  has(id: GlobalId): boolean {
    return this.#rows.has(id);
  }

  /** A live row. @throws CollectionMissing when unknown, dropped or forgotten. */
  live(id: GlobalId, operation: string): Collection {
    const c = this.#rows.get(id);
    if (c === undefined || c.dropped) throw new CollectionMissing(this.#clusterId, id, operation);
    return c;
  }

  /** A known row (dropped ones answer until forgotten). @throws CollectionMissing */
  known(id: GlobalId, operation: string): Collection {
    const c = this.#rows.get(id);
    if (c === undefined) throw new CollectionMissing(this.#clusterId, id, operation);
    return c;
  }

  /** Forgets a row (every replica acknowledged its drop). */
  delete(id: GlobalId): void {
    const row = this.#rows.get(id);
    if (row === undefined) return;
    this.#rows.delete(id);
    if (row.workload === "compute") this.#compute--;
  }

  values(): IterableIterator<Collection> {
    return this.#rows.values();
  }

  /** Every collection id (live and dropped-not-forgotten). */
  ids(): GlobalId[] {
    return [...this.#rows.keys()];
  }

  /** The live compute exports (indexes, persist sinks), reported on or not. */
  liveComputeIds(): GlobalId[] {
    const out: GlobalId[] = [];
    for (const c of this.#rows.values()) if (c.workload === "compute" && !c.dropped) out.push(c.id);
    return out;
  }

  /** The live compute exports' write frontiers as `replicaId` reported them (absent: none yet). */
  replicaWrites(replicaId: ReplicaId): Map<GlobalId, Frontier> {
    const out = new Map<GlobalId, Frontier>();
    for (const c of this.#rows.values()) {
      if (c.workload !== "compute" || c.dropped) continue;
      const write = c.replicaWrite.get(replicaId);
      if (write !== undefined) out.set(c.id, write);
    }
    return out;
  }

  /** @throws CollectionMissing */
  frontiers(id: GlobalId): CollectionFrontiers {
    const c = this.known(id, "frontiers");
    return { since: c.since, write: c.write, reported: c.reported };
  }

  /**
   * Records a replica's write frontier report; returns whether the global write frontier
   * advanced. A report below the replica's previous one is ignored (returns false).
   */
  absorbWrite(c: Collection, replicaId: ReplicaId, write: Frontier): boolean {
    const prev = c.replicaWrite.get(replicaId);
    if (prev !== undefined && Frontier.lessThan(write, prev)) return false;
    c.replicaWrite.set(replicaId, write);
    c.reported = true;
    if (!Frontier.lessThan(c.write, write)) return false;
    c.write = write;
    return true;
  }

  /** Publishes the meet of the holds as the since when it advanced; returns whether it did. */
  advanceSince(c: Collection): boolean {
    const since = c.holds.since();
    if (!Frontier.lessThan(c.since, since)) return false;
    c.since = since;
    return true;
  }
}
