/**
 * `LogTable`: the current rows of one introspection relation on one host, one per key, and the
 * updates that keep a log index equal to them.
 *
 * Events carry current values (events.ts), so a relation's rows are state: `upsert` replaces the
 * row of its key (retracting the old row and inserting the new one at the table's current time;
 * an identical row changes nothing), `remove` retracts the row of a key, `removeGroup` retracts
 * every row of an owner (column 0 — the dataflow, export, source or peek id — and worker), which
 * is how drops retract a dataflow's or a source's rows in one go.
 *
 * ## Coalescing
 * Hot values (frontiers, sizes) change every maintenance tick but are logged at interval
 * granularity, so changes are held per key and emitted by `flush` (before the log indexes
 * advance): one retraction of the row the index has and one insertion of the current row, at the
 * time of the key's last change. A change at a different time first emits the held one, so the
 * index sees exactly the state at every log time, with at most two updates per key and time.
 *
 * ## Invariants
 * - At most one live row per key (the relation's key columns); `size` counts them.
 * - After `flush`, the emitted updates summed up equal the live rows, each change at the clock's
 *   time (set by the host before each event) when it happened.
 * - Groups hold exactly the slots of live rows (no empty group is kept), and a slot outlives its
 *   row only until its removal is flushed, so memory follows the live rows however many were
 *   dropped.
 */
import type { Key } from "@mzts/dataflow";
import type { LogRelation } from "@mzts/protocol";
import { columnsKey, type Datum, type Row, rowKey, type Timestamp } from "@mzts/repr";
import type { EntryHolder } from "./log-arrange.js";
import type { KeyCell } from "./row-keys.js";

/**
 * Where a table's updates go (the relation's log arrangement); `key` is the row's key as the
 * table's `RowKeys` made it (the arrangement's key of the row, when the table keys by it);
 * `slot`: the key's slot, which keeps the arrangement entry of its row (`LogArrangeOperator`).
 */
export type EmitUpdate = (
  row: Row,
  time: Timestamp,
  diff: number,
  key: Key,
  slot: EntryHolder,
) => void;

/**
 * How a table keys its rows: `keyOf(row)` for a row, `lookupKeyOf(keyValues)` for a key's
 * values in key order (the same key). An `Arrangement` of the relation's key is one (then the
 * emitted keys are its keys); the default is `columnsKey` / `rowKey` of the relation's key.
 */
export interface RowKeys {
  keyOf(row: Row): Key;
  lookupKeyOf(keyValues: Row): Key;
}

/**
 * One key: its live row and, while it changed since the last flush (`dirty`), its row as last
 * emitted and the time of its last change. One object per key, reused by every change (issue 16:
 * a key replaced every tick costs one map lookup and no allocation besides its new row).
 */
interface Slot extends EntryHolder {
  readonly key: Key;
  /** The table whose map holds this slot (a `KeyCell` may carry it to another table's call). */
  readonly table: LogTable;
  /** In the table's map (false once dropped there: a cell holding it looks the key up again). */
  held: boolean;
  /** The live row (undefined: removed; the slot stays until the removal is emitted). */
  row: Row | undefined;
  /** While dirty: the row as the index has it (as last emitted). */
  emitted: Row | undefined;
  /** While dirty: the time of the last change. */
  time: Timestamp;
  /** Changed since the last flush (listed in `#dirty`). */
  dirty: boolean;
}

/** The current rows of one relation; see the file comment. */
export class LogTable {
  readonly relation: LogRelation;
  readonly #emit: EmitUpdate;
  readonly #clock: () => Timestamp;
  /** Column of `worker_id` (every relation has one). */
  readonly #workerColumn: number;
  readonly #keys: RowKeys;
  /** Key → its slot (a live row, or a removal not yet emitted). */
  readonly #slots = new Map<Key, Slot>();
  /** Number of live rows. */
  #live = 0;
  /** Group (column 0, worker) string → the slots of its live rows. */
  readonly #groups = new Map<string, Set<Slot>>();
  /** Slots changed since the last `flush`, in the order of their first change; emptied by `flush`. */
  #dirty: Slot[] = [];

  constructor(relation: LogRelation, clock: () => Timestamp, emit: EmitUpdate, keys?: RowKeys) {
    this.relation = relation;
    const key = relation.key;
    this.#keys = keys ?? {
      keyOf: (row) => columnsKey(row, key),
      lookupKeyOf: (values) => rowKey(values),
    };
    this.#clock = clock;
    this.#emit = emit;
    this.#workerColumn = relation.columns.findIndex((c) => c.name === "worker_id");
  }

  /** Number of live rows. */
  get size(): number {
    return this.#live;
  }

  /** The live rows (tests and debugging). */
  rows(): Row[] {
    const out: Row[] = [];
    for (const s of this.#slots.values()) if (s.row !== undefined) out.push(s.row);
    return out;
  }

  /** The key `upsert` files `row` under. */
  keyOf(row: Row): Key {
    return this.#keys.keyOf(row);
  }

  /** Makes `row` the row of its key (nothing when it already is). */
  upsert(row: Row): void {
    this.upsertKeyed(row, this.#keys.keyOf(row));
  }

  /**
   * `upsert` with the row's key already known: `key` must be `keyOf(row)` (callers keep the key
   * of a key they write every tick, built once; issue 16).
   */
  upsertKeyed(row: Row, key: Key): void {
    this.#upsertIn(this.#slotOf(key), row);
  }

  /**
   * `upsert` of a row whose key is `cell.key` (`keyOf(row)`), through the slot the cell holds
   * when it is this table's and live (no map lookup), else the key's slot, which the cell then
   * holds (issue 16).
   */
  upsertCell(row: Row, cell: KeyCell): void {
    let s = cell.slot as Slot | undefined;
    if (s === undefined || s.table !== this || !s.held) cell.slot = s = this.#slotOf(cell.key);
    this.#upsertIn(s, row);
  }

  /** The slot of `key`, made when missing. */
  #slotOf(key: Key): Slot {
    let s = this.#slots.get(key);
    if (s === undefined) {
      s = {
        key,
        table: this,
        held: true,
        row: undefined,
        emitted: undefined,
        time: 0n,
        dirty: false,
        entry: undefined,
        entryRow: undefined,
      };
      this.#slots.set(key, s);
    }
    return s;
  }

  #upsertIn(s: Slot, row: Row): void {
    if (s.row !== undefined) {
      if (sameRow(s.row, row)) return;
      shareKey(row, s.row, this.relation.key);
    }
    this.#touch(s);
    if (s.row === undefined) {
      this.#live++;
      const g = this.#groupOf(row);
      let slots = this.#groups.get(g);
      if (slots === undefined) this.#groups.set(g, (slots = new Set()));
      slots.add(s);
    }
    s.row = row;
  }

  /** Retracts the row whose key columns hold `keyValues` (in key order), if any. */
  remove(keyValues: readonly Datum[]): void {
    const s = this.#slots.get(this.#keys.lookupKeyOf(keyValues));
    if (s === undefined || s.row === undefined) return;
    const g = this.#groupOf(s.row);
    const slots = this.#groups.get(g);
    slots?.delete(s);
    if (slots?.size === 0) this.#groups.delete(g);
    this.#touch(s);
    s.row = undefined;
    this.#live--;
  }

  /** Retracts every row whose column 0 is `owner` and whose worker is `worker`. */
  removeGroup(owner: Datum, worker: bigint): void {
    const g = rowKey([owner, worker]);
    const slots = this.#groups.get(g);
    if (slots === undefined) return;
    this.#groups.delete(g);
    for (const s of slots) {
      this.#touch(s);
      s.row = undefined;
      this.#live--;
    }
  }

  /**
   * Emits every change since the last flush: per key, its row as last emitted is retracted and
   * its current row inserted, at the time of its last change (changes at one time coalesce).
   */
  flush(): void {
    const dirty = this.#dirty;
    if (dirty.length === 0) return;
    this.#dirty = [];
    for (let i = 0; i < dirty.length; i++) {
      const s = dirty[i]!;
      this.#emitChange(s);
      s.dirty = false;
      s.emitted = undefined;
      if (s.row === undefined) {
        this.#slots.delete(s.key);
        s.held = false;
      }
    }
  }

  /** Records that slot `s` changes now; a held change at another time is emitted first. */
  #touch(s: Slot): void {
    const now = this.#clock();
    if (s.dirty) {
      if (s.time === now) return;
      this.#emitChange(s);
    } else {
      s.dirty = true;
      this.#dirty.push(s);
    }
    s.emitted = s.row;
    s.time = now;
  }

  #emitChange(s: Slot): void {
    const current = s.row;
    const emitted = s.emitted;
    if (emitted !== undefined && current !== undefined && sameRow(emitted, current)) return;
    if (emitted !== undefined) this.#emit(emitted, s.time, -1, s.key, s);
    if (current !== undefined) this.#emit(current, s.time, 1, s.key, s);
  }

  #groupOf(row: Row): string {
    return rowKey([row[0]!, row[this.#workerColumn]!]);
  }
}

/** Rows of plain datums (text, int64, boolean, null) equal column by column. */
function sameRow(a: Row, b: Row): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
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
