/**
 * `DataflowRowKeys`: what both compute logging hosts (compute's legacy `ComputeRelations` and the
 * unified `DataflowUpdates`) keep per live dataflow so a per-tick row costs no key building: the
 * dataflow's and its operators' id datums, and the arrangement key of each per-tick row
 * (`scheduling_elapsed` by operator; `compute_frontiers`, `arrangement_sizes` and
 * `compute_import_frontiers` by export), made at the row's first write (issue 16). A row's key
 * depends only on its key columns, which are these ids, so the first key stays right for every
 * later value of the row. An export's keys go with `dropExport`, the rest with the dataflow.
 */
import type { Key } from "@mzts/dataflow";
import type { Row } from "@mzts/repr";

/** What makes a row's arrangement key (a log table, or its arrangement). */
export interface RowKeyer {
  keyOf(row: Row): Key;
}

interface ExportRowKeys {
  frontier?: Key;
  size?: Key;
  imports?: Map<string, Key>;
}

/** One live dataflow's id datums and per-tick row keys; see the file comment. */
export class DataflowRowKeys {
  /** The dataflow id datum. */
  readonly id: bigint;
  readonly #operators: bigint[] = [];
  readonly #elapsed: Key[] = [];
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

  /** The key of `row`, operator `operatorId`'s `scheduling_elapsed` row. */
  elapsedKey(operatorId: number, row: Row, keyer: RowKeyer): Key {
    return (this.#elapsed[operatorId] ??= keyer.keyOf(row));
  }

  /** The key of `row`, export `exportId`'s `compute_frontiers` row. */
  frontierKey(exportId: string, row: Row, keyer: RowKeyer): Key {
    const x = this.#export(exportId);
    return (x.frontier ??= keyer.keyOf(row));
  }

  /** The key of `row`, export `exportId`'s `arrangement_sizes` row. */
  sizeKey(exportId: string, row: Row, keyer: RowKeyer): Key {
    const x = this.#export(exportId);
    return (x.size ??= keyer.keyOf(row));
  }

  /** The key of `row`, export `exportId`'s `compute_import_frontiers` row for `importId`. */
  importKey(exportId: string, importId: string, row: Row, keyer: RowKeyer): Key {
    const imports = (this.#export(exportId).imports ??= new Map());
    let key = imports.get(importId);
    if (key === undefined) imports.set(importId, (key = keyer.keyOf(row)));
    return key;
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
