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
 */
import { Arrangement } from "@mzts/dataflow";
import type { LogIndex } from "@mzts/mz-cluster/logging";
import type { LogRelation } from "@mzts/protocol";
import { columnsKey, type Datum, datumKey, Frontier, type Row, rowsEqual } from "@mzts/repr";

export class LogTable implements LogIndex {
  readonly id: string;
  readonly relation: LogRelation;
  readonly key: readonly number[];
  readonly arity: number;
  readonly arrangement: Arrangement;
  readonly errors: Arrangement;
  /** Current row per key. */
  readonly #rows = new Map<string, Row>();
  /** First column's datum key → keys of the current rows in that group. */
  readonly #groups = new Map<string, Set<string>>();
  /** Key columns in key order, for key rows given by `delete`. */
  readonly #keyPositions: readonly number[];

  constructor(id: string, relation: LogRelation) {
    this.id = id;
    this.relation = relation;
    this.key = relation.key;
    this.arity = relation.columns.length;
    this.arrangement = new Arrangement(`log ${relation.name} ${id}`, relation.key);
    this.errors = new Arrangement(`log ${relation.name} ${id} errors`, []);
    this.#keyPositions = relation.key.map((_, i) => i);
  }

  /** Number of current rows. */
  get size(): number {
    return this.#rows.size;
  }

  /** Makes `row` its key's current row at `time`. */
  upsert(row: Row, time: bigint): void {
    const k = columnsKey(row, this.key);
    const old = this.#rows.get(k);
    if (old !== undefined) {
      if (rowsEqual(old, row)) return;
      this.arrangement.insert(old, time, -1);
    } else {
      const g = datumKey(row[0] ?? null);
      let group = this.#groups.get(g);
      if (!group) this.#groups.set(g, (group = new Set()));
      group.add(k);
    }
    this.#rows.set(k, row);
    this.arrangement.insert(row, time, 1);
  }

  /** The current row of a key (the key columns' values, in key order), if any. */
  get(key: readonly Datum[]): Row | undefined {
    return this.#rows.get(columnsKey(key, this.#keyPositions));
  }

  /** Retracts the current row of a key (the key columns' values, in key order) at `time`. */
  delete(key: readonly Datum[], time: bigint): void {
    const k = columnsKey(key, this.#keyPositions);
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

  /** Advances both arrangements' upper and since (monotone: callers never move them back). */
  advance(upper: bigint, since: bigint): void {
    if (Frontier.lessThan(this.arrangement.upper, upper)) {
      this.arrangement.advanceUpper(upper);
      this.errors.advanceUpper(upper);
    }
    if (Frontier.lessThan(this.arrangement.since, since)) {
      this.arrangement.allowCompaction(since);
      this.errors.allowCompaction(since);
    }
  }

  /** Frees everything (reads fail afterwards). */
  free(): void {
    this.#rows.clear();
    this.#groups.clear();
    this.arrangement.allowCompaction(Frontier.EMPTY);
    this.errors.allowCompaction(Frontier.EMPTY);
  }

  #retract(k: string, row: Row, time: bigint): void {
    this.#rows.delete(k);
    const g = datumKey(row[0] ?? null);
    const group = this.#groups.get(g);
    if (group?.delete(k) && group.size === 0) this.#groups.delete(g);
    this.arrangement.insert(row, time, -1);
  }
}
