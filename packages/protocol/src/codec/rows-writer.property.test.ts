/**
 * `RowsWriter` packs rows byte for byte as `RowPacker` does — every datum kind (`anyRow`), the
 * inline kinds at their edges (int64 around ±2^52, ASCII and non-ASCII text, long text), rows
 * back to back across buffer growth — and throws what `RowPacker` throws for a non-datum.
 */
import { fc, test } from "@fast-check/vitest";
import { type Datum, type Row, RowPacker } from "@mzts/repr";
import { describe, expect } from "vitest";
import { anyRow } from "../testdata/arbitraries.js";
import { RowsWriter } from "./rows-writer.js";

const edgeDatum: fc.Arbitrary<Datum> = fc.oneof(
  fc.constantFrom<Datum>(
    null,
    true,
    false,
    0n,
    -1n,
    2n ** 52n - 1n,
    2n ** 52n,
    -(2n ** 52n) + 1n,
    -(2n ** 52n),
    2n ** 63n - 1n,
    -(2n ** 63n),
    "",
    "é",
    "a\u{1F600}",
    "x".repeat(200),
    1.5,
    -0,
  ),
  fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }),
  fc.string({ maxLength: 40 }),
  fc.string({ unit: "grapheme-ascii", maxLength: 300 }),
);
const row: fc.Arbitrary<Row> = fc.oneof(anyRow, fc.array(edgeDatum, { maxLength: 6 }));

const packed = (rows: readonly Row[]) => {
  const p = new RowPacker(8);
  for (const r of rows) p.pack(r);
  return p.finish();
};

describe("RowsWriter", () => {
  test.prop([fc.array(row, { maxLength: 20 })])("writes RowPacker's bytes", (rows) => {
    const w = new RowsWriter(4);
    for (const r of rows) w.row(r);
    expect(Buffer.from(w.view()).equals(Buffer.from(packed(rows)))).toBe(true);
    expect(w.length).toBe(packed(rows).length);
    w.clear();
    for (const r of rows.slice(1)) w.row(r);
    expect(Buffer.from(w.view()).equals(Buffer.from(packed(rows.slice(1))))).toBe(true);
    // copyTo: the same bytes at an offset, short (byte loop) and long (set) alike.
    const dst = new Uint8Array(w.length + 3).fill(0xee);
    w.copyTo(dst, 3);
    expect(Buffer.from(dst.subarray(3)).equals(Buffer.from(w.view()))).toBe(true);
    expect([...dst.subarray(0, 3)]).toEqual([0xee, 0xee, 0xee]);
  });

  test.prop([
    fc.array(row, { maxLength: 3 }),
    fc.constantFrom<unknown>(undefined, {}, 1n << 70n, "\uD800"),
  ])("throws what RowPacker throws for a value it cannot pack", (before, bad) => {
    const r = [...before.flat(), bad] as unknown as Row;
    let want: unknown;
    try {
      new RowPacker().pack(r);
    } catch (e) {
      want = e;
    }
    expect(want).toBeDefined();
    expect(() => new RowsWriter().row(r)).toThrow(want as Error);
  });
});
