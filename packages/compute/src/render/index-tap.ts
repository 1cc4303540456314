/**
 * `IndexTap`: lets later dataflows of the same worker import an index (an arrangement) — its
 * contents as of their as-of, then its changes.
 *
 * ## Algorithm
 * The tap reads the arranging operator's output (which is the arranged collection) and holds
 * updates in `PendingUpdates` until the frontier passes them, exactly like the arrangement does.
 * It runs right after the `ArrangeByOperator` in the same graph step, so between steps (when
 * commands are applied) the tap's frontier equals the arrangement's upper.
 * 1. `attach(feed)`: the importer receives the arrangement's whole history (`updates()`, times
 *    forwarded to the since, then by the feed to its as-of) and the frontier `upper`.
 * 2. On every frontier advance to `f`, the updates in `[old, f)` go to every attached feed,
 *    followed by `f`.
 * The importer therefore sees each complete update exactly once, in frontier order.
 *
 * ## Gap worked around
 * `@mzts/dataflow`'s `Arrangement` offers reads (`asOf`, `updates`) but no change feed; the tap
 * re-derives the changes from the operator output instead (one extra pending buffer per index).
 */
import {
  type Arrangement,
  type Graph,
  type InputPort,
  Operator,
  PendingUpdates,
  type Stream,
} from "@mzts/dataflow";
import { Frontier, type Update } from "@mzts/repr";
import type { ImportFeed } from "./import-feed.js";

export class IndexTap extends Operator {
  readonly arrangement: Arrangement;
  readonly #input: InputPort;
  readonly #pending = new PendingUpdates();
  readonly #feeds = new Set<ImportFeed>();
  /** Frontier forwarded to the feeds (= the arrangement's upper between steps). */
  #frontier: Frontier = Frontier.MIN;

  constructor(graph: Graph, arranged: Stream, arrangement: Arrangement) {
    super(graph, "indexTap");
    this.#input = arranged.connect(this.id);
    this.arrangement = arrangement;
  }

  /** Number of attached importers. */
  get importers(): number {
    return this.#feeds.size;
  }

  /** Attaches an importer: history first, then changes. */
  attach(feed: ImportFeed): void {
    feed.send(this.arrangement.updates());
    feed.advance(this.#frontier);
    this.#feeds.add(feed);
  }

  /** Detaches an importer (its dataflow was dropped). */
  detach(feed: ImportFeed): void {
    this.#feeds.delete(feed);
  }

  run(): boolean {
    const port = this.#input;
    if (!port.pending) return false;
    for (const b of port.takeBatches()) this.#pending.push(b);
    if (!port.takeFrontier()) return true;
    const f = port.frontier;
    const groups = this.#pending.takeReady(f);
    this.#frontier = f;
    // No importer (the common case): the complete updates are only dropped, never copied.
    if (this.#feeds.size === 0) return true;
    const ready: Update[] = [];
    for (const { batches } of groups) {
      for (const b of batches) {
        for (let i = 0; i < b.length; i++) ready.push([b.rows[i]!, b.times[i]!, b.diffs[i]!]);
      }
    }
    for (const feed of this.#feeds) {
      feed.sendShared(ready);
      feed.advance(f);
    }
    return true;
  }
}
