/**
 * `grpcBidi`: a replica's bidi `Control` stream as a plain gRPC call on a `node:http2` client
 * session (issue 16), in place of Connect's client (`createClient(service).control(requests)`).
 *
 * Why: at 1 peek in flight Connect's client was ~13 % of environmentd's main thread (its
 * async-iterable pipeline: several generator hops, an envelope reader and a serializer per
 * message, each way); the bytes on the wire are the same without it.
 *
 * ## What it does (what Connect's gRPC client did for these streams)
 * - Request: `POST <path>` with `content-type: application/grpc+proto`, `te: trailers`, no
 *   compression; each request message `toBinary`'d into one envelope (flag 0, length, bytes) and
 *   written as it is pulled from `requests`; the request side ends when `requests` ends.
 * - Response: each envelope `fromBinary`'d and yielded in order. The call ends normally when the
 *   server ends the stream with `grpc-status: 0`.
 * - Errors, as Connect's `ConnectError` (the tasks map `Unimplemented` to the other layout):
 *   an HTTP status other than 200 → the code gRPC maps it to (404 Unimplemented, 503
 *   Unavailable, …), message `HTTP <status>`; a `grpc-status` other than 0 (headers or trailers)
 *   → that code, `grpc-message` URI-decoded; a compressed or cut envelope, a message over
 *   `readMaxBytes`, a stream ended without `grpc-status` → Internal / ResourceExhausted /
 *   Unknown; a request over `writeMaxBytes` → ResourceExhausted; a throw of `requests`
 *   cancels the stream and is rethrown; `signal` aborting cancels the stream and rethrows its
 *   reason (as Connect, a `ConnectError` Canceled when the reason is not an Error).
 * - Frames messages (`ControlRequestFrames`/`ControlResponseFrames`: one field, `repeated bytes`
 *   number 1 — every stream of the framed codecs) are written and read by `framesCodec`, the
 *   bytes `toBinary` writes and the message `fromBinary` reads, without the reflective walk;
 *   a message it does not read plainly (another field, a wire type it does not expect) goes to
 *   `fromBinary`.
 */
import {
  type ClientHttp2Session,
  type ClientHttp2Stream,
  constants,
  type IncomingHttpHeaders,
  type IncomingHttpStatusHeader,
} from "node:http2";
import {
  create,
  type DescMessage,
  fromBinary,
  type Message,
  ScalarType,
  toBinary,
} from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { grpcEnvelope } from "@mzts/protocol";
import type { ControlService } from "./replica-protocol.js";

export interface GrpcBidiLimits {
  readonly readMaxBytes: number;
  readonly writeMaxBytes: number;
}

/** gRPC's code for an HTTP status that is not 200 (the gRPC HTTP/2 spec's table, as Connect's). */
export function codeOfHttpStatus(status: number): Code {
  switch (status) {
    case 400:
      return Code.Internal;
    case 401:
      return Code.Unauthenticated;
    case 403:
      return Code.PermissionDenied;
    case 404:
      return Code.Unimplemented;
    case 429:
    case 502:
    case 503:
    case 504:
      return Code.Unavailable;
    default:
      return Code.Unknown;
  }
}

/** `h`'s non-pseudo headers as fetch `Headers` (a `ConnectError`'s `metadata`). */
function metadataOf(...hs: (IncomingHttpHeaders | undefined)[]): Headers {
  const out = new Headers();
  for (const h of hs) {
    if (h === undefined) continue;
    for (const [k, v] of Object.entries(h)) {
      if (k.startsWith(":") || v === undefined) continue;
      if (Array.isArray(v)) for (const x of v) out.append(k, x);
      else out.append(k, String(v));
    }
  }
  return out;
}

/**
 * The error of a `grpc-status` other than 0 in `h` (headers of a trailers-only answer, or
 * trailers), with the answer's headers and trailers as its `metadata` (a hello refusal's
 * trailers are read from there); undefined for 0 or none.
 */
function statusError(
  h: IncomingHttpHeaders,
  headers?: IncomingHttpHeaders,
): ConnectError | undefined {
  const raw = h["grpc-status"];
  if (raw === undefined) return undefined;
  const code = Number(raw);
  if (code === 0) return undefined;
  const valid = Number.isInteger(code) && code >= 1 && code <= 16;
  let message = "";
  const m = h["grpc-message"];
  if (typeof m === "string") {
    try {
      message = decodeURIComponent(m);
    } catch {
      message = m;
    }
  }
  const metadata = metadataOf(headers, h);
  return valid
    ? new ConnectError(message, code as Code, metadata)
    : new ConnectError(`invalid grpc-status: ${String(raw)}`, Code.Unknown, metadata);
}

/** Reads gRPC envelopes out of the chunks of a response body. */
class EnvelopeReader {
  #buf: Buffer | undefined;
  constructor(readonly readMaxBytes: number) {}

  /** Appends `chunk`; returns the complete messages' payloads. @throws ConnectError */
  push(chunk: Buffer): Buffer[] {
    let buf = this.#buf === undefined ? chunk : Buffer.concat([this.#buf, chunk]);
    const out: Buffer[] = [];
    while (buf.length >= 5) {
      const flags = buf[0] as number;
      const len = buf.readUInt32BE(1);
      if ((flags & 0b1) !== 0)
        throw new ConnectError("received compressed message without encoding", Code.Internal);
      if (len > this.readMaxBytes)
        throw new ConnectError(
          `message size ${len} is larger than configured readMaxBytes ${this.readMaxBytes}`,
          Code.ResourceExhausted,
        );
      if (buf.length < 5 + len) break;
      out.push(buf.subarray(5, 5 + len));
      buf = buf.subarray(5 + len);
    }
    this.#buf = buf.length === 0 ? undefined : buf;
    return out;
  }

  get pending(): boolean {
    return this.#buf !== undefined;
  }
}

/** Serialize and parse of one message type. */
interface Codec<M> {
  encode(m: M): Uint8Array;
  decode(bytes: Uint8Array): M;
}

/** Byte length of `n` as a varint (n < 2^32). */
const varintSize = (n: number) =>
  n < 0x80 ? 1 : n < 0x4000 ? 2 : n < 0x200000 ? 3 : n < 0x10000000 ? 4 : 5;

/**
 * The codec of `schema`: `framesCodec` when its one field is `repeated bytes` number 1,
 * otherwise protobuf-es's `toBinary`/`fromBinary`.
 */
export function codecOf<M extends Message>(schema: DescMessage): Codec<M> {
  const reflective: Codec<M> = {
    encode: (m) => toBinary(schema, m),
    decode: (b) => fromBinary(schema, b) as M,
  };
  const f = schema.fields.length === 1 ? schema.fields[0] : undefined;
  if (
    f === undefined ||
    schema.oneofs.length !== 0 ||
    f.number !== 1 ||
    f.fieldKind !== "list" ||
    f.listKind !== "scalar" ||
    f.scalar !== ScalarType.BYTES
  )
    return reflective;
  const name = f.localName;
  return {
    encode(m) {
      const items = (m as unknown as Record<string, Uint8Array[]>)[name] ?? [];
      // Unknown fields kept by a message `fromBinary` read: the reflective writer keeps them.
      if ((m as { $unknown?: unknown[] }).$unknown?.length) return reflective.encode(m);
      let size = 0;
      for (const b of items) size += 1 + varintSize(b.length) + b.length;
      const out = new Uint8Array(size);
      let pos = 0;
      for (const b of items) {
        out[pos++] = 0x0a; // field 1, length-delimited
        let n = b.length;
        while (n > 0x7f) {
          out[pos++] = (n & 0x7f) | 0x80;
          n >>>= 7;
        }
        out[pos++] = n;
        out.set(b, pos);
        pos += b.length;
      }
      return out;
    },
    decode(bytes) {
      const items: Uint8Array[] = [];
      let pos = 0;
      while (pos < bytes.length) {
        if (bytes[pos] !== 0x0a) return reflective.decode(bytes);
        pos++;
        let len = 0;
        let shift = 0;
        for (;;) {
          if (pos >= bytes.length || shift > 28) return reflective.decode(bytes);
          const b = bytes[pos++] as number;
          len += (b & 0x7f) * 2 ** shift;
          if (b < 0x80) break;
          shift += 7;
        }
        if (pos + len > bytes.length) return reflective.decode(bytes);
        items.push(bytes.subarray(pos, pos + len));
        pos += len;
      }
      return create(schema, { [name]: items } as never) as unknown as M;
    },
  };
}

/** `service.control` called on `session` (see the file comment). */
export function grpcBidi<Req extends Message, Res extends Message>(
  session: ClientHttp2Session,
  service: ControlService<Req, Res>,
  requests: AsyncIterable<Req>,
  signal: AbortSignal,
  limits: GrpcBidiLimits,
): AsyncIterable<Res> {
  const method = service.method.control;
  const path = `/${service.typeName}/${method.name}`;
  const input = codecOf<Req>(method.input);
  const output = codecOf<Res>(method.output);
  return {
    [Symbol.asyncIterator]: () => call(session, path, input, output, requests, signal, limits),
  };
}

async function* call<Req extends Message, Res extends Message>(
  session: ClientHttp2Session,
  path: string,
  input: Codec<Req>,
  output: Codec<Res>,
  requests: AsyncIterable<Req>,
  signal: AbortSignal,
  limits: GrpcBidiLimits,
): AsyncGenerator<Res> {
  signal.throwIfAborted();
  const stream: ClientHttp2Stream = session.request({
    ":method": "POST",
    ":path": path,
    "content-type": "application/grpc+proto",
    te: "trailers",
  });
  /** Response messages not yet yielded. */
  let queue: Res[] = [];
  /** The call's end: undefined while open, null when it ended with status 0. */
  let end: Error | null | undefined;
  let wake: (() => void) | undefined;
  const wakeUp = () => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  /** Ends the call; `drop`: the queued messages are not delivered (an abort). */
  const finish = (e: Error | null, drop = false) => {
    if (end !== undefined) return;
    end = e;
    if (drop) queue = [];
    if (e !== null && !stream.destroyed) stream.close(constants.NGHTTP2_CANCEL);
    wakeUp();
  };
  const onAbort = () => {
    const r: unknown = signal.reason;
    finish(r instanceof Error ? r : new ConnectError(String(r), Code.Canceled), true);
  };
  signal.addEventListener("abort", onAbort, { once: true });

  const reader = new EnvelopeReader(limits.readMaxBytes);
  let headers: IncomingHttpHeaders | undefined;
  let status: ConnectError | null | undefined; // from headers (trailers-only) or trailers
  stream.on("response", (h: IncomingHttpHeaders & IncomingHttpStatusHeader) => {
    headers = h;
    const http = h[":status"] ?? 0;
    if (http !== 200) {
      finish(new ConnectError(`HTTP ${http}`, codeOfHttpStatus(http), metadataOf(h)));
      return;
    }
    if (h["grpc-status"] !== undefined) status = statusError(h) ?? null;
  });
  stream.on("trailers", (h: IncomingHttpHeaders) => {
    status = statusError(h, headers) ?? (h["grpc-status"] === undefined ? undefined : null);
  });
  stream.on("data", (chunk: Buffer) => {
    if (end !== undefined) return;
    try {
      for (const bytes of reader.push(chunk)) queue.push(output.decode(bytes));
    } catch (e) {
      finish(
        e instanceof ConnectError
          ? e
          : new ConnectError(`parse binary: ${(e as Error).message}`, Code.Internal),
      );
      return;
    }
    wakeUp();
  });
  stream.on("end", () => {
    if (status instanceof ConnectError) finish(status);
    else if (reader.pending)
      finish(new ConnectError("protocol error: incomplete envelope", Code.InvalidArgument));
    else if (status === null) finish(null);
    else
      finish(
        new ConnectError(
          headers !== undefined
            ? "protocol error: missing status"
            : "protocol error: missing output message",
          Code.Unknown,
        ),
      );
  });
  stream.on("error", (e: Error) =>
    finish(e instanceof ConnectError ? e : new ConnectError(e.message, Code.Unavailable)),
  );
  stream.on("close", () => {
    if (end === undefined) finish(new ConnectError("stream closed", Code.Unavailable));
  });

  // The request side: pulled and written as it comes, ended when `requests` ends.
  void (async () => {
    try {
      for await (const m of requests) {
        if (end !== undefined) return;
        const bytes = input.encode(m);
        if (bytes.length > limits.writeMaxBytes)
          throw new ConnectError(
            `message size ${bytes.length} is larger than configured writeMaxBytes ${limits.writeMaxBytes}`,
            Code.ResourceExhausted,
          );
        stream.write(grpcEnvelope(bytes));
      }
      if (end === undefined) stream.end();
    } catch (e) {
      finish(e instanceof Error ? e : new Error(String(e)));
    }
  })();

  try {
    for (;;) {
      if (queue.length > 0) {
        const batch = queue;
        queue = [];
        for (const m of batch) {
          if (signal.aborted) break;
          yield m;
        }
        continue;
      }
      if (end === null) return;
      if (end !== undefined) throw end;
      await new Promise<void>((resolve) => {
        wake = resolve;
      });
    }
  } finally {
    signal.removeEventListener("abort", onAbort);
    if (end === undefined)
      finish(new ConnectError("the consumer stopped reading", Code.Canceled), true);
  }
}
