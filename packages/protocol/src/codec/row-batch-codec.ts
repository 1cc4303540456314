/**
 * Bulk row codecs: peek results (`RowBatch`: rows with multiplicities) and subscribe updates
 * (`UpdateBatch`: rows with times and diffs), with the rows packed by `@mzts/repr` `RowPacker`.
 *
 * Format version 1: the rows are written back to back with `RowPacker.pack`, one per entry of
 * `diffs`, and nothing after them. Decoding checks the version, that exactly `len(diffs)` rows
 * decode with no trailing bytes, that `len(times) == len(diffs)`, and the diffs' ranges (peek
 * multiplicities positive, update diffs non-zero, all safe integers).
 */
import { create } from "@bufbuild/protobuf";
import { type Row, RowDecodeError, RowPacker, RowReader, type Update } from "@mzts/repr";
import {
  type RowBatch,
  RowBatchSchema,
  type UpdateBatch,
  UpdateBatchSchema,
} from "../gen/mz/repr/v1/repr_pb.js";
import { fail, safeI64 } from "./field.js";
import { ROW_FORMAT_VERSION } from "./row-format.js";

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

/** The row encoding version this build writes and reads. */
export { ROW_FORMAT_VERSION };

/** Rows with their (positive) multiplicities, as a peek answers them. */
export type PeekRows = ReadonlyArray<readonly [row: Row, count: number]>;

/** Packs peek rows. @throws InvalidDatum when a row holds a non-datum. */
export function rowBatchToProto(rows: PeekRows): RowBatch {
  const packer = new RowPacker(64 + rows.length * 16);
  const diffs: bigint[] = new Array(rows.length);
  rows.forEach(([row, count], i) => {
    packer.pack(row);
    diffs[i] = BigInt(count);
  });
  return create(RowBatchSchema, {
    formatVersion: ROW_FORMAT_VERSION,
    rows: packer.finish(),
    diffs,
  });
}

/** Packs subscribe updates. @throws InvalidDatum when a row holds a non-datum. */
export function updateBatchToProto(updates: readonly Update[]): UpdateBatch {
  const packer = new RowPacker(64 + updates.length * 16);
  const times: bigint[] = new Array(updates.length);
  const diffs: bigint[] = new Array(updates.length);
  updates.forEach(([row, time, diff], i) => {
    packer.pack(row);
    times[i] = time;
    diffs[i] = BigInt(diff);
  });
  return create(UpdateBatchSchema, {
    formatVersion: ROW_FORMAT_VERSION,
    rows: packer.finish(),
    times,
    diffs,
  });
}

/** Unpacks `count` rows from `bytes`, failing on bad bytes or trailing data. */
function unpackRows(version: number, bytes: Uint8Array, count: number, path: string): Row[] {
  if (version !== ROW_FORMAT_VERSION) {
    fail(
      `${path}.formatVersion`,
      `unknown row format version ${version}; this build reads version ${ROW_FORMAT_VERSION}`,
    );
  }
  const reader = new RowReader(bytes);
  const rows = new Array<Row>(count);
  for (let i = 0; i < count; i++) {
    try {
      rows[i] = reader.row();
    } catch (e) {
      if (e instanceof RowDecodeError)
        fail(`${path}.rows`, `row ${i} does not decode: ${e.reason}`);
      throw e;
    }
  }
  if (!reader.done) {
    fail(`${path}.rows`, `trailing bytes after ${count} rows (one row per entry of diffs)`);
  }
  return rows;
}

/**
 * Decodes peek rows. The error path of a diff (`<path>.diffs[i]`) is built only for a diff that
 * fails (issue 16: a string per row was a visible share of environmentd's peek path).
 * @throws FieldError
 */
export function rowBatchFromProto(p: RowBatch, path: string): Array<[Row, number]> {
  const diffs = p.diffs;
  const rows = unpackRows(p.formatVersion, p.rows, diffs.length, path);
  const out = new Array<[Row, number]>(diffs.length);
  for (let i = 0; i < diffs.length; i++) {
    const d = diffs[i]!;
    // In range and positive: the checks below would pass; otherwise they fail with the path.
    if (!(d > 0n && d <= MAX_SAFE)) {
      const count = safeI64(d, `${path}.diffs[${i}]`);
      fail(
        `${path}.diffs[${i}]`,
        `multiplicity ${count} is not positive; report negative accumulations as a peek error`,
      );
    }
    out[i] = [rows[i]!, Number(d)];
  }
  return out;
}

/** Decodes subscribe updates. @throws FieldError */
export function updateBatchFromProto(p: UpdateBatch, path: string): Update[] {
  if (p.times.length !== p.diffs.length) {
    fail(`${path}.times`, `has ${p.times.length} entries but diffs has ${p.diffs.length}`);
  }
  const rows = unpackRows(p.formatVersion, p.rows, p.diffs.length, path);
  return p.diffs.map((d, i): Update => {
    const diff = safeI64(d, `${path}.diffs[${i}]`);
    if (diff === 0) fail(`${path}.diffs[${i}]`, "diff is zero; batches are consolidated");
    return [rows[i]!, p.times[i]!, diff];
  });
}
