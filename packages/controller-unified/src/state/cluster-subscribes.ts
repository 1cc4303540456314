/**
 * The subscribes of a `ClusterState` (design §9 phase 5): one concept split out of the state.
 * The merge and the since rule are the shared `SubscribeSet` (`subscribe-set.ts`, compute-client's
 * too); this file adds what the one collection table needs around it.
 *
 * ## What it adds to the shared rule
 * - **Checks at the edge**: exactly one subscribe sink and no index export; then the imports'
 *   rules of every dataflow (`dataflow-imports.ts`): a fresh id, local imports readable at the
 *   as-of, a log index imported only by a replica-targeted subscribe.
 * - **Holds on its imports**: a local import is held (`dependant:<sink id>`) at the as-of, then
 *   at the subscribe's since (each `allowCompaction` the shared rule broadcasts moves it
 *   forward), released when the subscribe ends. A subscribe is no dependant: its inputs may be
 *   dropped under it, as on the legacy path — the hold keeps the dropped row (and its shard
 *   handle) until the subscribe ends; `foreignHolds` (another cluster's imports) the
 *   same way. An import of another cluster without a hold is the caller's to keep readable (as
 *   on the legacy path, where environmentd holds it at `frontiers(id).since`).
 * - **Routing**: each command goes to the state's history and outbox with its target replica
 *   (`commandTarget`): a targeted subscribe's commands reach that replica only, live and in its
 *   replays (`ClusterState.replay` filters by the same rule).
 */
import type { ComputeCommand, DataflowDescription, SubscribeResponse } from "@mzts/protocol";
import { Frontier, type GlobalId, type ReplicaId } from "@mzts/repr";
import type { CollectionFrontiers } from "./collection-table.js";
import { checkImports, holdImports, type ImportContext } from "./dataflow-imports.js";
import { InvalidStateRequest, SubscribeFailed } from "./errors.js";
import { Holder, type ReadHold } from "./read-holds.js";
import type { SincePropagation } from "./since-propagation.js";
import { SubscribeSet } from "./subscribe-set.js";
import type { SubscribeStream } from "./subscribe-stream.js";
import { commandTarget } from "./targeted-commands.js";

/** What the subscribes need from their state. */
export interface ClusterSubscribesOptions {
  /** The table, log indexes and taken ids the imports are checked against. */
  readonly imports: ImportContext;
  readonly propagation: SincePropagation;
  /** Sends a compute command (to `replicaId` only, when given). */
  compute(command: ComputeCommand, replicaId?: ReplicaId): void;
  /** @throws ReplicaMissing */
  checkReplica(replicaId: ReplicaId): void;
  replicaIds(): Iterable<ReplicaId>;
  /** Whether the owner is closing (no drop is sent then). */
  isClosed(): boolean;
  /** A subscribe ended (its id is free again). */
  ended(id: GlobalId): void;
}

/** A live subscribe's holds on its imports. */
interface ImportHolds {
  readonly local: readonly GlobalId[];
  readonly foreign: readonly ReadHold[];
}

/** The subscribes of one cluster state (see the file comment). */
export class ClusterSubscribes {
  readonly #o: ClusterSubscribesOptions;
  readonly #set: SubscribeSet;
  readonly #imports = new Map<GlobalId, ImportHolds>();

  constructor(opts: ClusterSubscribesOptions) {
    this.#o = opts;
    this.#set = new SubscribeSet({
      failed: (id, reason) => new SubscribeFailed(id, reason),
      isClosed: () => opts.isClosed(),
      broadcast: (commands) => {
        for (const c of commands) {
          opts.compute(
            c,
            commandTarget(c, (id) => this.#set.targetOf(id)),
          );
          if (c.kind === "allowCompaction") this.#follow(c.id, c.frontier);
        }
      },
      replicaIds: () => opts.replicaIds(),
      onCollection: (id, live) => {
        if (!live) opts.ended(id);
      },
      onGaugesChanged: () => {},
    });
  }

  get size(): number {
    return this.#set.size;
  }

  has(id: GlobalId): boolean {
    return this.#set.has(id);
  }

  /** The replica that alone builds subscribe `id`, when it is replica-targeted. */
  targetOf(id: GlobalId): ReplicaId | undefined {
    return this.#set.targetOf(id);
  }

  /** A live subscribe's frontiers (its since is what a replay rebuilds it at). */
  frontiers(id: GlobalId): CollectionFrontiers | undefined {
    const f = this.#set.frontiers(id);
    return f === undefined ? undefined : { since: f.since, write: f.write, reported: true };
  }

  /**
   * Opens a subscribe: checks it, holds its imports, registers its stream and sends its
   * `createDataflow` and `schedule` (to `target` only, when given).
   * @throws InvalidStateRequest, CollectionExists, CollectionMissing, SinceViolation,
   *   LogImportUntargeted, ReplicaMissing (target)
   */
  open(
    desc: DataflowDescription,
    target: ReplicaId | undefined,
    foreignHolds: readonly ReadHold[] = [],
  ): SubscribeStream {
    const op = `subscribe ${desc.debugName}`;
    const sinks = desc.sinkExports.filter((s) => s.connection.kind === "subscribe");
    const sink = sinks[0];
    if (sinks.length !== 1 || sink === undefined || desc.sinkExports.length !== 1) {
      throw new InvalidStateRequest(
        op,
        "a subscribe dataflow exports exactly one subscribe sink and nothing else; use " +
          "createDataflow for indexes and materialized views",
      );
    }
    if (desc.indexExports.length > 0) {
      throw new InvalidStateRequest(op, "a subscribe dataflow exports no index");
    }
    const id = sink.id;
    if (target !== undefined) this.#o.checkReplica(target);
    const { asOf, local } = checkImports(this.#o.imports, desc, {
      op,
      exportIds: [id],
      foreignHolds,
      ...(target === undefined ? {} : { target }),
      unheldForeignSources: true,
    });
    holdImports(this.#o.imports.table, id, local, asOf, op, false);
    this.#imports.set(id, { local, foreign: foreignHolds });
    const stream = this.#set.open(id, asOf, target);
    this.#o.compute({ kind: "createDataflow", dataflow: desc }, target);
    this.#o.compute({ kind: "schedule", id }, target);
    return stream;
  }

  /** A new incarnation of `replicaId` will rebuild every live subscribe it builds. */
  replicaSpawned(replicaId: ReplicaId): void {
    this.#set.replicaSpawned(replicaId);
  }

  /** A replica was dropped: its holds go, its targeted subscribes fail. */
  replicaDropped(replicaId: ReplicaId): void {
    this.#set.replicaDropped(replicaId);
  }

  /** A replica's batch for subscribe `id`. */
  absorb(replicaId: ReplicaId, id: GlobalId, response: SubscribeResponse): void {
    this.#set.absorb(replicaId, id, response);
  }

  /** Ends subscribe `id` (`SubscribeFailed(reason)`); false when it is not live. */
  fail(id: GlobalId, reason: string): boolean {
    return this.#set.fail(id, reason);
  }

  /** Ends every subscribe (the controller closes). */
  failAll(reason: string): void {
    this.#set.failAll(reason);
  }

  /** The subscribe's since moved to `since` (empty: it ended): its import holds follow. */
  #follow(id: GlobalId, since: Frontier): void {
    const holds = this.#imports.get(id);
    if (holds === undefined) return;
    if (since === null) this.#imports.delete(id);
    for (const h of holds.foreign) {
      if (since === null) h.release();
      else h.downgrade(since);
    }
    for (const imp of holds.local) {
      const c = this.#o.imports.table.find(imp);
      if (c === undefined) continue;
      if (since === null) {
        c.holds.release(Holder.dependant(id));
        c.dependants.delete(id);
      } else {
        const held = c.holds.get(Holder.dependant(id));
        if (held === undefined || !Frontier.lessThan(held, since)) continue;
        c.holds.set(Holder.dependant(id), since);
      }
      this.#o.propagation.settle(c);
    }
  }
}
