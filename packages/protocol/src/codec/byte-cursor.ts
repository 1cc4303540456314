/**
 * `ByteCursor`: a write position in one pre-sized buffer, with protobuf varints — the shared base
 * of the direct encoders that size a message first and then write it in one pass
 * (`response-frames.ts`, `environment/peek-response-binary.ts`), and `varint64Size`, the length
 * the first pass needs. It does no bounds checks: the
 * encoders size the buffer exactly and check what they wrote.
 */
import { varintSize } from "@mzts/repr";

const U64 = (1n << 64n) - 1n;
const SAFE_MAX = BigInt(Number.MAX_SAFE_INTEGER);

/** Bytes of the varint of an int64/uint64 (negative: two's complement, 10 bytes). */
export function varint64Size(v: bigint): number {
  if (v >= 0n && v <= SAFE_MAX) return varintSize(Number(v));
  let u = v & U64;
  let len = 1;
  while (u >= 0x80n) {
    u >>= 7n;
    len++;
  }
  return len;
}

export class ByteCursor<B extends Uint8Array = Uint8Array> {
  pos = 0;
  constructor(readonly buf: B) {}

  /** An unsigned varint of `n` (an integer in [0, 2^53)). */
  varint(n: number): void {
    while (n >= 0x80) {
      this.buf[this.pos++] = (n % 0x80) | 0x80;
      n = Math.floor(n / 0x80);
    }
    this.buf[this.pos++] = n;
  }

  /** The varint of an int64/uint64 (negative: two's complement, 10 bytes). */
  varint64(v: bigint): void {
    if (v >= 0n && v <= SAFE_MAX) {
      this.varint(Number(v));
      return;
    }
    let u = v & U64;
    while (u >= 0x80n) {
      this.buf[this.pos++] = Number(u & 0x7fn) | 0x80;
      u >>= 7n;
    }
    this.buf[this.pos++] = Number(u);
  }
}
