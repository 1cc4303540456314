/**
 * `RowsWriter`: rows packed back to back exactly as `@mzts/repr` `RowPacker` packs them, with the
 * datums of introspection rows written inline (issue 16). The replica's main thread packs every
 * update row of the subscribe batches it frames (`response-frames.ts`): at idle with 1,000 indexes
 * ~2,000 rows `[export id, worker id, time]` a second. `RowPacker` checks and UTF-8-encodes each
 * text through `isWellFormed`/`encodeInto` (two native calls per short id) and sizes each varint
 * by division; here the common datums are written directly:
 * - null, booleans, int64 with |v| < 2^52 (tag 3, zigzag varint), text whose UTF-16 units are all
 *   ASCII (tag 7, length, the bytes);
 * - any other datum (float, numeric, bytes, timestamp, jsonb, large int64, non-ASCII text, or
 *   anything that is not a datum) packs its whole row by `encodeRow`: the same bytes, the same
 *   `InvalidDatum`.
 * Byte-identical to `RowPacker` for every row: `rows-writer.property.test.ts`.
 */
import { encodeRow, growBuffer, type Row } from "@mzts/repr";

const SMALL = 2 ** 52;
const NEG_SMALL = -SMALL;

export class RowsWriter {
  #buf: Uint8Array;
  #pos = 0;

  constructor(initialCapacity = 256) {
    this.#buf = new Uint8Array(initialCapacity);
  }

  /** Bytes written so far. */
  get length(): number {
    return this.#pos;
  }

  /** The bytes written so far (a view, valid until the next write or `clear`). */
  view(): Uint8Array {
    return this.#buf.subarray(0, this.#pos);
  }

  /** Copies the bytes written so far into `dst` at `at` (no view made: once per peek answer). */
  copyTo(dst: Uint8Array, at: number): void {
    const src = this.#buf;
    const n = this.#pos;
    if (n > 64) dst.set(src.subarray(0, n), at);
    else for (let i = 0; i < n; i++) dst[at + i] = src[i] as number;
  }

  /** Forgets what was written, keeping the buffer. */
  clear(): void {
    this.#pos = 0;
  }

  /** Appends one row. @throws InvalidDatum as `RowPacker.pack`. */
  row(row: Row): void {
    const start = this.#pos;
    if (!this.#inline(row)) {
      this.#pos = start;
      const b = encodeRow(row);
      this.#reserve(b.length);
      this.#buf.set(b, this.#pos);
      this.#pos += b.length;
    }
  }

  /** Writes `row` if every datum is one written inline; false (partly written) otherwise. */
  #inline(row: Row): boolean {
    const n = row.length;
    this.#reserve(10);
    this.#varint(n);
    for (let i = 0; i < n; i++) {
      const d = row[i];
      this.#reserve(11);
      if (d === null) this.#buf[this.#pos++] = 0;
      else if (typeof d === "string") {
        const len = d.length;
        this.#reserve(len + 10);
        const buf = this.#buf;
        buf[this.#pos++] = 7;
        this.#varint(len);
        let p = this.#pos;
        for (let k = 0; k < len; k++) {
          const c = d.charCodeAt(k);
          if (c >= 0x80) return false;
          buf[p++] = c;
        }
        this.#pos = p;
      } else if (typeof d === "bigint") {
        if (!(d > NEG_SMALL && d < SMALL)) return false;
        const v = Number(d);
        this.#buf[this.#pos++] = 3;
        this.#varint(v >= 0 ? v * 2 : -v * 2 - 1);
      } else if (typeof d === "boolean") this.#buf[this.#pos++] = d ? 2 : 1;
      else return false;
    }
    return true;
  }

  /** An unsigned varint (< 2^53); room for 8 bytes was reserved. */
  #varint(n: number): void {
    const buf = this.#buf;
    let p = this.#pos;
    while (n >= 0x80) {
      buf[p++] = (n % 0x80) | 0x80;
      n = Math.floor(n / 0x80);
    }
    buf[p++] = n;
    this.#pos = p;
  }

  #reserve(n: number): void {
    if (this.#pos + n <= this.#buf.length) return;
    this.#buf = growBuffer(this.#buf, this.#pos, n);
  }
}
