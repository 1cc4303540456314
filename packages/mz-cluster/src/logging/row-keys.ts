/**
 * `DataflowRowKeys`: what both compute logging hosts (compute's legacy `ComputeRelations` and the
 * unified `DataflowUpdates`) keep per live dataflow so a per-tick row costs no key building: the
 * dataflow's and its operators' id datums, and the arrangement key of each per-tick row
 * (`scheduling_elapsed` by operator; `compute_frontiers`, `arrangement_sizes` and
 * `compute_import_frontiers` by export), made at the row's first write (issue 16). A row's key
 * depends only on its key columns, which are these ids, so the first key stays right for every
 * later value of the row. An export's keys go with `dropExport`, the rest with the dataflow.
 *
 * Each key is held in a `KeyCell`, which also keeps the table slot the row was last written to
 * (the table's own object, opaque here): a table given the cell (`upsertCell`) writes the row
 * there without looking the key up in its map — the map lookup was the largest single cost of a
 * per-tick row (issue 16). The table checks that the slot is its own and still live, else finds
 * or makes the key's slot and stores it in the cell.
 */
import type { Key } from "@mzts/dataflow";
import type { Row } from "@mzts/repr";

/** What makes a row's arrangement key (a log table, or its arrangement). */
export interface RowKeyer {
  keyOf(row: Row): Key;
}

/** A per-tick row's key and the table slot it was last written to (see the file comment). */
export interface KeyCell {
  readonly key: Key;
  /** The writing table's slot of `key` (undefined: none yet); only that table reads it. */
  slot: unknown;
}

interface ExportRowKeys {
  frontier?: KeyCell;
  size?: KeyCell;
  imports?: Map<string, KeyCell>;
}

/** A new cell of `key`. */
function cell(key: Key): KeyCell {
  return { key, slot: undefined };
}

/** One live dataflow's id datums and per-tick row keys; see the file comment. */
export class DataflowRowKeys {
  /** The dataflow id datum. */
  readonly id: bigint;
  readonly #operators: bigint[] = [];
  readonly #elapsed: KeyCell[] = [];
  readonly #exports = new Map<string, ExportRowKeys>();

  constructor(dataflowId: number) {
    this.id = BigInt(dataflowId);
  }

  /** Whether operator `operatorId`'s datum and key are cached: a small non-negative integer (it indexes an array). */
  static caches(operatorId: number): boolean {
    return Number.isSafeInteger(operatorId) && operatorId >= 0 && operatorId < 65_536;
  }

  /** The datum of operator `operatorId` (`caches(operatorId)`). */
  operator(operatorId: number): bigint {
    return (this.#operators[operatorId] ??= BigInt(operatorId));
  }

  /** The key cell of `row`, operator `operatorId`'s `scheduling_elapsed` row. */
  elapsedKey(operatorId: number, row: Row, keyer: RowKeyer): KeyCell {
    return (this.#elapsed[operatorId] ??= cell(keyer.keyOf(row)));
  }

  /** The key cell of `row`, export `exportId`'s `compute_frontiers` row. */
  frontierKey(exportId: string, row: Row, keyer: RowKeyer): KeyCell {
    const x = this.#export(exportId);
    return (x.frontier ??= cell(keyer.keyOf(row)));
  }

  /** The key cell of `row`, export `exportId`'s `arrangement_sizes` row. */
  sizeKey(exportId: string, row: Row, keyer: RowKeyer): KeyCell {
    const x = this.#export(exportId);
    return (x.size ??= cell(keyer.keyOf(row)));
  }

  /** The key cell of `row`, export `exportId`'s `compute_import_frontiers` row for `importId`. */
  importKey(exportId: string, importId: string, row: Row, keyer: RowKeyer): KeyCell {
    const imports = (this.#export(exportId).imports ??= new Map());
    let c = imports.get(importId);
    if (c === undefined) imports.set(importId, (c = cell(keyer.keyOf(row))));
    return c;
  }

  /** Forgets export `exportId`'s keys (it was dropped). */
  dropExport(exportId: string): void {
    this.#exports.delete(exportId);
  }

  #export(exportId: string): ExportRowKeys {
    let x = this.#exports.get(exportId);
    if (x === undefined) this.#exports.set(exportId, (x = {}));
    return x;
  }
}
