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
 * ## Invariants
 * - At most one live row per key (the relation's key columns); `size` counts them.
 * - Every change is emitted as `(row, time, ±1)` through `emit` at the time set with `at` by the
 *   host before each event (`LogTables.at`); the emitted updates summed up equal the live rows.
 * - Groups hold exactly the keys of live rows (no empty group is kept), so memory follows the
 *   live rows however many were dropped.
 */
import type { LogRelation } from "@mzts/protocol";
import { columnsKey, type Datum, type Row, rowKey, type Timestamp } from "@mzts/repr";

/** Where a table's updates go (the host's pending updates of the relation's log input). */
export type EmitUpdate = (row: Row, time: Timestamp, diff: number) => void;

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

  /** Makes `row` the row of its key: retracts the old one (if different) and inserts it. */
  upsert(row: Row): void {
    const key = columnsKey(row, this.relation.key);
    const old = this.#rows.get(key);
    if (old !== undefined) {
      if (rowKey(old) === rowKey(row)) return;
      this.#emit(old, this.#clock(), -1);
    } else {
      const g = this.#groupOf(row);
      let keys = this.#groups.get(g);
      if (keys === undefined) this.#groups.set(g, (keys = new Set()));
      keys.add(key);
    }
    this.#rows.set(key, row);
    this.#emit(row, this.#clock(), 1);
  }

  /** Retracts the row whose key columns hold `keyValues` (in key order), if any. */
  remove(keyValues: readonly Datum[]): void {
    const key = rowKey(keyValues);
    const old = this.#rows.get(key);
    if (old === undefined) return;
    this.#rows.delete(key);
    const g = this.#groupOf(old);
    const keys = this.#groups.get(g);
    keys?.delete(key);
    if (keys?.size === 0) this.#groups.delete(g);
    this.#emit(old, this.#clock(), -1);
  }

  /** Retracts every row whose column 0 is `owner` and whose worker is `worker`. */
  removeGroup(owner: Datum, worker: bigint): void {
    const g = rowKey([owner, worker]);
    const keys = this.#groups.get(g);
    if (keys === undefined) return;
    this.#groups.delete(g);
    const now = this.#clock();
    for (const key of keys) {
      const old = this.#rows.get(key)!;
      this.#rows.delete(key);
      this.#emit(old, now, -1);
    }
  }

  #groupOf(row: Row): string {
    return rowKey([row[0]!, row[this.#workerColumn]!]);
  }
}
