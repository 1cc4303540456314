/**
 * The environment API codec's collection table: a cluster's `CollectionStatus` rows ⇄
 * `mz.environment.v1.CollectionTable`, the columnar wire form of `ClusterStatus.collections`
 * (issue 16: at 1,000 collections a nested message per collection, each with two nested
 * frontiers, cost ~10 ms to encode and decode; the table costs well under 1 ms).
 *
 * The wire form: ids and names each one space-separated string (neither a GlobalId nor a name
 * holds a space); write frontiers, sinces and lags as packed u64 columns, with the rows whose
 * frontier is empty or that have no lag listed apart (0 in the column); failures as a sparse
 * list of (row, reason). The domain stays a list of row objects, built in one pass.
 *
 * `collectionTableFromProto` validates everything a client relies on and throws a `FieldError`
 * naming the field: the table present, every column as long as the ids, each id a GlobalId and
 * each name a name, every listed row in range and strictly increasing, 0 in a column where the
 * row is listed as empty or without lag, lags within 2^53 − 1. Paths are built only on failure
 * (this runs once per row).
 */
import { create } from "@bufbuild/protobuf";
import type { Frontier, GlobalId } from "@mzts/repr";
import { decodeGlobalId, fail, required } from "../codec/field.js";
import {
  type CollectionFailure,
  type CollectionTable,
  CollectionTableSchema,
} from "../gen/mz/environment/v1/environment_pb.js";
import type { CollectionStatus } from "./api.js";
import { decodeName } from "./field-codec.js";

/** Separates the ids (and the names) in their one-string columns. */
const SEP = " ";
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

/** The table of `rows` (in their order). @throws Error when an id or name holds a space. */
export function collectionTableToProto(rows: readonly CollectionStatus[]): CollectionTable {
  const n = rows.length;
  const ids = new Array<string>(n);
  const names = new Array<string>(n);
  const writeFrontiers = new Array<bigint>(n);
  const sinces = new Array<bigint>(n);
  const lagMs = new Array<bigint>(n);
  const emptyWriteFrontierRows: number[] = [];
  const emptySinceRows: number[] = [];
  const noLagRows: number[] = [];
  const failures: { row: number; reason: string }[] = [];
  for (let i = 0; i < n; i++) {
    const r = rows[i]!;
    // A space would split a row in two: the decoder would reject the table, so say it here.
    if (r.id.includes(SEP) || r.name.includes(SEP)) {
      throw new Error(`collection ${JSON.stringify(r.name)} (${r.id}): a space in its id or name`);
    }
    ids[i] = r.id;
    names[i] = r.name;
    if (r.writeFrontier === null) {
      writeFrontiers[i] = 0n;
      emptyWriteFrontierRows.push(i);
    } else writeFrontiers[i] = r.writeFrontier;
    if (r.since === null) {
      sinces[i] = 0n;
      emptySinceRows.push(i);
    } else sinces[i] = r.since;
    if (r.lagMs === undefined) {
      lagMs[i] = 0n;
      noLagRows.push(i);
    } else lagMs[i] = BigInt(r.lagMs);
    if (r.failed !== undefined) failures.push({ row: i, reason: r.failed });
  }
  return create(CollectionTableSchema, {
    ids: ids.join(SEP),
    names: names.join(SEP),
    writeFrontiers,
    emptyWriteFrontierRows,
    sinces,
    emptySinceRows,
    lagMs,
    noLagRows,
    failures,
  });
}

/** The rows of a required table. @throws FieldError naming the field (see the file comment). */
export function collectionTableFromProto(
  p: CollectionTable | undefined,
  path: string,
): CollectionStatus[] {
  const t = required(p, path);
  const ids = t.ids === "" ? [] : t.ids.split(SEP);
  const n = ids.length;
  const names = t.names === "" ? [] : t.names.split(SEP);
  sameLength(names.length, n, `${path}.names`, "names");
  sameLength(t.writeFrontiers.length, n, `${path}.writeFrontiers`, "write frontiers");
  sameLength(t.sinces.length, n, `${path}.sinces`, "sinces");
  sameLength(t.lagMs.length, n, `${path}.lagMs`, "lags");
  const emptyWrite = listedRows(t.emptyWriteFrontierRows, t.writeFrontiers, n, path, [
    "emptyWriteFrontierRows",
    "writeFrontiers",
  ]);
  const emptySince = listedRows(t.emptySinceRows, t.sinces, n, path, ["emptySinceRows", "sinces"]);
  const noLag = listedRows(t.noLagRows, t.lagMs, n, path, ["noLagRows", "lagMs"]);
  const failed = failuresByRow(t.failures, n, `${path}.failures`);
  const out = new Array<CollectionStatus>(n);
  for (let i = 0; i < n; i++) {
    const id = ids[i]!;
    const name = names[i]!;
    const lag = t.lagMs[i]!;
    if (lag > MAX_SAFE) fail(`${path}.lagMs[${i}]`, `${lag} exceeds 2^53 - 1`);
    const row: {
      id: GlobalId;
      name: string;
      writeFrontier: Frontier;
      since: Frontier;
      lagMs?: number;
      failed?: string;
    } = {
      id: decodeGlobalId(id, `${path}.ids[${i}]`),
      name: decodeName(name, `${path}.names[${i}]`),
      writeFrontier: emptyWrite?.[i] === 1 ? null : t.writeFrontiers[i]!,
      since: emptySince?.[i] === 1 ? null : t.sinces[i]!,
    };
    if (noLag?.[i] !== 1) row.lagMs = Number(lag);
    const reason = failed?.get(i);
    if (reason !== undefined) row.failed = reason;
    out[i] = row;
  }
  return out;
}

function sameLength(len: number, n: number, path: string, what: string): void {
  if (len !== n) fail(path, `has ${len} ${what} for ${n} ids; every column has one per id`);
}

/**
 * The rows listed in `rows` as marks (undefined when none): each in range, strictly increasing,
 * with 0 in `column`.
 */
function listedRows(
  rows: readonly number[],
  column: readonly bigint[],
  n: number,
  path: string,
  [field, columnField]: readonly [string, string],
): Uint8Array | undefined {
  if (rows.length === 0) return undefined;
  const marks = new Uint8Array(n);
  let prev = -1;
  for (let j = 0; j < rows.length; j++) {
    const row = rows[j]!;
    checkRow(row, prev, n, `${path}.${field}[${j}]`);
    if (column[row] !== 0n) {
      fail(
        `${path}.${columnField}[${row}]`,
        `is ${column[row]} in a row listed in ${field}; it must be 0`,
      );
    }
    marks[row] = 1;
    prev = row;
  }
  return marks;
}

function failuresByRow(
  failures: readonly CollectionFailure[],
  n: number,
  path: string,
): Map<number, string> | undefined {
  if (failures.length === 0) return undefined;
  const out = new Map<number, string>();
  let prev = -1;
  failures.forEach((f, j) => {
    checkRow(f.row, prev, n, `${path}[${j}].row`);
    out.set(f.row, f.reason);
    prev = f.row;
  });
  return out;
}

function checkRow(row: number, prev: number, n: number, path: string): void {
  if (row >= n) fail(path, `row ${row} is out of range for ${n} rows`);
  if (row <= prev) fail(path, `row ${row} follows row ${prev}; rows must be strictly increasing`);
}
