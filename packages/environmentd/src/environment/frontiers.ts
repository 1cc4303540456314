/**
 * The frontiers of a resolved object, read from the three sources that know them, in one place:
 * - the persist read holds (`PersistReadHolds`): a durable collection's (subsource's or view's)
 *   shard upper and since — the truth, refreshed every read-hold tick;
 * - the storage controller: a subsource's write frontier as its replicas report it;
 * - the compute controller: an index's or view's write frontier and since as replicas report them.
 * The controllers may know a newer upper than the last tick (replicas report first), or nothing
 * yet (just booted): the upper is their join.
 *
 * ## Invariants
 * - `upperOf` is `undefined` while nobody knows the collection's frontier (an index no replica
 *   reported on only knows its as-of: not a frontier to show); `null` = closed.
 * - `boundingUpper` of a closed input is the last finite upper it can have had: a deterministic
 *   source's final upper (start + maxTicks × tick), or its own inputs' (recursively).
 */
import {
  CollectionMissing as ComputeCollectionMissing,
  type ComputeController,
} from "@mzts/compute-client";
import { Frontier, type GlobalId } from "@mzts/repr";
import type { PersistReadHolds, StorageController } from "@mzts/storage-client";
import type { Resolved } from "./objects.js";

/** Where the frontiers come from. */
export interface FrontierSources {
  readonly compute: ComputeController;
  readonly storage: StorageController;
  readonly readHolds: PersistReadHolds;
}

/** Reads resolved objects' frontiers (see the file comment). */
export class Frontiers {
  readonly #s: FrontierSources;

  constructor(sources: FrontierSources) {
    this.#s = sources;
  }

  /** The write frontier (undefined: not known yet; null: closed). */
  upperOf(r: Resolved): Frontier | undefined {
    const { compute, storage, readHolds } = this.#s;
    try {
      const durable = r.shardId !== undefined && readHolds.has(r.id) ? readHolds.upper(r.id) : 0n;
      if (r.kind === "subsource") {
        return Frontier.join(durable, storage.hasCollection(r.id) ? storage.frontier(r.id) : 0n);
      }
      const f = compute.frontiers(r.id);
      if (r.kind === "index" && !f.reported) return undefined;
      return Frontier.join(durable, f.write);
    } catch (e) {
      if (e instanceof ComputeCollectionMissing) return undefined;
      throw e;
    }
  }

  /** The since of a durable collection's shard, or an index's (compute). */
  sinceOf(r: Resolved): Frontier {
    const { compute, readHolds } = this.#s;
    if (r.shardId !== undefined && readHolds.has(r.id)) return readHolds.since(r.id);
    return compute.frontiers(r.id).since;
  }

  /** An index's (or any compute collection's) since as the compute controller holds it. */
  computeSince(id: GlobalId): Frontier {
    return this.#s.compute.frontiers(id).since;
  }

  /**
   * The upper that bounds a read of `r`'s contents: its own upper while open; when closed, the
   * last finite upper it can have had. `undefined` = unbounded (closed with no known end).
   */
  boundingUpper(r: Resolved, byId: ReadonlyMap<GlobalId, Resolved>): bigint | undefined {
    const own = this.upperOf(r);
    if (own !== null && own !== undefined) return own;
    if (r.kind === "subsource") {
      const d = r.connection?.deterministic;
      if (d?.maxTicks === undefined || r.connection === undefined) return undefined;
      return d.startTimeMs + d.maxTicks * BigInt(r.connection.tickIntervalMs);
    }
    return this.minUpper(r.inputs, byId);
  }

  /** The smallest bounding upper among `ids` (undefined: none bounds). */
  minUpper(ids: readonly GlobalId[], byId: ReadonlyMap<GlobalId, Resolved>): bigint | undefined {
    let min: bigint | undefined;
    for (const id of ids) {
      const input = byId.get(id);
      if (input === undefined) continue;
      const u = this.boundingUpper(input, byId);
      if (u !== undefined && (min === undefined || u < min)) min = u;
    }
    return min;
  }
}
