/**
 * The subscribes of one compute instance: the rule (merging, the since a replay rebuilds a
 * subscribe at, replica-targeted subscribes) lives in `@mzts/controller-unified/state`
 * (`subscribe-set.ts`), shared with the unified cluster state; this binds it to compute-client's
 * `SubscribeFailed`.
 */
import { SubscribeSet, type SubscribeSetOptions } from "@mzts/controller-unified/state";
import { SubscribeFailed } from "./errors.js";

/** What the subscribes need from their instance. */
export type InstanceSubscribesOptions = Omit<SubscribeSetOptions, "failed">;

/** The live subscribes of one instance, by sink id (`SubscribeSet` with this package's errors). */
export class InstanceSubscribes extends SubscribeSet {
  constructor(opts: InstanceSubscribesOptions) {
    super({ ...opts, failed: (id, reason) => new SubscribeFailed(id, reason) });
  }
}
