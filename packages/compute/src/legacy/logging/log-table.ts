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
import { Arrangement, type EntryRef, type Key } from "@mzts/dataflow";
import { type KeyCell, LogFeeds, type LogIndex, type LogIndexFeed } from "@mzts/mz-cluster/logging";
import type { LogRelation } from "@mzts/protocol";
import { Datum, datumKey, Frontier, type Row } from "@mzts/repr";

/**
 * One key of the table: its current row, the row the arrangement holds for it and that row's
 * entry there. One object per live key, reused by every change of the key (issue 16: a key
 * replaced every tick costs one map lookup, no allocation besides its new row and entry).
 */
interface Slot {
  readonly key: Key;
  /** The table whose map holds this slot (a `KeyCell` may carry it to another table's call). */
  readonly table: LogTable;
  /** In the table's map (false once dropped there: a cell holding it looks the key up again). */
  held: boolean;
  /** The current row (undefined: deleted; the slot stays until the deletion is written). */
  row: Row | undefined;
  /** The row the arrangement holds (+1) for this key, as of the last `flush`. */
  written: Row | undefined;
  /** `written`'s entry in the arrangement (so its retraction does no lookup). */
  entry: EntryRef | undefined;
  /** Changed at the pending time (listed in `#dirty`). */
  dirty: boolean;
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
  /** Slot per key with a current row or an unwritten deletion (the arrangement's key). */
  readonly #slots = new Map<Key, Slot>();
  /** Number of current rows. */
  #live = 0;
  /** First column's datum key → the slots of the current rows in that group. */
  readonly #groups = new Map<string, Set<Slot>>();
  /** Slots changed at `#pendingTime`, in the order of their first change. */
  #dirty: Slot[] = [];
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
  }

  attach(feed: LogIndexFeed): void {
    this.#feeds.attach(feed);
  }

  detach(feed: LogIndexFeed): void {
    this.#feeds.detach(feed);
  }

  /** Number of current rows. */
  get size(): number {
    return this.#live;
  }

  /** Makes `row` its key's current row at `time`. */
  upsert(row: Row, time: bigint): void {
    this.upsertKeyed(row, this.arrangement.keyOf(row), time);
  }

  /**
   * `upsert` with the row's key already known: `k` must be `arrangement.keyOf(row)` (callers
   * keep the key of a key they write every tick, built once; issue 16).
   */
  upsertKeyed(row: Row, k: Key, time: bigint): void {
    this.#upsertIn(this.#slotOf(k), row, time);
  }

  /**
   * `upsert` of a row whose key is `cell.key` (`arrangement.keyOf(row)`), through the slot the
   * cell holds when it is this table's and live (no map lookup), else the key's slot, which the
   * cell then holds (issue 16).
   */
  upsertCell(row: Row, cell: KeyCell, time: bigint): void {
    let s = cell.slot as Slot | undefined;
    if (s === undefined || s.table !== this || !s.held) cell.slot = s = this.#slotOf(cell.key);
    this.#upsertIn(s, row, time);
  }

  /** The slot of key `k`, made when missing. */
  #slotOf(k: Key): Slot {
    let s = this.#slots.get(k);
    if (s === undefined) {
      s = {
        key: k,
        table: this,
        held: true,
        row: undefined,
        written: undefined,
        entry: undefined,
        dirty: false,
      };
      this.#slots.set(k, s);
    }
    return s;
  }

  #upsertIn(s: Slot, row: Row, time: bigint): void {
    if (s.row !== undefined) {
      if (sameRow(s.row, row)) return;
      shareKey(row, s.row, this.key);
    }
    this.#touch(s, time);
    if (s.row === undefined) {
      this.#live++;
      const g = datumKey(row[0] ?? null);
      let group = this.#groups.get(g);
      if (!group) this.#groups.set(g, (group = new Set()));
      group.add(s);
    }
    s.row = row;
  }

  /** The current row of a key (the key columns' values, in key order), if any. */
  get(key: readonly Datum[]): Row | undefined {
    return this.#slots.get(this.arrangement.lookupKeyOf(key))?.row;
  }

  /** Retracts the current row of a key (the key columns' values, in key order) at `time`. */
  delete(key: readonly Datum[], time: bigint): void {
    const s = this.#slots.get(this.arrangement.lookupKeyOf(key));
    if (s === undefined || s.row === undefined) return;
    this.#retract(s, time);
  }

  /** Retracts every current row whose first column is `first`, at `time`. */
  deleteGroup(first: Datum, time: bigint): void {
    const group = this.#groups.get(datumKey(first));
    if (!group) return;
    for (const s of [...group]) this.#retract(s, time);
  }

  /** Writes the pending changes' net effect to the arrangement. */
  flush(): void {
    const time = this.#pendingTime;
    if (time === undefined) return;
    this.#pendingTime = undefined;
    const dirty = this.#dirty;
    this.#dirty = [];
    const arrangement = this.arrangement;
    // Updates are built for the change feed only when a dataflow imports this log index.
    const publish = this.#feeds.wanted;
    for (let i = 0; i < dirty.length; i++) {
      const s = dirty[i]!;
      s.dirty = false;
      const before = s.written;
      const after = s.row;
      if (after === undefined && before === undefined) {
        // Inserted and deleted within the time: never written.
        this.#slots.delete(s.key);
        s.held = false;
        continue;
      }
      // Back to the row the arrangement has: that record stays current.
      if (before !== undefined && after !== undefined && sameRow(before, after)) continue;
      if (before !== undefined) {
        if (s.entry !== undefined) arrangement.updateEntry(s.entry, time, -1);
        else arrangement.insert(before, time, -1, s.key, this.#rowKeyOf(before));
        if (publish) this.#feeds.publish([before, time, -1]);
      }
      s.written = after;
      if (after !== undefined) {
        s.entry = arrangement.insertEntry(after, time, 1, s.key, this.#rowKeyOf(after));
        if (publish) this.#feeds.publish([after, time, 1]);
      } else {
        s.entry = undefined;
        this.#slots.delete(s.key);
        s.held = false;
      }
    }
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
    this.#dirty = [];
    this.#pendingTime = undefined;
    for (const s of this.#slots.values()) s.held = false;
    this.#slots.clear();
    this.#live = 0;
    this.#groups.clear();
    this.arrangement.allowCompaction(Frontier.EMPTY);
    this.errors.allowCompaction(Frontier.EMPTY);
  }

  /**
   * The key of `row` among the rows of its key in the arrangement: the arrangement's own row key
   * (its non-key columns' key, a number for one int64 column: no string built; issue 16).
   */
  #rowKeyOf(row: Row): Key {
    return this.arrangement.rowKeyOf(row);
  }

  #retract(s: Slot, time: bigint): void {
    this.#touch(s, time);
    const row = s.row!;
    s.row = undefined;
    this.#live--;
    const g = datumKey(row[0] ?? null);
    const group = this.#groups.get(g);
    if (group?.delete(s) && group.size === 0) this.#groups.delete(g);
  }

  /** Notes that slot `s` changes at `time` (a change at another time writes the pending ones first). */
  #touch(s: Slot, time: bigint): void {
    if (time !== this.#pendingTime) {
      this.flush();
      this.#pendingTime = time;
      // The flush drops slots with nothing current nor written: `s` may have been one.
      if (s.row === undefined && s.written === undefined) {
        this.#slots.set(s.key, s);
        s.held = true;
      }
    }
    if (!s.dirty) {
      s.dirty = true;
      this.#dirty.push(s);
    }
  }
}

/**
 * Rows equal column by column: `===` for what log rows hold (int64, text, null), `Datum.equal`
 * for other datums.
 */
function sameRow(a: Row, b: Row): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    const y = b[i]!;
    if (x !== y && (typeof x !== "object" || x === null || !Datum.equal(x, y))) return false;
  }
  return true;
}

/**
 * Makes `row` hold `old`'s datums in the key columns (equal: same key): a key replaced every
 * tick keeps a retention's worth of rows, and this spares one copy of each key datum per row
 * (rows passed to `upsert` are the table's; equal datums are interchangeable).
 */
function shareKey(row: Row, old: Row, key: readonly number[]): void {
  for (let i = 0; i < key.length; i++) (row as Datum[])[key[i]!] = old[key[i]!]!;
}
