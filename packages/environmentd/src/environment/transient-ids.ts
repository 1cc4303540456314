/**
 * `TransientIds`: the one counter of environmentd's transient ids (`t<n>`): the dataflows it
 * builds for itself — subscribes (`reads.ts`) and the persisted introspection's replica-targeted
 * subscribes (`introspection/replica-introspection.ts`). Compute collection ids are unique per
 * controller across all instances, so every such dataflow must draw from here: two counters
 * would hand out the same `t<n>` twice (`CollectionExists`).
 */
import type { GlobalId } from "@mzts/repr";

export class TransientIds {
  #last = 0;

  /** A fresh `t<n>`, never handed out before by this environmentd. */
  next(): GlobalId {
    this.#last += 1;
    return `t${this.#last}`;
  }
}
