/**
 * The frontiers of a resolved object, read in one place from what knows them:
 * - its durable collection's shard (`Shards`: a subsource's or view's shard upper and since —
 *   from the environment's `PersistReadHolds` for a legacy cluster, refreshed every read-hold
 *   tick; from the owning unified cluster's controller otherwise);
 * - its cluster's controller (`ClusterController.frontiers`): a subsource's write frontier, an
 *   index's or view's write frontier and since, as replicas report them.
 * The controller may know a newer upper than the last tick (replicas report first), or nothing
 * yet (just booted): the upper is their join.
 *
 * ## Invariants
 * - `upperOf` is `undefined` while nobody knows the collection's frontier (an index no replica
 *   reported on only knows its as-of: not a frontier to show; a collection of a cluster whose
 *   controller is gone); `null` = closed.
 * - `boundingUpper` of a closed input is the last finite upper it can have had: a deterministic
 *   source's final upper (start + maxTicks × tick), or its own inputs' (recursively).
 */
import {
  type ClusterController,
  type CollectionFrontiers,
  CollectionMissing,
} from "@mzts/controller-unified/state";
import { Frontier, type GlobalId } from "@mzts/repr";
import type { Clusters } from "./clusters.js";
import type { Resolved } from "./objects.js";
import type { Shards } from "./shards.js";

/** Where the frontiers come from. */
export interface FrontierSources {
  readonly clusters: Clusters;
  readonly shards: Shards;
}

/** Reads resolved objects' frontiers (see the file comment). */
export class Frontiers {
  readonly #s: FrontierSources;

  constructor(sources: FrontierSources) {
    this.#s = sources;
  }

  /** The write frontier (undefined: not known yet; null: closed). */
  upperOf(r: Resolved): Frontier | undefined {
    return this.#upper(r, this.#frontiers(r), this.#durable(r));
  }

  /**
   * `upperOf` and then `sinceOf` with one lookup in the controller (Status reads every
   * collection's per call). `undefined` when `upperOf` is. @throws as `sinceOf`
   */
  progressOf(r: Resolved): { readonly write: Frontier; readonly since: Frontier } | undefined {
    return this.progressIn(this.#s.clusters.findController(r.clusterId), r);
  }

  /**
   * `progressOf` with `r`'s cluster's controller already looked up (`Clusters.findController`;
   * Status reads a whole cluster's collections with one lookup).
   */
  progressIn(
    controller: ClusterController | undefined,
    r: Resolved,
  ): { readonly write: Frontier; readonly since: Frontier } | undefined {
    const f = frontiersIn(controller, r.id);
    const durable = this.#durable(r);
    const write = this.#upper(r, f, durable);
    if (write === undefined) return undefined;
    if (durable) return { write, since: this.#s.shards.since(r.id) };
    return { write, since: f === undefined ? this.computeSince(r) : f.since };
  }

  /** The since of a durable collection's shard, or an index's (its controller's). */
  sinceOf(r: Resolved): Frontier {
    const { shards } = this.#s;
    if (r.shardId !== undefined && shards.has(r.id)) return shards.since(r.id);
    return this.computeSince(r);
  }

  /**
   * An index's (or any compute collection's) since as its cluster's controller holds it.
   * @throws CollectionMissing, ClusterControllerMissing
   */
  computeSince(r: Pick<Resolved, "id" | "clusterId">): Frontier {
    return this.#s.clusters.controllerOf(r.clusterId, "frontiers").frontiers(r.id).since;
  }

  /** Whether `r`'s frontiers are (also) its durable shard's. */
  #durable(r: Resolved): boolean {
    return r.shardId !== undefined && this.#s.shards.has(r.id);
  }

  #upper(r: Resolved, f: CollectionFrontiers | undefined, durable: boolean): Frontier | undefined {
    const shard = durable ? this.#s.shards.upper(r.id) : 0n;
    if (r.kind === "subsource") return Frontier.join(shard, f?.write ?? 0n);
    if (f === undefined || (r.kind === "index" && !f.reported)) return undefined;
    return Frontier.join(shard, f.write);
  }

  /** `r`'s frontiers in its cluster's controller (undefined: not a live collection there). */
  #frontiers(r: Resolved): CollectionFrontiers | undefined {
    return frontiersIn(this.#s.clusters.findController(r.clusterId), r.id);
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

/** `id`'s frontiers in `c` (undefined: no controller, or not a live collection there). */
function frontiersIn(
  c: ClusterController | undefined,
  id: GlobalId,
): CollectionFrontiers | undefined {
  if (c === undefined) return undefined;
  try {
    return c.frontiers(id);
  } catch (e) {
    if (e instanceof CollectionMissing) return undefined;
    throw e;
  }
}
