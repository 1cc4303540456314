/**
 * `LogFeeds`: the change feed of one log index — what lets a dataflow of the same worker import
 * a log index like any index (history, then changes), with the contract of compute's `IndexTap`.
 *
 * ## Contract (both hosts)
 * 1. `attach(feed)`: the feed receives the index's history (`arrangement.updates()` restricted to
 *    complete times, i.e. `< upper`; times at or below the since are forwarded to it), then the
 *    frontier `upper`.
 * 2. Every advance of the index's upper to `u` sends the feeds the updates with times in
 *    `[old upper, u)`, in time order, then `u`.
 * Each update therefore reaches an attached feed exactly once, once its time is complete.
 * 3. `detach(feed)` stops sending to it; `close()` detaches every feed (the index is freed; an
 *    importer's input stays open, as an importer of a dropped index's would).
 *
 * ## Algorithm
 * The host `publish`es each update when it is written (the unified host: when it goes into the
 * logging dataflow's input; legacy: when it goes into the arrangement). Updates are held until
 * `advance(upper)` passes them — held even with no feed attached, since a feed attaching later
 * gets only the complete history from the arrangement — so the buffer holds at most the updates
 * of the open log times (one interval's changes), and advancing with no feed costs one pass.
 * A host whose arrangement already has each update when it is published (`arrangedOnPublish`:
 * the legacy host) holds nothing while no feed is attached (issue 16: nearly no log index is
 * imported): the first feed takes the not yet complete updates from the arrangement (consolidated:
 * the same collection). The unified host's arrange operators (`log-arrange.ts`) insert an update
 * only once its time is complete: the first feed takes the others from the operator
 * (`unarranged`), so that host holds nothing while no feed is attached either.
 */
import type { Arrangement } from "@mzts/dataflow";
import { Frontier, type Update } from "@mzts/repr";

/** An importer of a log index (compute's `ImportFeed` satisfies it). */
export interface LogIndexFeed {
  /** Takes updates (times may be below the importer's as-of; it forwards them). */
  send(updates: Iterable<Update>): void;
  /** The index's upper moved to `frontier` (every earlier time is complete). */
  advance(frontier: Frontier): void;
}

/** The change feed of one log index; see the file comment. */
export class LogFeeds {
  readonly #arrangement: Arrangement;
  readonly #feeds = new Set<LogIndexFeed>();
  /** Published updates at times not yet complete (`>= #frontier`). */
  #held: Update[] = [];
  /** Upper forwarded to the feeds. */
  #frontier: Frontier = Frontier.MIN;

  /**
   * Whether updates are held only while a feed is attached (see the file comment): the
   * arrangement has every update when it is published, or `unarranged` lists those it has not.
   */
  readonly #arrangedOnPublish: boolean;
  readonly #unarranged: (() => Update[]) | undefined;

  /**
   * `arrangedOnPublish`: the arrangement has every update when it is published (legacy).
   * `unarranged`: the published updates the arrangement does not have yet (the unified host's
   * arrange operators hold them until their time is complete); then nothing is held either
   * while no feed is attached.
   */
  constructor(
    arrangement: Arrangement,
    options: {
      readonly arrangedOnPublish?: boolean;
      readonly unarranged?: () => Update[];
    } = {},
  ) {
    this.#arrangement = arrangement;
    this.#unarranged = options.unarranged;
    this.#arrangedOnPublish =
      (options.arrangedOnPublish ?? false) || this.#unarranged !== undefined;
  }

  /** Number of attached feeds. */
  get importers(): number {
    return this.#feeds.size;
  }

  /** Attaches an importer: complete history first, then the upper, then changes. */
  attach(feed: LogIndexFeed): void {
    const f = this.#frontier;
    const history = this.#arrangement.updates();
    if (this.#arrangedOnPublish && this.#feeds.size === 0) {
      this.#held = f === null ? [] : history.filter(([, t]) => t >= f);
      if (this.#unarranged !== undefined && f !== null) {
        for (const u of this.#unarranged()) if (u[1] >= f) this.#held.push(u);
      }
    }
    feed.send(f === null ? history : history.filter(([, t]) => t < f));
    feed.advance(f);
    this.#feeds.add(feed);
  }

  /** Detaches an importer (its dataflow was dropped). */
  detach(feed: LogIndexFeed): void {
    this.#feeds.delete(feed);
    if (this.#arrangedOnPublish && this.#feeds.size === 0) this.#held = [];
  }

  /** Whether an update published now would be held. */
  get wanted(): boolean {
    return !this.#arrangedOnPublish || this.#feeds.size > 0;
  }

  /** Records an update written to the index (at a time `>=` the current upper; not mutated after). */
  publish(update: Update): void {
    if (this.wanted) this.#held.push(update);
  }

  /** The index's upper advanced to `upper`: sends the newly complete updates, then `upper`. */
  advance(upper: Frontier): void {
    if (!Frontier.lessThan(this.#frontier, upper)) return;
    this.#frontier = upper;
    let ready: Update[] = this.#held;
    if (upper !== null) {
      ready = [];
      const keep: Update[] = [];
      for (const u of this.#held) (u[1] < upper ? ready : keep).push(u);
      this.#held = keep;
    } else this.#held = [];
    if (this.#feeds.size === 0) return;
    if (ready.length > 1) ready.sort((a, b) => (a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0));
    for (const feed of this.#feeds) {
      if (ready.length > 0) feed.send(ready);
      feed.advance(upper);
    }
  }

  /** Detaches every feed and drops held updates (the index is freed). */
  close(): void {
    this.#feeds.clear();
    this.#held = [];
  }
}
