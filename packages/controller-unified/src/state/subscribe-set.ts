/**
 * The subscribes of one compute instance or cluster: each a `SubscribeStream` (merging the
 * replicas' batches), registered under its sink id from `open` until the stream ends. The one
 * rule both controllers use (compute-client's `InstanceSubscribes` binds its error class; the
 * unified `ClusterState` wraps it in `cluster-subscribes.ts`).
 *
 * ## Lifecycle
 * `open` registers the stream and reports the id live (the controller's id index); when the
 * stream ends — completed, failed, dropped (`fail`), or broken off by its reader — it is
 * unregistered, reported gone, and (unless the instance is closing) its dataflow is dropped on
 * the replicas with `allowCompaction(id, [])`.
 *
 * ## Since (what a replay rebuilds the subscribe at)
 * A replica incarnation started after the subscribe must rebuild it at a time its inputs can
 * still be read at, and one whose batches the stream can continue from. Its snapshot is
 * consolidated at its as-of and the stream keeps only the updates at or beyond its frontier, so
 * any as-of strictly below the frontier continues the stream exactly. The since is therefore
 * `frontier − 1`, held back by every replica incarnation that was told to build the subscribe
 * (live at `open`, or by a replay) until it emits its first batch (its readers then took their
 * snapshot and hold their inputs themselves). Whenever the since advances,
 * `allowCompaction(id, since)` is broadcast: the command history rebuilds the subscribe at it
 * (replicas ignore it otherwise), and the caller's holds on the subscribe's inputs follow it
 * (`frontiers(id).since`). Without it a replay rebuilt the subscribe at its original as-of, which
 * its inputs had long compacted past: the rehydrated replica stalled on a since violation and
 * the stream hung once every replica had been restarted.
 *
 * ## Replica-targeted subscribes (`targeted-commands.ts`)
 * Opened with a `target`, a subscribe is built by that replica only (live and in its replays;
 * `targetOf` tells the replica sending which id is whose, until the drop was sent): only the
 * target's incarnations hold its since, and dropping the target ends it (`SubscribeFailed`).
 */
import type { ComputeCommand, SubscribeResponse } from "@mzts/protocol";
import { Frontier, type GlobalId, type ReplicaId, type Timestamp } from "@mzts/repr";
import { type SubscribeFailure, SubscribeStream } from "./subscribe-stream.js";

/** What the subscribes need from their instance. */
export interface SubscribeSetOptions {
  /** Builds the owner's `SubscribeFailed`. */
  readonly failed: SubscribeFailure;
  /** Whether the instance is closing (no drop is sent then). */
  isClosed(): boolean;
  broadcast(commands: readonly ComputeCommand[]): void;
  /** The instance's replicas now (each is told to build a new subscribe live). */
  replicaIds(): Iterable<ReplicaId>;
  /** A subscribe was opened / ended (the controller's id index). */
  onCollection(id: GlobalId, live: boolean): void;
  /** The subscribe count changed. */
  onGaugesChanged(): void;
}

/** One live subscribe. */
interface Entry {
  readonly stream: SubscribeStream;
  /** The last compaction sent (the as-of at first); only advances. */
  since: Timestamp;
  /** Per replica incarnation told to build it: the as-of it was given, until its first batch. */
  readonly holds: Map<ReplicaId, Timestamp>;
  /** The only replica that builds it (replica-targeted), if any. */
  readonly target: ReplicaId | undefined;
}

/** The live subscribes of one instance, by sink id. */
export class SubscribeSet {
  readonly #opts: SubscribeSetOptions;
  readonly #entries = new Map<GlobalId, Entry>();
  /** Targeted subscribe id → its replica, until the drop was sent. */
  readonly #targets = new Map<GlobalId, ReplicaId>();

  constructor(opts: SubscribeSetOptions) {
    this.#opts = opts;
  }

  get size(): number {
    return this.#entries.size;
  }

  has(id: GlobalId): boolean {
    return this.#entries.has(id);
  }

  /** The subscribe's since and frontier, or undefined when `id` is not a live subscribe. */
  frontiers(id: GlobalId): { since: Timestamp; write: Frontier } | undefined {
    const e = this.#entries.get(id);
    return e === undefined ? undefined : { since: e.since, write: e.stream.frontier };
  }

  /** The replica that alone builds subscribe `id`, when it is replica-targeted. */
  targetOf(id: GlobalId): ReplicaId | undefined {
    return this.#targets.get(id);
  }

  /**
   * Registers the stream of subscribe sink `id`, starting at `asOf`; with `target`, only that
   * replica builds it (register before the `createDataflow` is broadcast).
   */
  open(id: GlobalId, asOf: Timestamp, target?: ReplicaId): SubscribeStream {
    if (target !== undefined) this.#targets.set(id, target);
    const stream = new SubscribeStream(
      id,
      asOf,
      () => {
        this.#entries.delete(id);
        this.#opts.onCollection(id, false);
        if (!this.#opts.isClosed())
          this.#opts.broadcast([{ kind: "allowCompaction", id, frontier: null }]);
        this.#targets.delete(id);
        this.#opts.onGaugesChanged();
      },
      this.#opts.failed,
    );
    const holds = new Map<ReplicaId, Timestamp>();
    for (const r of this.#opts.replicaIds()) {
      if (target === undefined || r === target) holds.set(r, asOf);
    }
    this.#entries.set(id, { stream, since: asOf, holds, target });
    this.#opts.onCollection(id, true);
    return stream;
  }

  /** A new incarnation of `replicaId` will rebuild every live subscribe at (or past) its since. */
  replicaSpawned(replicaId: ReplicaId): void {
    for (const e of this.#entries.values()) {
      if (e.target === undefined || e.target === replicaId) e.holds.set(replicaId, e.since);
    }
  }

  /** A replica was dropped: it holds nothing anymore, and its targeted subscribes end. */
  replicaDropped(replicaId: ReplicaId): void {
    for (const [id, e] of [...this.#entries]) {
      if (e.target === replicaId) {
        e.stream.fail(this.#opts.failed(id, `its target replica ${replicaId} was dropped`));
      } else if (e.holds.delete(replicaId)) this.#advance(id, e);
    }
  }

  /** A replica's batch for subscribe `id` (ignored when it is not live). */
  absorb(replicaId: ReplicaId, id: GlobalId, response: SubscribeResponse): void {
    const e = this.#entries.get(id);
    if (e === undefined || (e.target !== undefined && e.target !== replicaId)) return;
    e.stream.offer(response);
    // A batch means this incarnation's readers passed its as-of: they hold their inputs now.
    if (response.kind === "batch") e.holds.delete(replicaId);
    if (this.#entries.get(id) === e) this.#advance(id, e);
  }

  /** Moves the since to `frontier − 1` (held back by the replica holds) and broadcasts it. */
  #advance(id: GlobalId, e: Entry): void {
    const frontier = e.stream.frontier;
    if (frontier === null || e.stream.ended) return;
    let target = frontier - 1n;
    for (const hold of e.holds.values()) if (hold < target) target = hold;
    if (!Frontier.lessThan(e.since, target)) return;
    e.since = target;
    this.#opts.broadcast([{ kind: "allowCompaction", id, frontier: target }]);
  }

  /** Ends subscribe `id` with `SubscribeFailed(reason)`; false when it is not live. */
  fail(id: GlobalId, reason: string): boolean {
    const e = this.#entries.get(id);
    if (e === undefined) return false;
    e.stream.fail(this.#opts.failed(id, reason));
    return true;
  }

  /** Ends every subscribe with `SubscribeFailed(reason)`. */
  failAll(reason: string): void {
    for (const { stream } of [...this.#entries.values()]) {
      stream.fail(this.#opts.failed(stream.id, reason));
    }
  }
}
