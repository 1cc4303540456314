/**
 * The catalog's durable collections (subsources and materialized views) by the cluster that owns
 * their shard's since handle: opening a cluster's shards through its controller, and their since
 * and upper as timestamp selection and status read them, whichever path the owner is on.
 *
 * | owner's path | since handle                 | since                         | upper                                   |
 * | ------------ | ---------------------------- | ----------------------------- | --------------------------------------- |
 * | legacy       | the environment's `PersistReadHolds` (through the adapter's `openShards`) | `PersistReadHolds.since` | `PersistReadHolds.upper` (refreshed every upkeep tick) |
 * | unified      | the cluster's controller (`openShards`) | the controller's row since (the handle's durable since before the row exists) | the shard's upper read at open, joined with the write frontier the replicas report |
 *
 * ## Invariants
 * - One owner per since handle: a shard is opened through its owning cluster's controller only.
 * - A hold on a durable collection (a dataflow's cross-cluster import, a subscribe) is taken from
 *   the owner's controller (`acquireReadHold`) and handed out movable (`movable-holds.ts`): a
 *   rebuild of the owner's controller moves it to the new one (`moveHolds`) without a gap.
 */
import type { ClusterController, ReadHold } from "@mzts/controller-unified/state";
import { Frontier, type GlobalId } from "@mzts/repr";
import type { PersistReadHolds } from "@mzts/storage-client";
import type { Clusters } from "./clusters.js";
import { type MovableHold, MovableHolds } from "./movable-holds.js";

/** What an upper is read from for a unified cluster's shard (a slice of `@mzts/persist`). */
export interface ShardUpperSource {
  openShard(
    shardId: string,
    options: { readonly create: boolean },
  ): Promise<{ upper(): Promise<Frontier> }>;
}

export interface ShardsOptions {
  readonly clusters: Clusters;
  readonly readHolds: PersistReadHolds;
  readonly persist: ShardUpperSource;
}

/** Floors of a rebuilt owner's collection (`Shards.freeze`); a reached floor is deleted. */
interface Floors {
  since?: Frontier;
  upper?: Frontier;
  ended: boolean;
  /** The write frontier the replicas report to the rebuilt (old) controller while it runs. */
  readonly reported: () => Frontier;
}

interface Owned {
  readonly clusterId: GlobalId;
  /** Unified owners: the handle's durable since (until the row exists) and the upper at open. */
  readonly openedSince: Frontier;
  readonly openedUpper: Frontier;
}

/** Since and upper of a durable collection (what timestamp selection reads). */
export interface ShardFrontiers {
  since(id: GlobalId): Frontier;
  upper(id: GlobalId): Frontier;
}

/** The durable collections by owner (see the file comment). */
export class Shards implements ShardFrontiers {
  readonly #o: ShardsOptions;
  readonly #owned = new Map<GlobalId, Owned>();
  readonly #holds = new MovableHolds();
  /**
   * A rebuilt owner's collections: their since and upper as of the rebuild's start, kept as
   * floors until the rebuild ended and the live value reached them (`freeze`).
   */
  readonly #floors = new Map<GlobalId, Floors>();

  constructor(opts: ShardsOptions) {
    this.#o = opts;
  }

  /** Opens (or re-attaches) `clusterId`'s since handles on `shards`; returns their sinces. */
  async open(
    clusterId: GlobalId,
    shards: readonly { readonly id: GlobalId; readonly shardId: string }[],
  ): Promise<ReadonlyMap<GlobalId, Frontier>> {
    const controller = this.#o.clusters.controllerOf(clusterId, "openShards");
    const sinces = await controller.openShards(shards);
    for (const s of shards) {
      let openedUpper: Frontier = 0n;
      if (controller.path === "unified") {
        const shard = await this.#o.persist.openShard(s.shardId, { create: true });
        openedUpper = await shard.upper();
      }
      this.#owned.set(s.id, { clusterId, openedSince: sinces.get(s.id) ?? 0n, openedUpper });
    }
    return sinces;
  }

  /** Forgets a dropped collection (its owner released the handle with the drop). */
  forget(id: GlobalId): void {
    this.#owned.delete(id);
    this.#floors.delete(id);
  }

  /** Whether `id` is an open durable collection. */
  has(id: GlobalId): boolean {
    const o = this.#owned.get(id);
    if (o === undefined) return false;
    return this.#unified(o) !== undefined || this.#o.readHolds.has(id);
  }

  /** The owner's controller (undefined: not a durable collection, or its cluster is gone). */
  ownerOf(id: GlobalId): ClusterController | undefined {
    const o = this.#owned.get(id);
    return o === undefined ? undefined : this.#o.clusters.findController(o.clusterId);
  }

  since(id: GlobalId): Frontier {
    return this.#floored(id, "since", () => this.#liveSince(id));
  }

  /** The owner's since now (not frozen). */
  #liveSince(id: GlobalId): Frontier {
    const o = this.#owned.get(id);
    const c = o === undefined ? undefined : this.#unified(o);
    if (o === undefined || c === undefined) return this.#o.readHolds.since(id);
    return c.hasCollection(id) ? c.frontiers(id).since : o.openedSince;
  }

  upper(id: GlobalId): Frontier {
    return this.#floored(id, "upper", () => this.#liveUpper(id));
  }

  /**
   * `live()` floored (see `freeze`); a floor the live value reached after the rebuild goes. The
   * floor rises with every answer (a ratchet): the old owner's values keep advancing after the
   * freeze until it is replaced, and the new one's may start behind what was answered meanwhile
   * (a legacy owner's durable since and last-read upper trail a unified controller's).
   */
  #floored(id: GlobalId, which: "since" | "upper", live: () => Frontier): Frontier {
    const f = this.#floors.get(id);
    if (f === undefined || !(which in f)) return live();
    const floor = f[which] as Frontier;
    let now: Frontier;
    try {
      now = live();
    } catch {
      return floor; // the new owner has no answer yet
    }
    const out = Frontier.join(Frontier.join(floor, now), which === "upper" ? f.reported() : 0n);
    f[which] = out;
    if (f.ended && Frontier.lessEqual(out, now)) {
      delete f[which];
      if (!("since" in f) && !("upper" in f)) this.#floors.delete(id);
    }
    return out;
  }

  /** The owner's upper now (not floored). */
  #liveUpper(id: GlobalId): Frontier {
    const o = this.#owned.get(id);
    const c = o === undefined ? undefined : this.#unified(o);
    if (o === undefined || c === undefined) return this.#o.readHolds.upper(id);
    return c.hasCollection(id)
      ? Frontier.join(o.openedUpper, c.frontiers(id).write)
      : o.openedUpper;
  }

  /**
   * A hold on `id` at `at` from its owner's controller, movable to the owner's next controller;
   * `heldBy`: the cluster whose dataflow takes it (undefined: a subscribe).
   * @throws CollectionMissing, SinceViolation (the owner's), ClusterControllerMissing
   */
  acquire(id: GlobalId, at: Frontier, heldBy?: GlobalId): ReadHold {
    return this.#holds.wrap(this.#ownerHold(id, at), heldBy);
  }

  #ownerHold(id: GlobalId, at: Frontier): ReadHold {
    const o = this.#owned.get(id);
    if (o === undefined) return this.#o.readHolds.acquire(id, at);
    return this.#o.clusters.controllerOf(o.clusterId, "acquireReadHold").acquireReadHold(id, at);
  }

  /**
   * After a rebuild of `clusterId`'s controller: every live hold on its collections is taken
   * again from the new controller (at its frontier, or the new since if that passed it) and the
   * old one released. Returns how many moved and how many had to move up to the since.
   */
  moveHolds(clusterId: GlobalId): { readonly moved: number; readonly raised: number } {
    const ids = new Set(this.ownedBy(clusterId));
    let raised = 0;
    const held = this.#holds.on(ids);
    for (const h of held) {
      const since = this.#liveSince(h.collectionId);
      const before = h.frontier;
      const at = h.move((f) => this.#ownerHold(h.collectionId, f), since);
      if (!Frontier.equal(at, before)) raised++;
    }
    return { moved: held.length, raised };
  }

  /** The live holds `clusterId`'s dataflows took (a rebuild releases them once re-installed). */
  heldBy(clusterId: GlobalId): readonly MovableHold[] {
    return this.#holds.heldBy(clusterId);
  }

  /**
   * While `clusterId`'s controller is rebuilt (its since handles change hands, its collections are
   * created again): `since` and `upper` of its collections are floored at what they are now (the
   * join with the live value, or the floor while the new owner has no answer yet), so readers
   * (status, timestamp selection) never see them move back, and an as-of chosen meanwhile is
   * still as fresh as the live values allow (a stale one would be below what the replicas
   * compacted their dataflows to: replaced, not reused). Each floor rises with what readers were
   * answered until the old controller is gone (`#floored`). Returns the thaw: from then on each
   * floor goes once the live value has reached it (a legacy owner's upper is refreshed by its
   * next read-hold tick).
   */
  freeze(clusterId: GlobalId): () => void {
    const ids = this.ownedBy(clusterId);
    const old = this.#o.clusters.findController(clusterId);
    // The upper readers see is joined with the write frontier the replicas reported to the old
    // controller (`Frontiers.upperOf`), which may be ahead of the shard's upper as last read.
    const reported = (id: GlobalId): Frontier => {
      try {
        return old?.hasCollection(id) === true ? old.frontiers(id).write : 0n;
      } catch {
        return 0n;
      }
    };
    const floors = ids.map((id): [GlobalId, Floors] => [
      id,
      {
        since: this.since(id),
        upper: Frontier.join(this.upper(id), reported(id)),
        ended: false,
        reported: () => reported(id),
      },
    ]);
    for (const [id, f] of floors) this.#floors.set(id, f);
    return () => {
      for (const [, f] of floors) f.ended = true;
    };
  }

  /** The collections `clusterId` owns. */
  ownedBy(clusterId: GlobalId): GlobalId[] {
    return [...this.#owned].filter(([, o]) => o.clusterId === clusterId).map(([id]) => id);
  }

  /** The owner's cluster of `id` (undefined: not opened here). */
  clusterOf(id: GlobalId): GlobalId | undefined {
    return this.#owned.get(id)?.clusterId;
  }

  #unified(o: Owned): ClusterController | undefined {
    const c = this.#o.clusters.findController(o.clusterId);
    return c?.path === "unified" ? c : undefined;
  }
}
