/**
 * A subscribe as the compute controller's caller sees it: the merged stream lives in
 * `@mzts/controller-unified/state` (`subscribe-stream.ts`: every update once, frontiers never
 * regress, the fastest replica drives), shared with the unified cluster controller; this binds it
 * to compute-client's `SubscribeFailed`.
 */
import {
  SubscribeStream as SharedSubscribeStream,
  type SubscribeBatch,
} from "@mzts/controller-unified/state";
import type { Frontier, GlobalId } from "@mzts/repr";
import { SubscribeFailed } from "./errors.js";

export type { SubscribeBatch };

/** The shared merged stream, failing with compute-client's `SubscribeFailed`. */
export class SubscribeStream extends SharedSubscribeStream {
  constructor(id: GlobalId, asOf: Frontier, onDone: (completed: boolean) => void) {
    super(id, asOf, onDone, (sid, reason) => new SubscribeFailed(sid, reason));
  }
}
