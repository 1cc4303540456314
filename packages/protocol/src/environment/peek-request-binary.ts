/**
 * `peekRequestFromBinary`: the API `PeekRequest` (`mz.environment.v1.PeekRequest`) of a
 * scalar-only message (object, timestamp, timeout, replica, cluster: what point and full-index
 * peeks send) read straight from its bytes, without protobuf-es's reflective `fromBinary`
 * (issue 16: the lean gRPC peek path's request decode).
 *
 * It returns what `fromBinary(PeekRequestSchema, bytes)` returns for such a message — proto3
 * defaults for absent fields (`object: ""`), the last occurrence of a repeated scalar winning, a
 * `uint32` read from a varint's low 32 bits, strings decoded as protobuf-es decodes them (a
 * strict `TextDecoder`) — or **undefined** for anything else: the nested fields
 * (`literalConstraints`, `mapFilterProject`, `finishing`), invalid UTF-8, unknown fields, an unexpected
 * wire type, a truncated or over-long varint, a length past the end. The caller then decodes with
 * `fromBinary`, which keeps its errors and unknown fields. The message is validated afterwards by
 * the same `environmentCodecs.peekRequest.fromProto` as Connect's, whichever decoded it.
 * `peek-request-binary.test.ts` compares both on random messages.
 */
import type { PeekRequest } from "../gen/mz/environment/v1/environment_pb.js";

/** As protobuf-es decodes proto3 strings: strict (invalid UTF-8 is its error), BOM stripped. */
const utf8 = new TextDecoder("utf-8", { fatal: true });

/** The scalar-only `PeekRequest` of `bytes`, or undefined (see the file comment). */
export function peekRequestFromBinary(bytes: Uint8Array): PeekRequest | undefined {
  let object = "";
  let timestamp: bigint | undefined;
  let timeoutMs: number | undefined;
  let replica: string | undefined;
  let cluster: string | undefined;
  let pos = 0;
  const end = bytes.length;
  // A varint's low 32 bits (`lo`) and the rest (`hi`, bits 32..63) at `pos`; false if malformed.
  let lo = 0;
  let hi = 0;
  const varint = (): boolean => {
    lo = 0;
    hi = 0;
    for (let shift = 0; shift < 70; shift += 7) {
      if (pos >= end) return false;
      const b = bytes[pos++]!;
      const bits = b & 0x7f;
      if (shift < 28) lo |= bits << shift;
      else if (shift === 28) {
        lo |= (bits & 0x0f) << 28;
        hi |= bits >>> 4;
      } else hi |= bits << (shift - 32);
      if ((b & 0x80) === 0) {
        lo >>>= 0;
        hi >>>= 0;
        return true;
      }
    }
    return false; // more than 10 bytes
  };
  const string = (): string | undefined => {
    if (!varint() || hi !== 0 || lo > end - pos) return undefined;
    let s: string;
    try {
      s = utf8.decode(bytes.subarray(pos, pos + lo));
    } catch {
      return undefined; // invalid UTF-8: fromBinary's error
    }
    pos += lo;
    return s;
  };
  while (pos < end) {
    if (!varint() || hi !== 0) return undefined;
    const field = lo >>> 3;
    const wire = lo & 7;
    switch (field) {
      case 1:
      case 7:
      case 8: {
        if (wire !== 2) return undefined;
        const s = string();
        if (s === undefined) return undefined;
        if (field === 1) object = s;
        else if (field === 7) replica = s;
        else cluster = s;
        break;
      }
      case 2:
        if (wire !== 0 || !varint()) return undefined;
        timestamp = (BigInt(hi) << 32n) | BigInt(lo);
        break;
      case 6:
        if (wire !== 0 || !varint()) return undefined;
        timeoutMs = lo;
        break;
      default:
        return undefined; // nested messages, unknown fields: fromBinary's
    }
  }
  const m = { $typeName: "mz.environment.v1.PeekRequest", object } as PeekRequest;
  if (timestamp !== undefined) m.timestamp = timestamp;
  if (timeoutMs !== undefined) m.timeoutMs = timeoutMs;
  if (replica !== undefined) m.replica = replica;
  if (cluster !== undefined) m.cluster = cluster;
  return m;
}
