/**
 * The gRPC length-prefixed message (an "envelope"): flag byte 0 (not compressed), the length as
 * a big-endian uint32, the message bytes. Written by the raw HTTP/2 paths that bypass Connect
 * (environmentd's API fast path, the controllers' replica streams).
 */
export function grpcEnvelope(bytes: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(5 + bytes.length);
  out[0] = 0;
  out.writeUInt32BE(bytes.length, 1);
  out.set(bytes, 5);
  return out;
}
