/**
 * Raw gRPC streams over `node:http2` for `pnpm fuzz`: the Connect clients only send well-formed
 * frames, so the fuzzer writes the length-prefixed frames itself (flag byte, 4-byte big-endian
 * length, payload), with or without `grpc-encoding: gzip`, ends the request and reads how the
 * server ended the stream: the `grpc-status` of the trailers (or of a trailers-only answer), an
 * HTTP/2 reset, or no end within the timeout.
 */
import { type ClientHttp2Session, connect, constants } from "node:http2";
import { Code } from "@connectrpc/connect";

/** How one stream ended: a Connect code name, `ok`, `reset: …`, `http <status>` or `no end`. */
export type StreamOutcome = string;

/** One length-prefixed gRPC frame (`compressed` sets the flag byte; `flag` overrides it). */
export function frame(
  payload: Uint8Array,
  opts: { compressed?: boolean; flag?: number; length?: number } = {},
): Buffer {
  const head = Buffer.alloc(5);
  head[0] = opts.flag ?? (opts.compressed === true ? 1 : 0);
  head.writeUInt32BE(opts.length ?? payload.length, 1);
  return Buffer.concat([head, payload]);
}

/** Encodes a `ControlRequest` (field 1: repeated command) from already-encoded commands. */
export function controlRequest(commands: readonly Uint8Array[]): Buffer {
  const parts: Buffer[] = [];
  for (const c of commands) {
    parts.push(Buffer.from([0x0a]), varint(c.length), Buffer.from(c));
  }
  return Buffer.concat(parts);
}

function varint(n: number): Buffer {
  const out: number[] = [];
  let v = n;
  while (v > 0x7f) {
    out.push((v & 0x7f) | 0x80);
    v = Math.floor(v / 128);
  }
  out.push(v);
  return Buffer.from(out);
}

/** An HTTP/2 connection to one replica port. */
export class RawGrpc {
  readonly #session: ClientHttp2Session;

  constructor(url: string) {
    this.#session = connect(url);
    this.#session.on("error", () => {
      // a refused or reset connection surfaces on the streams
    });
  }

  /**
   * Opens `path`, writes `frames` (then ends the request unless `keepOpen`), and resolves with
   * how the server ended the stream (`no end` after `timeoutMs`; the stream is then cancelled).
   */
  stream(
    path: string,
    frames: readonly Buffer[],
    opts: { gzip?: boolean; keepOpen?: boolean; timeoutMs?: number } = {},
  ): { readonly outcome: Promise<StreamOutcome>; close(): void } {
    const req = this.#session.request({
      [constants.HTTP2_HEADER_METHOD]: "POST",
      [constants.HTTP2_HEADER_PATH]: path,
      "content-type": "application/grpc+proto",
      te: "trailers",
      ...(opts.gzip === true ? { "grpc-encoding": "gzip", "grpc-accept-encoding": "gzip" } : {}),
    });
    let status: string | undefined;
    let httpStatus: number | undefined;
    const take = (h: Record<string, unknown>) => {
      const s = h["grpc-status"];
      if (s !== undefined) status = String(s);
      const hs = h[":status"];
      if (hs !== undefined) httpStatus = Number(hs);
    };
    req.on("response", (h) => take(h));
    req.on("trailers", (h) => take(h));
    req.on("data", () => {
      // responses are not inspected; reading keeps the flow-control window open
    });
    const outcome = new Promise<StreamOutcome>((resolve) => {
      const timer = setTimeout(() => {
        resolve("no end");
        req.close(constants.NGHTTP2_CANCEL);
      }, opts.timeoutMs ?? 10_000);
      const done = (o: StreamOutcome) => {
        clearTimeout(timer);
        resolve(o);
      };
      req.on("close", () => {
        if (status !== undefined)
          done(status === "0" ? "ok" : (Code[Number(status)] ?? `grpc-status ${status}`));
        else if (httpStatus !== undefined && httpStatus !== 200) done(`http ${httpStatus}`);
        else done(`reset: ${req.rstCode}`);
      });
      req.on("error", () => {
        // close follows
      });
    });
    for (const f of frames) req.write(f);
    if (opts.keepOpen !== true) req.end();
    return {
      outcome,
      close: () => req.close(constants.NGHTTP2_CANCEL),
    };
  }

  close(): void {
    this.#session.destroy();
  }
}
