/**
 * Rows: ordered tuples of datums, with a compact binary encoding, a total order, an injective
 * string key (for hash maps) and a stable 32-bit hash (for exchange between workers).
 *
 * ## Binary encoding (one row)
 * `varint(columns)` then per datum a tag byte and its payload:
 *
 * | tag | datum                     | payload                                   |
 * |-----|---------------------------|-------------------------------------------|
 * | 0   | null                      | —                                         |
 * | 1/2 | false / true              | —                                         |
 * | 3   | int64 with \|v\| < 2^52   | zigzag varint                             |
 * | 4   | int64 (any)               | 8 bytes, little-endian two's complement   |
 * | 5   | float64                   | 8 bytes, little-endian IEEE 754           |
 * | 6   | numeric                   | varint scale, varint length, signed bytes |
 * | 7   | text                      | varint byte length, UTF-8                 |
 * | 8   | bytes                     | varint length, bytes                      |
 * | 9   | timestamp                 | 8 bytes, little-endian two's complement   |
 * | 10  | jsonb                     | varint byte length, UTF-8 canonical text  |
 *
 * Rows carry no version byte: containers that store rows (persist batches, protocol messages)
 * carry the format version.
 */
import { Datum, type Jsonb, type Numeric, type TimestampDatum } from "./datum.js";
import { InvalidDatum, RowDecodeError } from "./errors.js";

export type Row = readonly Datum[];

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });
const SMALL = 2 ** 52;
const INT64_MIN = -(1n << 63n);
const INT64_MAX = (1n << 63n) - 1n;

/** Appends rows to one growable buffer; `finish()` returns the bytes written so far. */
export class RowPacker {
  #buf: Uint8Array;
  #view: DataView;
  #pos = 0;

  constructor(initialCapacity = 256) {
    this.#buf = new Uint8Array(initialCapacity);
    this.#view = new DataView(this.#buf.buffer);
  }

  get length(): number {
    return this.#pos;
  }

  /** Appends one row. @throws InvalidDatum when a column holds something that is not a datum. */
  pack(row: Row): this {
    this.varint(row.length);
    for (const d of row) this.#datum(d);
    return this;
  }

  /** Appends an unsigned varint (< 2^53). */
  varint(n: number): this {
    this.#reserve(8);
    while (n >= 0x80) {
      this.#buf[this.#pos++] = (n % 0x80) | 0x80;
      n = Math.floor(n / 0x80);
    }
    this.#buf[this.#pos++] = n;
    return this;
  }

  /** Appends raw bytes with a varint length. */
  bytes(b: Uint8Array): this {
    this.varint(b.length);
    this.#reserve(b.length);
    this.#buf.set(b, this.#pos);
    this.#pos += b.length;
    return this;
  }

  /** Appends a UTF-8 string with a varint byte length. */
  string(s: string): this {
    // Worst case 3 bytes per UTF-16 unit.
    const max = s.length * 3;
    this.#reserve(max + 8);
    const lenPos = this.#pos;
    // Reserve the largest varint we could need, then write in place.
    const lenBytes = varintSize(max);
    const { written } = encoder.encodeInto(s, this.#buf.subarray(lenPos + lenBytes));
    const actual = varintSize(written);
    if (actual !== lenBytes)
      this.#buf.copyWithin(lenPos + actual, lenPos + lenBytes, lenPos + lenBytes + written);
    this.varint(written);
    this.#pos = lenPos + actual + written;
    return this;
  }

  /** A copy of the bytes written so far. */
  finish(): Uint8Array {
    return this.#buf.slice(0, this.#pos);
  }

  /** Forgets what was written, keeping the buffer. */
  clear(): void {
    this.#pos = 0;
  }

  #datum(d: Datum): void {
    this.#reserve(9);
    const buf = this.#buf;
    if (d === null) {
      buf[this.#pos++] = 0;
      return;
    }
    switch (typeof d) {
      case "boolean":
        buf[this.#pos++] = d ? 2 : 1;
        return;
      case "bigint": {
        if (d > -SMALL && d < SMALL) {
          const n = Number(d);
          buf[this.#pos++] = 3;
          this.varint(n >= 0 ? n * 2 : -n * 2 - 1);
        } else {
          if (d < INT64_MIN || d > INT64_MAX) throw new InvalidDatum(d, "out of int64 range");
          buf[this.#pos++] = 4;
          this.#view.setBigInt64(this.#pos, d, true);
          this.#pos += 8;
        }
        return;
      }
      case "number":
        buf[this.#pos++] = 5;
        this.#view.setFloat64(this.#pos, d, true);
        this.#pos += 8;
        return;
      case "string":
        if (!d.isWellFormed())
          throw new InvalidDatum(d, "text with a lone UTF-16 surrogate cannot be stored");
        buf[this.#pos++] = 7;
        this.string(d);
        return;
    }
    if (d instanceof Uint8Array) {
      buf[this.#pos++] = 8;
      this.bytes(d);
      return;
    }
    switch (d?.kind) {
      case "numeric":
        buf[this.#pos++] = 6;
        this.varint(d.scale);
        this.bytes(bigintToBytes(d.unscaled));
        return;
      case "timestamp":
        if (d.ms < INT64_MIN || d.ms > INT64_MAX)
          throw new InvalidDatum(d.ms, "timestamp out of range");
        buf[this.#pos++] = 9;
        this.#view.setBigInt64(this.#pos, d.ms, true);
        this.#pos += 8;
        return;
      case "jsonb":
        buf[this.#pos++] = 10;
        this.string(d.text);
        return;
    }
    throw new InvalidDatum(d, "not a datum");
  }

  #reserve(n: number): void {
    if (this.#pos + n <= this.#buf.length) return;
    this.#buf = growBuffer(this.#buf, this.#pos, n);
    this.#view = new DataView(this.#buf.buffer);
  }
}

/** Reads rows (and varints/strings) back from bytes written by `RowPacker`. */
export class RowReader {
  readonly #buf: Uint8Array;
  readonly #view: DataView;
  #pos: number;
  readonly #end: number;

  constructor(bytes: Uint8Array, offset = 0, end = bytes.length) {
    this.#buf = bytes;
    this.#view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.#pos = offset;
    this.#end = end;
  }

  get offset(): number {
    return this.#pos;
  }

  get done(): boolean {
    return this.#pos >= this.#end;
  }

  /** Reads one row. @throws RowDecodeError on truncated or malformed bytes. */
  row(): Row {
    const n = this.varint();
    if (n > this.#end - this.#pos)
      throw new RowDecodeError(this.#pos, `column count ${n} exceeds the remaining bytes`);
    const out = new Array<Datum>(n);
    for (let i = 0; i < n; i++) out[i] = this.#datum();
    return out;
  }

  varint(): number {
    let n = 0;
    let mul = 1;
    for (let i = 0; i < 8; i++) {
      if (this.#pos >= this.#end) throw new RowDecodeError(this.#pos, "truncated varint");
      const b = this.#buf[this.#pos++]!;
      n += (b & 0x7f) * mul;
      if (b < 0x80) return n;
      mul *= 0x80;
    }
    throw new RowDecodeError(this.#pos, "varint longer than 8 bytes");
  }

  bytes(): Uint8Array {
    const n = this.varint();
    this.#need(n);
    const out = this.#buf.slice(this.#pos, this.#pos + n);
    this.#pos += n;
    return out;
  }

  string(): string {
    const n = this.varint();
    this.#need(n);
    const at = this.#pos;
    try {
      const s = decoder.decode(this.#buf.subarray(at, at + n));
      this.#pos += n;
      return s;
    } catch {
      throw new RowDecodeError(at, "invalid UTF-8 in a text datum");
    }
  }

  #need(n: number): void {
    if (this.#pos + n > this.#end)
      throw new RowDecodeError(this.#pos, `needs ${n} bytes, ${this.#end - this.#pos} remain`);
  }

  #datum(): Datum {
    this.#need(1);
    const at = this.#pos;
    const tag = this.#buf[this.#pos++]!;
    switch (tag) {
      case 0:
        return null;
      case 1:
        return false;
      case 2:
        return true;
      case 3: {
        const z = this.varint();
        return BigInt(z % 2 === 0 ? z / 2 : -(z + 1) / 2);
      }
      case 4: {
        this.#need(8);
        const v = this.#view.getBigInt64(this.#pos, true);
        this.#pos += 8;
        return v;
      }
      case 5: {
        this.#need(8);
        const v = this.#view.getFloat64(this.#pos, true);
        this.#pos += 8;
        return v;
      }
      case 6: {
        const scale = this.varint();
        const unscaled = bytesToBigint(this.bytes());
        try {
          return Datum.numericFromParts(unscaled, scale);
        } catch (e) {
          throw new RowDecodeError(at, (e as Error).message);
        }
      }
      case 7:
        return this.string();
      case 8:
        return this.bytes();
      case 9: {
        this.#need(8);
        const ms = this.#view.getBigInt64(this.#pos, true);
        this.#pos += 8;
        return Object.freeze({ kind: "timestamp", ms }) as TimestampDatum;
      }
      case 10:
        return Object.freeze({ kind: "jsonb", text: this.string() }) as Jsonb;
      default:
        throw new RowDecodeError(at, `unknown datum tag ${tag}`);
    }
  }
}

/** Encodes one row. */
export function encodeRow(row: Row): Uint8Array {
  return new RowPacker(16 + row.length * 9).pack(row).finish();
}

/** Decodes one row; the bytes must hold exactly one row. @throws RowDecodeError */
export function decodeRow(bytes: Uint8Array): Row {
  const r = new RowReader(bytes);
  const row = r.row();
  if (!r.done) throw new RowDecodeError(r.offset, "trailing bytes after the row");
  return row;
}

/** Total order over rows: column by column, then by length. */
export function compareRows(a: Row, b: Row): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const c = Datum.compare(a[i]!, b[i]!);
    if (c !== 0) return c;
  }
  return a.length - b.length;
}

/** Structural row equality. */
export function rowsEqual(a: Row, b: Row): boolean {
  return a.length === b.length && compareRows(a, b) === 0;
}

/**
 * An injective string key for a datum: equal datums (by `Datum.compare`) give equal keys and
 * different datums different keys. Used as a JS Map key by operators and consolidation.
 */
export function datumKey(d: Datum): string {
  if (d === null) return "N";
  switch (typeof d) {
    case "boolean":
      return d ? "T" : "F";
    case "bigint":
      return `i${d};`;
    case "number":
      return `f${Object.is(d, -0) ? 0 : d};`;
    case "string":
      return `s${d.length}:${d}`;
  }
  if (d instanceof Uint8Array) return `b${Buffer.from(d).toString("hex")};`;
  switch ((d as Numeric | TimestampDatum | Jsonb).kind) {
    case "numeric":
      return `n${Datum.numericToString(d as Numeric)};`;
    case "timestamp":
      return `t${(d as TimestampDatum).ms};`;
    case "jsonb":
      return `j${(d as Jsonb).text.length}:${(d as Jsonb).text}`;
  }
  throw new InvalidDatum(d, "not a datum");
}

/** An injective string key for a row (see `datumKey`). */
export function rowKey(row: Row): string {
  if (row.length === 1) return datumKey(row[0]!);
  let s = "";
  for (let i = 0; i < row.length; i++) s += datumKey(row[i]!);
  return s;
}

/** An injective key for the given columns of a row. */
export function columnsKey(row: Row, columns: readonly number[]): string {
  let s = "";
  for (let i = 0; i < columns.length; i++) s += datumKey(row[columns[i]!] ?? null);
  return s;
}

/**
 * A stable 32-bit hash of a string (FNV-1a over UTF-16 code units, with a final avalanche).
 * Identical in every worker and process, so it can route data between workers.
 */
export function hashString(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** The stable hash of a row's key columns (or the whole row). */
export function hashRow(row: Row, columns?: readonly number[]): number {
  return hashString(columns ? columnsKey(row, columns) : rowKey(row));
}

/** Bytes of the (protobuf / row) varint of a non-negative safe integer. */
export function varintSize(n: number): number {
  let s = 1;
  while (n >= 0x80) {
    n = Math.floor(n / 0x80);
    s++;
  }
  return s;
}

/** Two's-complement little-endian bytes of a bigint (minimal length). */
function bigintToBytes(v: bigint): Uint8Array {
  const out: number[] = [];
  let x = v;
  for (;;) {
    const byte = Number(x & 0xffn);
    x >>= 8n;
    out.push(byte);
    const signBit = (byte & 0x80) !== 0;
    if ((x === 0n && !signBit) || (x === -1n && signBit)) break;
  }
  return Uint8Array.from(out);
}

function bytesToBigint(b: Uint8Array): bigint {
  if (b.length === 0) return 0n;
  let v = 0n;
  for (let i = b.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]!);
  if ((b[b.length - 1]! & 0x80) !== 0) v -= 1n << BigInt(8 * b.length);
  return v;
}

/**
 * A buffer at least `used + need` bytes long (capacity doubled until it is) holding `buf`'s first
 * `used` bytes: how a growable writer (`RowPacker`, protocol's `RowsWriter`) makes room.
 */
export function growBuffer(buf: Uint8Array, used: number, need: number): Uint8Array {
  let cap = Math.max(buf.length * 2, 1);
  while (cap < used + need) cap *= 2;
  const next = new Uint8Array(cap);
  next.set(buf.subarray(0, used));
  return next;
}
