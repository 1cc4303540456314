/**
 * `ReadCursor`: a read position in `[pos, end)` of a buffer, with the protobuf reads the direct
 * frame readers need — varints (uint32, below 2^53, uint64), length prefixes, ASCII strings and
 * packed uint32 lists. Every read returns -1 / `undefined` when the bytes do not fit or are not of
 * the expected shape, and the caller hands the frame to the reflective decoder. The read side of
 * `byte-cursor.ts`; used by `peek-reader.ts` (peek commands) and `compute/frontiers-scan.ts`
 * (frontier responses).
 */

const U32_MAX = 0xffff_ffff;

/**
 * Strings this long or longer are read by Node's `latin1Slice` (one flat string, ~3× faster):
 * appending a character at a time builds a chain of V8 cons strings from 13 characters on, one
 * object per character, flattened again on first hashing — every peek's uuid, on the replica's
 * main thread and on each worker (issue 16). Shorter ones are flat either way.
 */
const FLAT_BELOW = 13;
const LATIN1_SLICE = (
  globalThis as { Buffer?: { prototype: { latin1Slice?: (start: number, end: number) => string } } }
).Buffer?.prototype.latin1Slice;

/** A cursor over `[pos, end)`; every read returns -1 / undefined when the bytes do not fit. */
export class ReadCursor {
  constructor(
    readonly b: Uint8Array,
    public pos: number,
    public end: number,
  ) {}

  /** A varint of at most 5 bytes holding a uint32, or -1. */
  u32(): number {
    let v = 0;
    let scale = 1;
    for (let i = 0; i < 5; i++) {
      if (this.pos >= this.end) return -1;
      const x = this.b[this.pos++] as number;
      v += (x & 0x7f) * scale;
      if (x < 0x80) return v <= U32_MAX ? v : -1;
      scale *= 0x80;
    }
    return -1;
  }

  /**
   * A varint of at most 8 bytes holding a value below 2^53 (as a number), or -1: cut off, longer,
   * or at least 2^53.
   */
  u53(): number {
    let v = 0;
    // 2^(7k), exact: no `**` (a Math.pow call) per byte.
    let scale = 1;
    for (let k = 0; k < 8; k++, scale *= 0x80) {
      if (this.pos >= this.end) return -1;
      const x = this.b[this.pos++] as number;
      v += (x & 0x7f) * scale;
      if (x < 0x80) return v <= Number.MAX_SAFE_INTEGER ? v : -1;
    }
    return -1;
  }

  /** A varint of at most 10 bytes, as the unsigned 64-bit value, or undefined. */
  u64(): bigint | undefined {
    let lo = 0;
    let hi = 0n;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) return undefined;
      const x = this.b[this.pos++] as number;
      if (i < 7) lo += (x & 0x7f) * 2 ** (7 * i);
      else if (i < 9) hi |= BigInt(x & 0x7f) << BigInt(7 * i);
      // The tenth byte holds bit 63 only: anything more is the reflective decoder's to judge.
      else if (x > 1) return undefined;
      else hi |= BigInt(x) << 63n;
      // Below 2^49 (every peek's timestamp and most datums): one bigint, not three.
      if (x < 0x80) return i < 7 ? BigInt(lo) : BigInt.asUintN(64, BigInt(lo) | hi);
    }
    return undefined;
  }

  /** A length prefix and the end of the payload it announces (within this cursor), or -1. */
  sub(): number {
    const len = this.u32();
    if (len < 0 || this.pos + len > this.end) return -1;
    return this.pos + len;
  }

  /** `len` ASCII bytes as a string, or undefined. */
  ascii(len: number): string | undefined {
    if (len < 0 || this.pos + len > this.end) return undefined;
    const b = this.b;
    const at = this.pos;
    if (len >= FLAT_BELOW && LATIN1_SLICE !== undefined) {
      for (let i = 0; i < len; i++) if ((b[at + i] as number) >= 0x80) return undefined;
      this.pos += len;
      return LATIN1_SLICE.call(b, at, at + len);
    }
    let s = "";
    for (let i = 0; i < len; i++) {
      const c = b[at + i] as number;
      if (c >= 0x80) return undefined;
      s += String.fromCharCode(c);
    }
    this.pos += len;
    return s;
  }

  /** A length-delimited ASCII string, or undefined. */
  string(): string | undefined {
    const len = this.u32();
    return len < 0 ? undefined : this.ascii(len);
  }

  /** A packed list of uint32 (the payload of a length-delimited field), or undefined. */
  packedU32(): number[] | undefined {
    const end = this.sub();
    if (end < 0) return undefined;
    const out: number[] = [];
    const outer = this.end;
    this.end = end;
    while (this.pos < end) {
      const v = this.u32();
      if (v < 0) return undefined;
      out.push(v);
    }
    this.end = outer;
    return out;
  }

  /** The next tag, or -1 at the end. */
  tag(): number {
    return this.pos >= this.end ? -1 : this.u32();
  }
}
