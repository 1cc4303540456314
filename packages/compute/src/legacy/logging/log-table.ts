// PHASE(logging): legacy — delete when cluster-unification-logging is retired
/**
 * `LogTable`: one introspection relation of one worker as compute's legacy logging keeps it — a
 * log index (`LogIndex`: an `Arrangement` keyed by the relation's key, plus an always-empty error
 * arrangement) and the current row per key, so a change can retract exactly the row it replaces.
 *
 * Rows are current state (`@mzts/protocol` `LOG_RELATIONS`): `upsert` retracts the key's old row
 * and inserts the new one at the same time (nothing when equal); `delete` retracts it. Every
 * compute relation's first column is what its rows are dropped by (a dataflow id, an export id,
 * a peek uuid or the worker), so rows are also grouped by it: `deleteGroup` retracts a group in
 * O(its rows).
 *
 * Changes at one log time are coalesced: the current rows change at once, the arrangement gets
 * the net change per key when the time moves on or at `flush()` (a peek started and answered
 * within one step, or a dataflow created and dropped, writes nothing).
 *
 * Importing dataflows attach to its change feed (`LogFeeds`): every update written to the
 * arrangement is published to it, and every advance of the upper releases the complete ones.
 */
import { Arrangement, type Key } from "@mzts/dataflow";
import { LogFeeds, type LogIndex, type LogIndexFeed } from "@mzts/mz-cluster/logging";
import type { LogRelation } from "@mzts/protocol";
import { type Datum, datumKey, Frontier, type Row, rowsEqual } from "@mzts/repr";

/**
 * A key's current row and, once the row went into the arrangement, its row key there (kept so
 * the row's retraction a tick later does not build the string again). The row key is that of
 * its non-key columns only (`#rowKeyOf`): it tells the row apart among the rows of its key, all
 * the arrangement needs, at a fraction of the whole row's key (issue 16).
 */
interface Current {
  readonly row: Row;
  rk: string | undefined;
}

export class LogTable implements LogIndex {
  readonly id: string;
  readonly relation: LogRelation;
  readonly key: readonly number[];
  readonly arity: number;
  readonly arrangement: Arrangement;
  readonly errors: Arrangement;
  /** The change feed of importing dataflows. */
  readonly #feeds: LogFeeds;
  /** The columns not in the key, in order. */
  readonly #valueColumns: readonly number[];
  /** Current row per key (the arrangement's key of the row). */
  readonly #rows = new Map<Key, Current>();
  /** First column's datum key → keys of the current rows in that group. */
  readonly #groups = new Map<string, Set<Key>>();
  /** Keys changed at `#pendingTime` → their row before (undefined: none). */
  readonly #touched = new Map<Key, Current | undefined>();
  #pendingTime: bigint | undefined;

  constructor(id: string, relation: LogRelation) {
    this.id = id;
    this.relation = relation;
    this.key = relation.key;
    this.arity = relation.columns.length;
    this.arrangement = new Arrangement(`log ${relation.name} ${id}`, relation.key);
    this.errors = new Arrangement(`log ${relation.name} ${id} errors`, []);
    // `flush` inserts every update into the arrangement as it publishes it.
    this.#feeds = new LogFeeds(this.arrangement, { arrangedOnPublish: true });
    this.#valueColumns = relation.columns.map((_, i) => i).filter((i) => !relation.key.includes(i));
  }

  attach(feed: LogIndexFeed): void {
    this.#feeds.attach(feed);
  }

  detach(feed: LogIndexFeed): void {
    this.#feeds.detach(feed);
  }

  /** Number of current rows. */
  get size(): number {
    return this.#rows.size;
  }

  /** Makes `row` its key's current row at `time`. */
  upsert(row: Row, time: bigint): void {
    const k = this.arrangement.keyOf(row);
    const old = this.#rows.get(k);
    if (old !== undefined && rowsEqual(old.row, row)) return;
    this.#touch(k, old, time);
    if (old === undefined) {
      const g = datumKey(row[0] ?? null);
      let group = this.#groups.get(g);
      if (!group) this.#groups.set(g, (group = new Set()));
      group.add(k);
    }
    this.#rows.set(k, { row, rk: undefined });
  }

  /** The current row of a key (the key columns' values, in key order), if any. */
  get(key: readonly Datum[]): Row | undefined {
    return this.#rows.get(this.arrangement.lookupKeyOf(key))?.row;
  }

  /** Retracts the current row of a key (the key columns' values, in key order) at `time`. */
  delete(key: readonly Datum[], time: bigint): void {
    const k = this.arrangement.lookupKeyOf(key);
    const old = this.#rows.get(k);
    if (old === undefined) return;
    this.#retract(k, old, time);
  }

  /** Retracts every current row whose first column is `first`, at `time`. */
  deleteGroup(first: Datum, time: bigint): void {
    const group = this.#groups.get(datumKey(first));
    if (!group) return;
    for (const k of [...group]) this.#retract(k, this.#rows.get(k)!, time);
  }

  /** Writes the pending changes' net effect to the arrangement. */
  flush(): void {
    const time = this.#pendingTime;
    if (time === undefined) return;
    this.#pendingTime = undefined;
    const arrangement = this.arrangement;
    // Updates are built for the change feed only when a dataflow imports this log index.
    const publish = this.#feeds.wanted;
    for (const [k, before] of this.#touched) {
      const after = this.#rows.get(k);
      if (before === after) continue;
      if (before && after && rowsEqual(before.row, after.row)) {
        // Back to the row the arrangement has: that record stays current (its key known).
        if (after.rk === undefined) after.rk = before.rk;
        continue;
      }
      if (before) {
        // `before.rk` is set: the row went into the arrangement at an earlier flush.
        arrangement.insert(before.row, time, -1, k, (before.rk ??= this.#rowKeyOf(before.row)));
        if (publish) this.#feeds.publish([before.row, time, -1]);
      }
      if (after) {
        after.rk = this.#rowKeyOf(after.row);
        arrangement.insert(after.row, time, 1, k, after.rk);
        if (publish) this.#feeds.publish([after.row, time, 1]);
      }
    }
    this.#touched.clear();
  }

  /** Advances both arrangements' upper and since (monotone: callers never move them back). */
  advance(upper: bigint, since: bigint): void {
    this.flush();
    if (Frontier.lessThan(this.arrangement.upper, upper)) {
      this.arrangement.advanceUpper(upper);
      this.errors.advanceUpper(upper);
      this.#feeds.advance(upper);
    }
    if (Frontier.lessThan(this.arrangement.since, since)) {
      this.arrangement.allowCompaction(since);
      this.errors.allowCompaction(since);
    }
  }

  /** Frees everything (reads fail afterwards). */
  free(): void {
    this.#feeds.close();
    this.#touched.clear();
    this.#pendingTime = undefined;
    this.#rows.clear();
    this.#groups.clear();
    this.arrangement.allowCompaction(Frontier.EMPTY);
    this.errors.allowCompaction(Frontier.EMPTY);
  }

  /** The key of `row` among the rows of its key: its non-key columns' (see `Current`). */
  #rowKeyOf(row: Row): string {
    const cols = this.#valueColumns;
    if (cols.length === 1) return datumKey(row[cols[0]!] ?? null);
    let s = "";
    for (let i = 0; i < cols.length; i++) s += datumKey(row[cols[i]!] ?? null);
    return s;
  }

  #retract(k: Key, cur: Current, time: bigint): void {
    this.#touch(k, cur, time);
    this.#rows.delete(k);
    const g = datumKey(cur.row[0] ?? null);
    const group = this.#groups.get(g);
    if (group?.delete(k) && group.size === 0) this.#groups.delete(g);
  }

  /** Notes that key `k` (current row `current`) changes at `time`. */
  #touch(k: Key, current: Current | undefined, time: bigint): void {
    if (time !== this.#pendingTime) {
      this.flush();
      this.#pendingTime = time;
    }
    if (!this.#touched.has(k)) this.#touched.set(k, current);
  }
}
