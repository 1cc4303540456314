/**
 * A raw `node:http2` gRPC bidi stream (@internal, benches): messages the bench encoded ahead of time
 * go out gRPC-framed as they are, and each received message's bytes are handed to `onMessage`, so
 * a throughput bench measures the server, not its own client's encoding.
 *
 * `rawH2Bidi(url, path, onMessage)` opens one h2c session and one stream on it; `write(message)`
 * frames and writes a message (flow control is the stream's: `write` resolves once the bytes are
 * handed to the socket); `close()` ends the stream and the session. A stream that fails or ends
 * with a non-zero grpc-status rejects `ended`.
 */
import http2 from "node:http2";
import { grpcFrame } from "./raw-h2.js";

export interface RawH2Bidi {
  write(message: Uint8Array): Promise<void>;
  /** Settles when the server ends the stream (rejects on an error or a non-zero grpc-status). */
  readonly ended: Promise<void>;
  close(): void;
}

export function rawH2Bidi(
  url: string,
  path: string,
  onMessage: (message: Uint8Array) => void,
): RawH2Bidi {
  const session = http2.connect(url);
  session.on("error", () => {}); // surfaced by the stream
  const req = session.request({
    ":method": "POST",
    ":path": path,
    "content-type": "application/grpc",
    te: "trailers",
  });
  let status = "";
  req.on("trailers", (t) => {
    status = String(t["grpc-status"] ?? "");
  });
  // Received bytes not yet cut into messages (a message may span chunks, a chunk many messages).
  let pending: Buffer = Buffer.alloc(0);
  req.on("data", (chunk: Buffer) => {
    pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
    let at = 0;
    while (pending.length - at >= 5) {
      const len = pending.readUInt32BE(at + 1);
      if (pending.length - at - 5 < len) break;
      onMessage(pending.subarray(at + 5, at + 5 + len));
      at += 5 + len;
    }
    pending = pending.subarray(at);
  });
  const ended = new Promise<void>((resolve, reject) => {
    req.on("error", reject);
    req.on("end", () =>
      status === "" || status === "0"
        ? resolve()
        : reject(new Error(`the stream ended with grpc-status ${status}`)),
    );
  });
  ended.catch(() => {}); // the caller awaits it if it cares
  return {
    write(message) {
      return new Promise<void>((resolve, reject) =>
        req.write(grpcFrame(message), (e) => (e ? reject(e) : resolve())),
      );
    },
    ended,
    close() {
      req.end();
      session.close();
    },
  };
}
