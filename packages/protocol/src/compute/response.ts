/**
 * Compute responses (replica → controller) as domain values.
 *
 * Rules (materialize.md §2.3): frontiers never regress and are reported only for indexes and
 * persist sinks; each peek gets exactly one answer; subscribe batches are contiguous, non-empty
 * (`lower < upper`), consolidated and hold times in `[lower, upper)`; `droppedAt` is sent once
 * and only when a subscribe is dropped by compaction; nothing follows an empty upper. `status`
 * is an introspection side channel that must not affect correctness. `commandError` reports a
 * refused command on one object (the stream carries on).
 */
import type { Frontier, GlobalId, Row, Update } from "@mzts/repr";
import type { CommandError } from "../cluster/command-error.js";

/** Frontier progress of one collection; absent kinds are unchanged (at least one is present). */
export interface FrontiersUpdate {
  /** Contents sealed below it. */
  readonly write?: Frontier;
  /** Inputs read below it. */
  readonly input?: Frontier;
  /** Computation done below it. */
  readonly output?: Frontier;
}

/** The answer to a peek. */
export type PeekResponse =
  /** Rows with positive multiplicities, in finishing order. */
  | { readonly kind: "rows"; readonly rows: ReadonlyArray<readonly [row: Row, count: number]> }
  | { readonly kind: "error"; readonly message: string }
  | { readonly kind: "canceled" };

/** A subscribe batch's content. */
export type SubscribeBatchResult =
  | { readonly kind: "updates"; readonly updates: readonly Update[] }
  | { readonly kind: "error"; readonly message: string };

/** Output of a subscribe. */
export type SubscribeResponse =
  /** Updates in `[lower, upper)`; lower < upper, lower non-empty. */
  | {
      readonly kind: "batch";
      readonly lower: Frontier;
      readonly upper: Frontier;
      readonly result: SubscribeBatchResult;
    }
  /** Dropped by compaction at the last batch's upper. */
  | { readonly kind: "droppedAt"; readonly frontier: Frontier };

/** Hydration of one collection on the replica. */
export interface CollectionHydration {
  readonly id: GlobalId;
  readonly hydrated: boolean;
}

/** A compute response. */
export type ComputeResponse =
  | { readonly kind: "frontiers"; readonly id: GlobalId; readonly frontiers: FrontiersUpdate }
  | { readonly kind: "peekResponse"; readonly uuid: string; readonly response: PeekResponse }
  | {
      readonly kind: "subscribeResponse";
      readonly id: GlobalId;
      readonly response: SubscribeResponse;
    }
  | { readonly kind: "status"; readonly hydration: readonly CollectionHydration[] }
  | { readonly kind: "commandError"; readonly error: CommandError };

export type ComputeResponseKind = ComputeResponse["kind"];
