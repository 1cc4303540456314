/**
 * `ReplicaIntrospection`: per replica incarnation, replica-targeted subscribes over its own
 * `hydration_times`, `compute_frontiers` and `error_counts` log indexes, whose batches are written
 * (replica id prepended) into the persisted collections (`replica-collections.ts`) — Materialize's
 * introspection subscribes (materialize.md §5).
 *
 * ## Flow (`sync(instanceId)`, called whenever the instance's replicas may have changed)
 * 1. A replica `connected` in an incarnation (epoch) not yet followed: its previous
 *    incarnation's subscribes (if any) are ended and its rows retracted, then one targeted
 *    subscribe per relation starts, as of the last complete log time (well inside the replica's
 *    log retention), importing that relation's log index. Rows carried over from an earlier
 *    environmentd (`carry`) are retracted first: the subscribe's snapshot writes them anew.
 * 2. A followed replica that is gone (dropped) or not connected (its incarnation failed), or
 *    one of whose subscribes stopped by itself (failed; its instance rebuilt): its subscribes
 *    are ended and its rows retracted — a rehydrated incarnation logs from scratch, so it starts
 *    over at 1 once connected (still connected: at once). A replica with carried-over rows whose
 *    incarnation fails (or that is dropped, or that has not connected within `carryGraceMs` of
 *    `carry`) before it ever connected has them retracted too.
 * 3. Each subscribe's batches are appended in order; none after its incarnation ended (checked
 *    before each append — ended here, or no longer the replica's connected incarnation in the
 *    controller — so a batch racing the end cannot land after the retraction, and a batch of a
 *    newer incarnation, whose log started from scratch, is never mixed into the old one's rows).
 * 4. Rows of transient exports (`t<n>`: subscribes, these introspection subscribes included)
 *    are not written: they are session-scoped, not catalog objects, and the introspection
 *    subscribes' own frontiers would otherwise change (and be written) every interval. The filter
 *    is a function of the row, so a retraction is dropped exactly when its insertion was.
 * 5. `forget(instanceId)` (the cluster was dropped): every followed replica of it is ended and
 *    its rows retracted. An instance the controller no longer knows syncs as one without replicas.
 *
 * Boot: `collections.retainOnly(live replicas)`, then `carry(live replicas)`, before the first
 * `sync` (done by the caller, which knows the catalog). Rule and reasons: the phase 2 design note.
 */
import type { DataflowDescription } from "@mzts/protocol";
import { logRelation } from "@mzts/protocol";
import type { Frontier, GlobalId, Update } from "@mzts/repr";
import type { Logger } from "pino";
import {
  PERSISTED_INTROSPECTION,
  type PersistedIntrospection,
  type ReplicaIntrospectionCollections,
} from "./replica-collections.js";

/** What the driver needs of the compute controller. */
export interface IntrospectionController {
  replicas(instanceId: string): ReadonlyArray<{
    readonly replicaId: string;
    readonly epoch: number;
    readonly state: string;
    /** Incarnations that failed so far (absent: none). */
    readonly failures?: number;
  }>;
  subscribe(
    instanceId: string,
    desc: DataflowDescription,
    options: { readonly targetReplica: string },
  ): AsyncIterable<{ readonly upper: Frontier; readonly updates: readonly Update[] }>;
  dropCollection(id: GlobalId): void;
}

export interface ReplicaIntrospectionOptions {
  readonly controller: IntrospectionController;
  readonly collections: ReplicaIntrospectionCollections;
  /** A fresh transient id (shared with the other transient dataflows of environmentd). */
  nextId(): GlobalId;
  /** The instance's log index of `relation`, if installed (logging on). */
  logIndex(instanceId: string, relation: PersistedIntrospection): GlobalId | undefined;
  /** The instance's introspection interval, ms (> 0 when logging is on). */
  intervalMs(instanceId: string): number;
  readonly logger: Logger;
  /** Wall clock, ms; default `Date.now`. */
  readonly now?: () => number;
  /**
   * How long carried-over rows of a replica that has not connected yet are kept (ms; default
   * 30 000): longer, and the replica counts as down.
   */
  readonly carryGraceMs?: number;
}

/** One followed replica incarnation. */
interface Followed {
  readonly epoch: number;
  readonly ids: GlobalId[];
  ended: boolean;
  /**
   * A subscribe of it stopped without being ended here (failed, or its instance was rebuilt and
   * the replica re-added at the same epoch): the next sync ends it and follows it anew.
   */
  broken: boolean;
  /** Settles when every subscribe loop of the incarnation has stopped. */
  loops: Promise<void>;
}

/** The introspection subscribes of every replica; see the file comment. */
export class ReplicaIntrospection {
  readonly #o: ReplicaIntrospectionOptions;
  /** `instance/replica` → its followed incarnation. */
  readonly #followed = new Map<string, Followed>();
  /** Retractions and ends in flight (awaited by `idle`). */
  #pending: Promise<unknown> = Promise.resolve();
  /** `instance/replica` whose rows an earlier environmentd wrote and nobody replaced yet. */
  readonly #carried = new Set<string>();
  /** Wall clock (ms) after which carried rows of a replica not yet connected are retracted. */
  #carryDeadline = Number.POSITIVE_INFINITY;

  constructor(opts: ReplicaIntrospectionOptions) {
    this.#o = opts;
  }

  /** Brings the instance's followed incarnations in line with its replicas (see above). */
  sync(instanceId: string): void {
    const now = new Map(this.#replicasOf(instanceId).map((r) => [r.replicaId, r]));
    const prefix = `${instanceId}/`;
    for (const [key, f] of [...this.#followed]) {
      if (!key.startsWith(prefix)) continue;
      const r = now.get(key.slice(prefix.length));
      if (r === undefined || r.state !== "connected" || r.epoch !== f.epoch || f.broken) {
        this.#end(key, f, key.slice(prefix.length));
      }
    }
    for (const r of now.values()) {
      const key = prefix + r.replicaId;
      if (r.state === "connected" && !this.#followed.has(key)) {
        if (this.#carried.delete(key)) this.#retract(r.replicaId);
        this.#start(instanceId, r, key);
      } else if (
        ((r.failures ?? 0) > 0 || this.#now() >= this.#carryDeadline) &&
        this.#carried.delete(key)
      ) {
        this.#retract(r.replicaId);
      }
    }
    for (const key of [...this.#carried]) {
      const replicaId = key.slice(prefix.length);
      if (key.startsWith(prefix) && !now.has(replicaId)) {
        this.#carried.delete(key); // dropped before it ever connected
        this.#retract(replicaId);
      }
    }
  }

  /** Rows of these replicas (`[instanceId, replicaId]`) were written by an earlier boot. */
  carry(replicas: ReadonlyArray<readonly [string, string]>): void {
    for (const [instanceId, replicaId] of replicas) this.#carried.add(`${instanceId}/${replicaId}`);
    this.#carryDeadline = this.#now() + (this.#o.carryGraceMs ?? 30_000);
  }

  /** The instance was dropped: ends its followed replicas and retracts their rows. */
  forget(instanceId: string): void {
    const prefix = `${instanceId}/`;
    for (const [key, f] of [...this.#followed]) {
      if (key.startsWith(prefix)) this.#end(key, f, key.slice(prefix.length));
    }
    for (const key of [...this.#carried]) {
      if (!key.startsWith(prefix)) continue;
      this.#carried.delete(key);
      this.#retract(key.slice(prefix.length));
    }
  }

  #now(): number {
    return (this.#o.now ?? Date.now)();
  }

  /** The instance's replicas; none once the controller no longer knows it (dropped). */
  #replicasOf(instanceId: string): ReturnType<IntrospectionController["replicas"]> {
    try {
      return this.#o.controller.replicas(instanceId);
    } catch {
      return [];
    }
  }

  /** Whether `f` is still the replica's connected incarnation in the controller. */
  #current(instanceId: string, replicaId: string, f: Followed): boolean {
    const r = this.#replicasOf(instanceId).find((x) => x.replicaId === replicaId);
    return r !== undefined && r.state === "connected" && r.epoch === f.epoch;
  }

  /** How many replica incarnations are followed now. */
  get followed(): number {
    return this.#followed.size;
  }

  /** Settles once every retraction issued so far is written. */
  async idle(): Promise<void> {
    await this.#pending;
  }

  /** Ends every subscribe (without retracting: the rows stay for the next boot to judge). */
  close(): void {
    for (const f of this.#followed.values()) {
      f.ended = true;
      for (const id of f.ids) this.#drop(id);
    }
    this.#followed.clear();
  }

  #start(instanceId: string, r: { replicaId: string; epoch: number }, key: string): void {
    const o = this.#o;
    const interval = o.intervalMs(instanceId);
    if (!(interval > 0)) return;
    const nowMs = this.#now();
    const asOf = BigInt(Math.max(0, Math.floor(nowMs / interval) * interval - interval));
    const f: Followed = {
      epoch: r.epoch,
      ids: [],
      ended: false,
      broken: false,
      loops: Promise.resolve(),
    };
    const loops: Promise<void>[] = [];
    for (const relation of PERSISTED_INTROSPECTION) {
      const log = o.logIndex(instanceId, relation);
      const desc = logRelation(relation);
      if (log === undefined || desc === undefined) continue;
      const id = o.nextId();
      const arity = desc.columns.length;
      let stream: AsyncIterable<{ upper: Frontier; updates: readonly Update[] }>;
      try {
        stream = o.controller.subscribe(
          instanceId,
          {
            debugName: `introspection ${relation} of ${r.replicaId}`,
            sourceImports: [],
            indexImports: [{ id: log, key: desc.key, arity }],
            objectsToBuild: [{ id, plan: { kind: "get", id: log, arity } }],
            indexExports: [],
            sinkExports: [{ id, fromId: id, connection: { kind: "subscribe" } }],
            asOf,
            until: null,
          },
          { targetReplica: r.replicaId },
        );
      } catch (e) {
        o.logger.warn(
          { replica_id: r.replicaId, relation, err: e },
          "introspection subscribe refused",
        );
        continue;
      }
      f.ids.push(id);
      loops.push(this.#pump(instanceId, f, relation, r.replicaId, stream));
    }
    f.loops = Promise.all(loops).then(() => undefined);
    this.#followed.set(key, f);
  }

  async #pump(
    instanceId: string,
    f: Followed,
    relation: PersistedIntrospection,
    replicaId: string,
    stream: AsyncIterable<{ upper: Frontier; updates: readonly Update[] }>,
  ): Promise<void> {
    try {
      for await (const b of stream) {
        if (f.ended || !this.#current(instanceId, replicaId, f)) break;
        const updates = b.updates.filter(([row]) => !isTransient(row[0]));
        await this.#o.collections.append(relation, replicaId, updates, b.upper);
      }
    } catch (e) {
      // Ended here, or its replica is gone or failed (the next sync retracts): nothing to tell.
      if (!f.ended && this.#current(instanceId, replicaId, f)) {
        this.#o.logger.warn(
          { replica_id: replicaId, relation, err: e },
          "introspection subscribe ended; following the replica anew",
        );
      }
    } finally {
      if (!f.ended) f.broken = true;
    }
  }

  #end(key: string, f: Followed, replicaId: string): void {
    f.ended = true;
    this.#followed.delete(key);
    for (const id of f.ids) this.#drop(id);
    this.#retract(replicaId);
  }

  /** Retracts the replica's rows (awaited by `idle`; a failure is logged). */
  #retract(replicaId: string): void {
    const retracted = this.#o.collections.retract(replicaId).catch((e: unknown) => {
      this.#o.logger.warn({ replica_id: replicaId, err: e }, "introspection retraction failed");
    });
    this.#pending = Promise.all([this.#pending, retracted]);
  }

  #drop(id: GlobalId): void {
    try {
      this.#o.controller.dropCollection(id);
    } catch {
      // Already ended (its replica was dropped, which ends its targeted subscribes).
    }
  }
}

/** Whether an export id is transient (`t<n>`; `GlobalId` of `@mzts/repr`). */
function isTransient(id: unknown): boolean {
  return typeof id === "string" && /^t[0-9]+$/.test(id);
}
