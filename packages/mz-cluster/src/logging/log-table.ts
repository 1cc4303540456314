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
 * - Groups hold exactly the keys of live rows (no empty group is kept), so memory follows the
 *   live rows however many were dropped.
 */
import type { LogRelation } from "@mzts/protocol";
import { columnsKey, type Datum, type Row, rowKey, type Timestamp } from "@mzts/repr";

/** Where a table's updates go (the host's pending updates of the relation's log input). */
export type EmitUpdate = (row: Row, time: Timestamp, diff: number) => void;

/** A key changed at `time` since the last flush; `emitted` is its row as the index has it. */
interface Dirty {
  readonly emitted: Row | undefined;
  readonly time: Timestamp;
}

/** The current rows of one relation; see the file comment. */
export class LogTable {
  readonly relation: LogRelation;
  readonly #emit: EmitUpdate;
  readonly #clock: () => Timestamp;
  /** Column of `worker_id` (every relation has one). */
  readonly #workerColumn: number;
  /** Key string → live row. */
  readonly #rows = new Map<string, Row>();
  /** Group (column 0, worker) string → the key strings of its live rows. */
  readonly #groups = new Map<string, Set<string>>();
  /** Keys changed since the last `flush`, with their row as last emitted; emptied by `flush`. */
  readonly #dirty = new Map<string, Dirty>();

  constructor(relation: LogRelation, clock: () => Timestamp, emit: EmitUpdate) {
    this.relation = relation;
    this.#clock = clock;
    this.#emit = emit;
    this.#workerColumn = relation.columns.findIndex((c) => c.name === "worker_id");
  }

  /** Number of live rows. */
  get size(): number {
    return this.#rows.size;
  }

  /** The live rows (tests and debugging). */
  rows(): Row[] {
    return [...this.#rows.values()];
  }

  /** Makes `row` the row of its key (nothing when it already is). */
  upsert(row: Row): void {
    const key = columnsKey(row, this.relation.key);
    const old = this.#rows.get(key);
    if (old !== undefined && sameRow(old, row)) return;
    this.#touch(key, old);
    if (old === undefined) {
      const g = this.#groupOf(row);
      let keys = this.#groups.get(g);
      if (keys === undefined) this.#groups.set(g, (keys = new Set()));
      keys.add(key);
    }
    this.#rows.set(key, row);
  }

  /** Retracts the row whose key columns hold `keyValues` (in key order), if any. */
  remove(keyValues: readonly Datum[]): void {
    const key = rowKey(keyValues);
    const old = this.#rows.get(key);
    if (old === undefined) return;
    this.#touch(key, old);
    this.#rows.delete(key);
    const g = this.#groupOf(old);
    const keys = this.#groups.get(g);
    keys?.delete(key);
    if (keys?.size === 0) this.#groups.delete(g);
  }

  /** Retracts every row whose column 0 is `owner` and whose worker is `worker`. */
  removeGroup(owner: Datum, worker: bigint): void {
    const g = rowKey([owner, worker]);
    const keys = this.#groups.get(g);
    if (keys === undefined) return;
    this.#groups.delete(g);
    for (const key of keys) {
      this.#touch(key, this.#rows.get(key));
      this.#rows.delete(key);
    }
  }

  /**
   * Emits every change since the last flush: per key, its row as last emitted is retracted and
   * its current row inserted, at the time of its last change (changes at one time coalesce).
   */
  flush(): void {
    for (const [key, d] of this.#dirty) this.#emitChange(key, d);
    this.#dirty.clear();
  }

  /** Records that `key` (whose row is `current`) changes now; a change at another time is emitted first. */
  #touch(key: string, current: Row | undefined): void {
    const now = this.#clock();
    const d = this.#dirty.get(key);
    if (d !== undefined) {
      if (d.time === now) return;
      this.#emitChange(key, d);
    }
    this.#dirty.set(key, { emitted: current, time: now });
  }

  #emitChange(key: string, d: Dirty): void {
    const current = this.#rows.get(key);
    const { emitted, time } = d;
    if (emitted !== undefined && current !== undefined && sameRow(emitted, current)) return;
    if (emitted !== undefined) this.#emit(emitted, time, -1);
    if (current !== undefined) this.#emit(current, time, 1);
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
