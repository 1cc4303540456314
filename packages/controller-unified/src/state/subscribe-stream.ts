/**
 * A subscribe as the controller's caller sees it (materialize.md §2.6, §9.17): one async iterable
 * of batches merged across replicas. The one merge both controllers use: compute-client's
 * instance and the unified cluster controller (`cluster-subscribes.ts`) build it with their own
 * `SubscribeFailed` class (`failed`).
 *
 * ## Merge
 * The stream keeps one frontier (starting at the dataflow's as-of). A replica's batch whose upper
 * is strictly beyond it is emitted, trimmed to the updates at or beyond the frontier (replicas are
 * deterministic, so the fastest replica drives and the others' overlapping batches add nothing);
 * a batch that does not advance the frontier is ignored. Emitted batches are therefore
 * contiguous (`lower` = previous `upper`), never overlap and never repeat a time.
 *
 * ## End
 * An empty upper ends the iteration; an error batch or `droppedAt` ends it with
 * `SubscribeFailed`; the instance's `fail(...)` (dropped, controller closed) too. Breaking out of
 * the loop (`return()`) drops the subscribe on the replicas.
 */
// PHASE(state): shared — the legacy compute instance and the unified driver both merge with it
import type { SubscribeResponse } from "@mzts/protocol";
import { Frontier, type GlobalId, type Update } from "@mzts/repr";

/** Builds the owner's `SubscribeFailed` for subscribe `id`. */
export type SubscribeFailure = (id: GlobalId, reason: string) => Error;

/** One merged batch: every update at `lower ≤ time < upper`. */
export interface SubscribeBatch {
  readonly lower: Frontier;
  readonly upper: Frontier;
  readonly updates: readonly Update[];
}

/** The merged state of one subscribe; the instance feeds it, the caller iterates it. */
export class SubscribeStream implements AsyncIterable<SubscribeBatch> {
  readonly id: GlobalId;
  /** Upper of the last emitted batch (initially the as-of); only advances. */
  #frontier: Frontier;
  /** Batches emitted but not yet consumed. */
  #queue: SubscribeBatch[] = [];
  /** Set once: the stream ended (undefined error = completed). */
  #end: { error: Error | undefined } | undefined;
  #wake: (() => void) | undefined;
  /** Called once when the consumer stops early or the stream ends (the instance cleans up). */
  readonly #onDone: (completed: boolean) => void;
  #doneCalled = false;
  readonly #failed: SubscribeFailure;

  constructor(
    id: GlobalId,
    asOf: Frontier,
    onDone: (completed: boolean) => void,
    failed: SubscribeFailure,
  ) {
    this.id = id;
    this.#frontier = asOf;
    this.#onDone = onDone;
    this.#failed = failed;
  }

  get frontier(): Frontier {
    return this.#frontier;
  }

  get ended(): boolean {
    return this.#end !== undefined;
  }

  /** Offers one replica's response; returns whether it advanced the stream. */
  offer(response: SubscribeResponse): boolean {
    if (this.#end !== undefined) return false;
    if (response.kind === "droppedAt") {
      this.fail(this.#failed(this.id, `dropped at ${Frontier.format(response.frontier)}`));
      return true;
    }
    if (!Frontier.lessThan(this.#frontier, response.upper)) return false;
    if (response.result.kind === "error") {
      this.fail(this.#failed(this.id, response.result.message));
      return true;
    }
    const lower = this.#frontier;
    const updates = response.result.updates.filter(([, t]) => Frontier.includes(lower, t));
    this.#frontier = response.upper;
    this.#queue.push({ lower, upper: response.upper, updates });
    if (response.upper === null) this.#finish(undefined);
    this.#wake?.();
    return true;
  }

  /** Ends the stream with `error` (after the queued batches). */
  fail(error: Error): void {
    this.#finish(error);
  }

  #finish(error: Error | undefined): void {
    if (this.#end !== undefined) return;
    this.#end = { error };
    this.#callDone(error === undefined);
    this.#wake?.();
  }

  #callDone(completed: boolean): void {
    if (this.#doneCalled) return;
    this.#doneCalled = true;
    this.#onDone(completed);
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<SubscribeBatch> {
    try {
      for (;;) {
        const next = this.#queue.shift();
        if (next !== undefined) {
          yield next;
          continue;
        }
        if (this.#end !== undefined) {
          if (this.#end.error !== undefined) throw this.#end.error;
          return;
        }
        await new Promise<void>((resolve) => {
          this.#wake = resolve;
        });
        this.#wake = undefined;
      }
    } finally {
      // The consumer stopped early (break/return/throw): drop it on the replicas.
      if (this.#end === undefined) {
        this.#end = { error: this.#failed(this.id, "the consumer stopped reading") };
        this.#callDone(false);
      }
    }
  }
}
