/**
 * `Arrangement`: a collection indexed by key, holding its history from `since` to `upper`.
 *
 * Layout: key string → its entries: the entry itself while the key has exactly one (most keys
 * of an index on a growing source, a log table's rows that do not change: no map per key), else
 * its entries by row key (`Bucket`, `bucket.ts`: short arrays, a map past `SMALL_BUCKET` entries; a key that
 * had two entries keeps its bucket until it has none, so a key that changes now and then does not
 * build one per change). An entry (`entry.ts`) holds the row,
 * its history (inline up to two times, else parallel arrays of ascending times and non-zero
 * diffs) and `current` (the sum of all its diffs). A row key (`rowKeyOf`) only tells apart the
 * rows of one key, so it is the key of the non-key columns: a number for one int64 column, empty
 * when the key covers the row (an index on every column builds no row key string at all).
 *
 * Reads:
 * - `asOf(t)` / `lookup(key, t)`: the collection (or one key's rows) as of `t`, valid when
 *   `since <= t < upper`; `SinceViolation` below the since, `NotYetAvailable` at or past the
 *   upper. Cost O(entries) / O(rows of the key).
 * - `current()`: the contents as of the latest complete time (`upper - 1`), from `current`
 *   counts without looking at history.
 *
 * ## Compaction
 * `allowCompaction(since)` advances the since: every time below it is forwarded to it, and an
 * entry's diffs at times `<= since` are summed into one (dropped when zero; an entry with no
 * history left is removed). Only an entry with two times at or below the since has anything to
 * merge (a single time below it is already compact: forwarding it changes no read at
 * `t >= since`), so entries with more than one time wait in a queue keyed by their second time
 * (`due-queue.ts`: a FIFO run for keys queued in order, a heap for the rest), and compaction
 * pops only those that became due: its cost follows the history that actually merges, not the
 * history held (a log index with a minute of history compacts one interval's worth per
 * advance). A queued record is checked when popped (`heapKey`:
 * an entry whose times changed meanwhile is re-queued at its current second time, or dropped
 * when it is single-time or gone). Updates inserted later at times below the since are forwarded
 * on insert. The empty since drops the arrangement's contents (nobody may read it again).
 *
 * ## Log-table shaped input (issue 16)
 * A log index holds one current row per key, replaced every tick and kept for the retention.
 * An internal fast path spares a replaced row's retraction the key and row-key lookups (reads
 * are unchanged): a caller keeps each row's entry (`insertEntry`, then `updateEntry`, valid while
 * the row's count is not zero: `EntryRef`; both hosts' log tables). Compaction removes as many
 * entries per tick as the tick adds: removed entries are kept on a free list and reused (`#free`).
 *
 * ## Sizes (introspection)
 * `count` (sum of diffs), `updateCount` (held updates: one per time of each entry), `timeCount` (distinct times held,
 * forwarded to the since — what introspection calls batches; `time-counts.ts`) and `sizeBytes`
 * (an estimate, `size.ts`) are kept up to date as updates arrive and compact: reading them costs
 * O(1).
 *
 * ## Invariants
 * - `since <= upper` is not required (a since past the upper just forbids reads for now).
 * - Only complete updates are inserted (`time < upper` after the upper advances), in ascending
 *   time order per entry; the arrangement checks `time >= since` by forwarding, and keeps each
 *   entry's times strictly ascending with non-zero diffs.
 */
import { Frontier, MonotoneFrontier, type Row, type Timestamp, type Update } from "@mzts/repr";
import { NotYetAvailable, SinceViolation } from "../errors.js";
import { type Key, keyFunction } from "../operators/key.js";
import { Bucket, collect } from "./bucket.js";
import { DueQueue } from "./due-queue.js";
import { type Entry, history, inlineDiffs, inlineTimes, NO_TIME, settle } from "./entry.js";
import { bucketBytes, entryBytes, UPDATE_BYTES } from "./size.js";
import { TimeCounts } from "./time-counts.js";

/**
 * @internal A row's entry in an arrangement (`insertEntry` / `updateEntry`), opaque to callers.
 * Valid for later updates of the same row in the same arrangement while the row's count (the sum
 * of its diffs) is not zero: only then is the entry sure to stay. An entry whose count is zero
 * may lose its history to compaction, and a removed entry is reused for another row (issue 16),
 * so a caller drops its ref when its updates bring the row's count to zero (the legacy log
 * tables keep the ref of the row they hold, +1, and drop it with the retraction).
 */
export interface EntryRef {
  readonly __arrangementEntry: never;
}

/** A key-indexed collection with history between `since` and `upper`. */
export class Arrangement {
  readonly name: string;
  /** The key columns. */
  readonly key: readonly number[];
  readonly #keyOf: (row: Row) => Key;
  /** Key of a lookup row (the key columns' values in key order). */
  readonly #lookupKeyOf: (row: Row) => Key;
  /** Key → its one entry, or its entries by row key (see the file comment). */
  readonly #index = new Map<Key, Entry | Bucket>();
  /** Entries with more than one time, keyed by (at most) their second time: due for compaction. */
  readonly #due = new DueQueue<Entry>();
  readonly #since: MonotoneFrontier;
  readonly #upper: MonotoneFrontier;
  #entries = 0;
  /** Held updates (sum of every entry's history length). */
  #updates = 0;
  /** Sum of every held diff. */
  #count = 0;
  /** Bytes of entries and key buckets (updates are added in `sizeBytes`). */
  #bytes = 0;
  /** Held updates per time forwarded to the since. */
  readonly #times = new TimeCounts();
  /** The default row key of a row of `#valueArity` columns (its non-key columns' key). */
  #valueKeyOf: (row: Row) => Key = () => "";
  #valueArity = -1;
  /**
   * The slot of key `#hintKey` (its entry or bucket), left by a retraction through an entry
   * (`updateEntry`) for the insert that follows it: a log table replacing a key's
   * row retracts the old row, then inserts the new one under the same key, which then needs no
   * index lookup. Consumed by the next insert; cleared by any removal.
   */
  #hintKey: Key | undefined = undefined;
  #hintSlot: Entry | Bucket | undefined = undefined;
  /**
   * Removed entries kept for reuse by the next new ones (issue 16): a log index replaces every
   * key's row each tick and compaction removes as many entries as the tick adds, so reusing them
   * spares the allocation (and the promotion, as they live for the retention) of one entry per
   * change. At most `FREE_MIN` + an eighth of the live entries are kept. A reused entry is a
   * different row's: an `EntryRef` is valid only while its row's count is not zero (see there).
   */
  readonly #free: Entry[] = [];

  constructor(name: string, key: readonly number[], since: Frontier = Frontier.MIN) {
    this.name = name;
    this.key = key.slice();
    this.#keyOf = keyFunction(this.key);
    this.#lookupKeyOf = keyFunction(this.key.map((_, i) => i));
    this.#since = new MonotoneFrontier(`arrangement ${name} since`, since);
    this.#upper = new MonotoneFrontier(`arrangement ${name} upper`, Frontier.MIN);
  }

  /** Times below the since have been (or may be) compacted. */
  get since(): Frontier {
    return this.#since.current;
  }

  /** Every time below the upper is complete in the arrangement. */
  get upper(): Frontier {
    return this.#upper.current;
  }

  /** Number of distinct keys. */
  get keyCount(): number {
    return this.#index.size;
  }

  /** Number of (row) entries, live or holding history. */
  get size(): number {
    return this.#entries;
  }

  /** The collection's row count with multiplicities (sum of every held diff), O(1). */
  get count(): number {
    return this.#count;
  }

  /** Number of updates held: one per (entry, time) of the history. */
  get updateCount(): number {
    return this.#updates;
  }

  /** Number of distinct times held (times below the since count as the since). */
  get timeCount(): number {
    return this.#times.size;
  }

  /** Estimated bytes held (see `size.ts`). */
  get sizeBytes(): number {
    return this.#bytes + this.#updates * UPDATE_BYTES;
  }

  /** The arrangement key of `row` (what `insert` indexes it by). */
  keyOf(row: Row): Key {
    return this.#keyOf(row);
  }

  /** The arrangement key of a lookup row (the key columns' values, in key order). */
  lookupKeyOf(key: Row): Key {
    return this.#lookupKeyOf(key);
  }

  /**
   * The row key of `row`: what tells it apart from the other rows of its key — the key
   * (`keyFunction`) of its non-key columns: `""` when the key covers every column (the key alone
   * tells rows apart), a number for one int64 column.
   */
  rowKeyOf(row: Row): Key {
    if (row.length !== this.#valueArity) {
      this.#valueArity = row.length;
      this.#valueKeyOf = keyFunction(nonKeyColumns(this.key, row.length));
    }
    return this.#valueKeyOf(row);
  }

  /**
   * @internal Adds an update (complete, in ascending time order per row). A caller that already
   * has the row's `keyOf(row)` and `rowKeyOf(row)` may pass them (`k`, `rk`: not checked) to
   * spare building them again. `rk` only has to tell the row apart from the other rows of its
   * key, so a caller that inserts every update itself may pass any such string or number (the
   * legacy log tables pass the key of the non-key columns), the same for every update of a row.
   */
  insert(row: Row, time: Timestamp, diff: number, k?: Key, rk?: Key): void {
    this.#insert(row, time, diff, k, rk);
  }

  /**
   * @internal `insert`, returning the entry that holds the row afterwards (undefined when it
   * holds no history any more, or the arrangement is released): a caller that keeps a row's
   * entry adds the row's later updates with `updateEntry`, without looking the row up again
   * (the legacy log tables retract a key's replaced row this way; issue 16).
   */
  insertEntry(row: Row, time: Timestamp, diff: number, k: Key, rk: Key): EntryRef | undefined {
    return this.#insert(row, time, diff, k, rk) as EntryRef | undefined;
  }

  /**
   * @internal Adds an update to the row of `ref` (from `insertEntry`, valid: see `EntryRef`):
   * what `insert(row, time, diff)` of that row does, without the key and row-key lookups (a
   * removed entry not reused yet takes the `insert` path; a released arrangement changes
   * nothing). Returns the row's entry afterwards, as `insertEntry` does.
   * @throws Error when the ref's entry was reused (the caller kept a ref past its contract).
   */
  updateEntry(ref: EntryRef, time: Timestamp, diff: number): EntryRef | undefined {
    const e = ref as unknown as Entry;
    if (e.n === 0) {
      if (this.#since.current === null) return undefined;
      if (e.row === NO_ROW) {
        throw new Error(
          `arrangement ${this.name}: updateEntry through a ref whose row's count went to zero ` +
            "(its entry was removed and is free); use insertEntry for that row",
        );
      }
      return this.#insert(e.row, time, diff, e.key, e.rowKey) as EntryRef | undefined;
    }
    if (diff === 0) return ref;
    const since = this.#since.current;
    if (since === null) return undefined;
    this.#count += diff;
    const out = this.#update(e, time < since ? since : time, diff);
    if (out !== undefined) this.#hint(out);
    return out as EntryRef | undefined;
  }

  #insert(row: Row, time: Timestamp, diff: number, k?: Key, rk?: Key): Entry | undefined {
    if (diff === 0) return undefined;
    const since = this.#since.current;
    if (since === null) return undefined;
    const t = time < since ? since : time;
    this.#count += diff;
    if (k === undefined) k = this.#keyOf(row);
    if (rk === undefined) rk = this.rowKeyOf(row);
    const hinted = k === this.#hintKey;
    const slot = hinted ? this.#hintSlot : this.#index.get(k);
    if (this.#hintKey !== undefined) {
      this.#hintKey = undefined;
      this.#hintSlot = undefined;
    }
    let e: Entry | undefined;
    if (slot === undefined) {
      // A new key: its one entry is the slot.
      if (typeof k === "string") flatten(k);
      this.#bytes += bucketBytes(k);
      e = this.#newEntry(k, row, rk, t, diff);
      this.#index.set(k, e);
      return e;
    }
    if (slot instanceof Bucket) {
      e = slot.get(rk);
      if (e === undefined) {
        e = this.#newEntry(slot.key, row, rk, t, diff);
        slot.add(e);
        return e;
      }
    } else if (slot.rowKey === rk) {
      e = slot;
    } else {
      // The key's second entry: from now on a map.
      e = this.#newEntry(slot.key, row, rk, t, diff);
      this.#index.set(slot.key, new Bucket(slot.key, slot, e));
      return e;
    }
    return this.#update(e, t, diff);
  }

  /** Leaves live entry `e`'s slot for the next insert (see `#hintKey`). */
  #hint(e: Entry): void {
    this.#hintKey = e.key;
    this.#hintSlot = e.bucket ?? e;
  }

  /**
   * Adds `diff` at `t` (forwarded to the since, non-zero diff) to an entry of the index; the
   * entry, or undefined when it was removed (no history left).
   */
  #update(e: Entry, t: Timestamp, diff: number): Entry | undefined {
    e.current += diff;
    if (e.times === undefined && this.#insertInline(e, t, diff)) return e.n === 0 ? undefined : e;
    const times = (e.times ??= inlineTimes(e));
    const diffs = (e.diffs ??= inlineDiffs(e));
    const last = times.length - 1;
    if (times[last] === t) {
      const d = diffs[last]! + diff;
      if (d !== 0) diffs[last] = d;
      else {
        times.pop();
        diffs.pop();
        this.#countTime(t, -1);
      }
    } else if (times[last]! < t) {
      times.push(t);
      diffs.push(diff);
      this.#countTime(t, 1);
    } else {
      // Out of order (not produced by the operators, kept correct anyway).
      let i = 0;
      while (times[i]! < t) i++;
      if (times[i] === t) {
        const d = diffs[i]! + diff;
        if (d !== 0) diffs[i] = d;
        else {
          times.splice(i, 1);
          diffs.splice(i, 1);
          this.#countTime(t, -1);
        }
      } else {
        times.splice(i, 0, t);
        diffs.splice(i, 0, diff);
        this.#countTime(t, 1);
      }
    }
    settle(e);
    if (e.n === 0) {
      this.#remove(e);
      return undefined;
    }
    if (e.n > 1) this.#schedule(e);
    return e;
  }

  /** A new entry of `row` (key `key`, row key `rk`) holding `diff` at `t`, counted. */
  #newEntry(key: Key, row: Row, rk: Key, t: Timestamp, diff: number): Entry {
    if (typeof rk === "string") flatten(rk);
    this.#entries++;
    this.#bytes += entryBytes(row, rk);
    this.#countTime(t, 1);
    let e = this.#free.pop();
    if (e !== undefined) {
      // A removed entry, reused (see `#free`): every field set again.
      e.key = key;
      e.rowKey = rk;
      e.row = row;
      e.n = 1;
      e.t0 = t;
      e.d0 = diff;
      e.current = diff;
    } else {
      // Every field in the literal (`heapKey` too): one shape, no out-of-object property store.
      e = {
        key,
        rowKey: rk,
        row,
        n: 1,
        t0: t,
        d0: diff,
        t1: NO_TIME,
        d1: 0,
        times: undefined,
        diffs: undefined,
        current: diff,
        heapKey: undefined,
        bucket: undefined,
      };
    }
    return e;
  }

  /**
   * `insert` into an entry holding its times inline, when they stay at most two; false (nothing
   * changed) when the entry needs its arrays: a third time, or one before the second.
   */
  #insertInline(e: Entry, t: Timestamp, diff: number): boolean {
    if (e.n === 1) {
      if (e.t0 === t) {
        const d = e.d0 + diff;
        if (d !== 0) e.d0 = d;
        else {
          e.n = 0;
          this.#countTime(t, -1);
          this.#remove(e);
        }
        return true;
      }
      if (e.t0 < t) {
        e.t1 = t;
        e.d1 = diff;
      } else {
        e.t1 = e.t0;
        e.d1 = e.d0;
        e.t0 = t;
        e.d0 = diff;
      }
      e.n = 2;
      this.#countTime(t, 1);
      this.#schedule(e);
      return true;
    }
    if (e.t1 !== t) return false;
    const d = e.d1 + diff;
    if (d !== 0) e.d1 = d;
    else {
      e.n = 1;
      e.t1 = NO_TIME;
      e.d1 = 0;
      this.#countTime(t, -1);
    }
    return true;
  }

  /**
   * @internal Advances the upper (every time below it is now complete).
   * @throws FrontierRegression when `f` is behind the upper.
   */
  advanceUpper(f: Frontier): void {
    this.#upper.advance(f);
  }

  /**
   * Allows compaction up to `since`: reads below it become impossible and history below it is
   * merged. The empty frontier releases everything.
   * @throws FrontierRegression (from @mzts/repr) when `since` is behind the current since.
   */
  allowCompaction(since: Frontier): void {
    if (!this.#since.advance(since)) return;
    if (since === null) {
      this.#index.clear();
      this.#due.clear();
      this.#entries = 0;
      this.#updates = 0;
      this.#count = 0;
      this.#bytes = 0;
      this.#times.clear();
      this.#free.length = 0;
      this.#hintKey = undefined;
      this.#hintSlot = undefined;
      return;
    }
    // Times below the since are now counted as the since.
    this.#times.advance(since);
    // Updates merged away (all at the since): counted once at the end.
    let merged = 0;
    const due = this.#due;
    for (let k = due.peekKey(); k !== undefined && k <= since; k = due.peekKey()) {
      const e = due.pop()!;
      // A stale record (the entry was re-queued earlier, or is single-time or removed now).
      if (e.heapKey !== k) continue;
      e.heapKey = undefined;
      if (e.n < 2) continue;
      if (e.times === undefined) {
        // Inline: due when both times are at or below the since.
        if (e.t1 > since) {
          this.#schedule(e);
          continue;
        }
        const sum = e.d0 + e.d1;
        e.t1 = NO_TIME;
        e.d1 = 0;
        if (sum === 0) {
          e.n = 0;
          merged += 2;
          this.#remove(e);
        } else {
          e.n = 1;
          e.t0 = since;
          e.d0 = sum;
          merged += 1;
        }
        continue;
      }
      const times = e.times;
      const diffs = e.diffs!;
      let i = 0;
      let sum = 0;
      while (i < times.length && times[i]! <= since) sum += diffs[i++]!;
      if (i <= 1) {
        // Its second time moved up meanwhile: not due yet.
        this.#schedule(e);
        continue;
      }
      if (sum === 0) {
        times.splice(0, i);
        diffs.splice(0, i);
        merged += i;
      } else {
        times.splice(0, i, since);
        diffs.splice(0, i, sum);
        merged += i - 1;
      }
      settle(e);
      if (e.n === 0) this.#remove(e);
      else if (e.n > 1) this.#schedule(e);
    }
    if (merged !== 0) this.#countTime(since, -merged);
  }

  /**
   * Queues a multi-time entry for compaction at its second time, unless a record at or below
   * that time is already queued (popped early, it is re-queued then).
   */
  #schedule(e: Entry): void {
    const k = e.times === undefined ? e.t1 : e.times[1]!;
    if (e.heapKey !== undefined && e.heapKey <= k) return;
    e.heapKey = k;
    this.#due.push(k, e);
  }

  /**
   * The collection as of `t`: consolidated `(row, count)` pairs, in no particular order.
   * @throws SinceViolation when `t < since`; NotYetAvailable when `t >= upper`.
   */
  asOf(t: Timestamp): Array<[Row, number]> {
    this.#checkRead(t);
    const out: Array<[Row, number]> = [];
    for (const slot of this.#index.values()) collect(slot, t, out);
    return out;
  }

  /**
   * The rows of one key as of `t` (`key` holds the key columns' values, in key order).
   * @throws SinceViolation when `t < since`; NotYetAvailable when `t >= upper`.
   */
  lookup(key: Row, t: Timestamp): Array<[Row, number]> {
    this.#checkRead(t);
    const out: Array<[Row, number]> = [];
    const slot = this.#index.get(this.#lookupKeyOf(key));
    if (slot !== undefined) collect(slot, t, out);
    return out;
  }

  /** The contents as of the latest complete time, from running counts (no history walk). */
  current(): Array<[Row, number]> {
    const out: Array<[Row, number]> = [];
    for (const slot of this.#index.values()) {
      if (!(slot instanceof Bucket)) {
        if (slot.current !== 0) out.push([slot.row, slot.current]);
        continue;
      }
      for (const e of slot.values()) if (e.current !== 0) out.push([e.row, e.current]);
    }
    return out;
  }

  /** The history held, as updates with times forwarded to the since. */
  updates(): Update[] {
    const since = this.#since.current;
    const out: Update[] = [];
    if (since === null) return out;
    for (const slot of this.#index.values()) {
      if (slot instanceof Bucket) for (const e of slot.values()) history(e, since, out);
      else history(slot, since, out);
    }
    return out;
  }

  #checkRead(t: Timestamp): void {
    const since = this.#since.current;
    if (since === null || t < since) throw new SinceViolation(this.name, t, since);
    const upper = this.#upper.current;
    if (upper !== null && t >= upper) throw new NotYetAvailable(this.name, t, upper);
  }

  #remove(e: Entry): void {
    this.#hintKey = undefined;
    this.#hintSlot = undefined;
    // An entry of a bucket is in that bucket's slot (a bucket leaves the index only empty).
    const b = e.bucket;
    if (b !== undefined) {
      if (!b.delete(e)) return;
      if (b.size === 0) {
        this.#index.delete(e.key);
        this.#bytes -= bucketBytes(e.key);
      }
    } else if (this.#index.get(e.key) === e) {
      this.#index.delete(e.key);
      this.#bytes -= bucketBytes(e.key);
    } else return;
    this.#entries--;
    this.#bytes -= entryBytes(e.row, e.rowKey);
    this.#recycle(e);
  }

  /**
   * Keeps removed entry `e` for a later `#newEntry` (see `#free`), cleared of what it held; a
   * full free list lets it go.
   */
  #recycle(e: Entry): void {
    const free = this.#free;
    if (free.length >= FREE_MIN + (this.#entries >> 3)) return;
    e.row = NO_ROW;
    e.rowKey = 0;
    e.key = 0;
    e.n = 0;
    e.t0 = NO_TIME;
    e.d0 = 0;
    e.t1 = NO_TIME;
    e.d1 = 0;
    e.times = undefined;
    e.diffs = undefined;
    e.current = 0;
    e.heapKey = undefined;
    e.bucket = undefined;
    free.push(e);
  }

  /** `n` more (or fewer) held updates at `t` (already forwarded to the since). */
  #countTime(t: Timestamp, n: number): void {
    this.#updates += n;
    this.#times.add(t, n);
  }
}

/** Free entries kept at least (see `#free`). */
const FREE_MIN = 64;

/** The row of a free entry. */
const NO_ROW: Row = Object.freeze([]) as unknown as Row;

/**
 * Makes V8 store a string held as a map key flat: a key built by concatenation (`rowKey`,
 * `columnsKey`) is otherwise kept as its tree of pieces, about twice the bytes of the flat string
 * (reading a character flattens it in place).
 */
function flatten(s: string): void {
  flattened ^= s.charCodeAt(0) | 0;
}
/** Uses `flatten`'s reads (so no compiler drops them as dead). */
// biome-ignore lint/correctness/noUnusedVariables: written only, so that the reads are not dead code
let flattened = 0;

/**
 * The columns of a `arity`-column row outside `key`: with the key's, they tell rows apart (rows
 * of one key agree on the key columns, the key being injective).
 */
function nonKeyColumns(key: readonly number[], arity: number): number[] {
  const out: number[] = [];
  for (let c = 0; c < arity; c++) if (!key.includes(c)) out.push(c);
  return out;
}
