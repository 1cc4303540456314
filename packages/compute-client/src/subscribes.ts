/**
 * The subscribes of one compute instance: each a `SubscribeStream` (merging the replicas'
 * batches), registered under its sink id from `open` until the stream ends.
 *
 * ## Lifecycle
 * `open` registers the stream and reports the id live (the controller's id index); when the
 * stream ends — completed, failed, dropped (`fail`), or broken off by its reader — it is
 * unregistered, reported gone, and (unless the instance is closing) its dataflow is dropped on
 * the replicas with `allowCompaction(id, [])`.
 */
import type { ComputeCommand, SubscribeResponse } from "@mzts/protocol";
import type { Frontier, GlobalId, Timestamp } from "@mzts/repr";
import { SubscribeFailed } from "./errors.js";
import { SubscribeStream } from "./subscribe.js";

/** What the subscribes need from their instance. */
export interface InstanceSubscribesOptions {
  /** Whether the instance is closing (no drop is sent then). */
  isClosed(): boolean;
  broadcast(commands: readonly ComputeCommand[]): void;
  /** A subscribe was opened / ended (the controller's id index). */
  onCollection(id: GlobalId, live: boolean): void;
  /** The subscribe count changed. */
  onGaugesChanged(): void;
}

/** The live subscribes of one instance, by sink id. */
export class InstanceSubscribes {
  readonly #opts: InstanceSubscribesOptions;
  readonly #streams = new Map<GlobalId, SubscribeStream>();

  constructor(opts: InstanceSubscribesOptions) {
    this.#opts = opts;
  }

  get size(): number {
    return this.#streams.size;
  }

  has(id: GlobalId): boolean {
    return this.#streams.has(id);
  }

  /** The subscribe's frontier, or undefined when `id` is not a live subscribe. */
  frontier(id: GlobalId): Frontier | undefined {
    return this.#streams.get(id)?.frontier;
  }

  /** Registers the stream of subscribe sink `id`, starting at `asOf`. */
  open(id: GlobalId, asOf: Timestamp): SubscribeStream {
    const stream = new SubscribeStream(id, asOf, () => {
      this.#streams.delete(id);
      this.#opts.onCollection(id, false);
      if (!this.#opts.isClosed())
        this.#opts.broadcast([{ kind: "allowCompaction", id, frontier: null }]);
      this.#opts.onGaugesChanged();
    });
    this.#streams.set(id, stream);
    this.#opts.onCollection(id, true);
    return stream;
  }

  /** A replica's batch for subscribe `id` (ignored when it is not live). */
  absorb(id: GlobalId, response: SubscribeResponse): void {
    this.#streams.get(id)?.offer(response);
  }

  /** Ends subscribe `id` with `SubscribeFailed(reason)`; false when it is not live. */
  fail(id: GlobalId, reason: string): boolean {
    const stream = this.#streams.get(id);
    if (stream === undefined) return false;
    stream.fail(new SubscribeFailed(id, reason));
    return true;
  }

  /** Ends every subscribe with `SubscribeFailed(reason)`. */
  failAll(reason: string): void {
    for (const s of [...this.#streams.values()]) s.fail(new SubscribeFailed(s.id, reason));
  }
}
