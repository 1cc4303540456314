/**
 * A raw gRPC-over-HTTP/2 call for tests of what a Connect client never sends: undecodable
 * payloads, compressed frames, oversized length prefixes (@internal — no semver).
 */
import http2 from "node:http2";

/** One gRPC frame: the flag byte (1 = compressed), the 4-byte big-endian length, the payload. */
export function grpcFrame(payload: Uint8Array, flags = 0, length = payload.length): Buffer {
  const head = Buffer.alloc(5);
  head.writeUInt8(flags, 0);
  head.writeUInt32BE(length, 1);
  return Buffer.concat([head, payload]);
}

export interface RawResult {
  /** The grpc-status (a Connect `Code`), or -1 when the stream closed without one. */
  readonly status: number;
  readonly message: string;
}

/**
 * Writes `frames` to `path` on `url` (without ending the request) and resolves with the status
 * the server ends the stream with. Gives up after `timeoutMs`.
 */
export function rawGrpcCall(
  url: string,
  path: string,
  frames: readonly Buffer[],
  headers: Record<string, string> = {},
  timeoutMs = 10_000,
): Promise<RawResult> {
  const session = http2.connect(url);
  session.on("error", () => {});
  return new Promise<RawResult>((resolve) => {
    let settled = false;
    const done = (r: RawResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      session.destroy();
      resolve(r);
    };
    const timer = setTimeout(() => done({ status: -1, message: "timed out" }), timeoutMs);
    const req = session.request({
      ":method": "POST",
      ":path": path,
      "content-type": "application/grpc+proto",
      te: "trailers",
      ...headers,
    });
    const fromHeaders = (h: http2.IncomingHttpHeaders) => {
      const status = h["grpc-status"];
      if (status === undefined) return false;
      done({
        status: Number(status),
        message: decodeURIComponent(String(h["grpc-message"] ?? "")),
      });
      return true;
    };
    req.on("response", (h) => void fromHeaders(h));
    req.on("trailers", (h) => void fromHeaders(h));
    req.on("error", () => done({ status: -1, message: "stream error" }));
    req.on("close", () => done({ status: -1, message: "closed without a status" }));
    req.resume();
    for (const f of frames) req.write(f);
  });
}
