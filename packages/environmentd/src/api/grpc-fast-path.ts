/**
 * The lean gRPC unary path of the API's h2c port (issue 16): `EnvironmentService/Peek` and
 * `Status` in plain gRPC are answered here, on the same `node:http2` server, without Connect's
 * per-call machinery (async-iterable pipeline, abort controllers, header conversion, response
 * compression), a peek's answer written by `peekResponseToBinary` instead of `create()` +
 * reflective `toBinary`. Everything else goes to Connect, unchanged.
 *
 * ## On the core `http2` stream API
 * `serveStreams` routes the server's `stream` events: a call served here is read and answered on
 * its `ServerHttp2Stream` (`respond` with `waitForTrailers`, `end`, `sendTrailers`), with no
 * `Http2ServerRequest`/`Http2ServerResponse` made for it (node's compatibility layer was ~10 % of
 * environmentd's main thread at 256 peeks in flight, issue 16); every other stream goes to the
 * compatibility layer's own listener, i.e. to Connect, as before. The handler also takes a
 * compatibility-layer request/response pair (`(req, res) => boolean`), answering through `res`.
 *
 * ## Which calls (decided on the headers, before a byte of the body is read)
 * `POST` to the method's exact path, `content-type` `application/grpc` or `application/grpc+proto`,
 * no `grpc-encoding` other than `identity`, no `grpc-timeout`. Anything else (Connect or gRPC-web
 * protocols, JSON, compressed requests, deadlines) is Connect's. Answers here are never
 * compressed (gRPC lets a server answer `identity` whatever the client accepts).
 *
 * ## Admission
 * A decoded call starts at once unless `callsPerTurn` (default 32) calls started in this
 * event-loop turn already; then it waits for the next turns, in order (`turn-admission.ts`: the
 * convoy at 256 calls in flight, issue 16).
 *
 * ## The same validation and the same errors
 * - The request is decoded with the same limits as Connect's (`readMaxBytes`, the binary
 *   `recursionLimit`) and handed to the same rpc function as Connect's route (`environmentRoutes`'
 *   `peek`: codec `fromProto` → `Environment.peek`), so the domain validation and its error
 *   mapping (`toConnectError`) are the one copy.
 * - Framing errors get Connect's codes and messages (from `@connectrpc/connect` 2.1:
 *   `invoke-implementation`, `async-iterable`, `envelope`, `serialization`, `limit-io`):
 *   an empty body is Unimplemented "missing input message", a second message Unimplemented
 *   "received extra input message", a cut envelope InvalidArgument "incomplete envelope", a compressed flag without an
 *   encoding Internal, an oversized message ResourceExhausted, undecodable bytes Internal
 *   "parse binary: …", an answer over `writeMaxBytes` ResourceExhausted.
 * - The response has Connect's shape: HTTP 200, `content-type: application/grpc+proto`, the
 *   message in one envelope, then trailers `grpc-status` (and `grpc-message`, URI-encoded); an
 *   error is an empty body with those trailers. `grpc-fast-path.test.ts` sends the same requests
 *   to this path and to Connect and compares status, message, trailers and body bytes.
 */
import type {
  Http2Server,
  Http2ServerRequest,
  Http2ServerResponse,
  IncomingHttpHeaders,
  ServerHttp2Stream,
} from "node:http2";
import { type DescMessage, fromBinary, type MessageShape } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { grpcEnvelope } from "@mzts/protocol";
import { TurnAdmission } from "./turn-admission.js";

/** One unary method served here: its path, request schema and the bytes of its answer. */
export interface FastUnaryMethod<I extends DescMessage> {
  /** `/<package>.<Service>/<Method>`. */
  readonly path: string;
  readonly input: I;
  /**
   * Decodes the request message's bytes (the envelope's payload) without protobuf-es, or returns
   * undefined to have them decoded by `fromBinary` (e.g. `peek-request-binary.ts`).
   * @throws what a malformed message is (mapped to Internal "parse binary: …", as `fromBinary`'s)
   */
  readonly decode?: (bytes: Uint8Array) => MessageShape<I> | undefined;
  /**
   * Answers a decoded request with the serialized response; `times` say when the call's handler
   * ran and when its request was decoded (`performance.now()`; a peek trace's `received` and
   * `decoded`). @throws what the rpc throws
   */
  answer(request: MessageShape<I>, times?: CallTimes): Promise<Uint8Array>;
}

/** When a call's handler ran and when its request was decoded (`performance.now()`). */
export interface CallTimes {
  readonly receivedAt: number;
  readonly decodedAt: number;
}

export interface FastPathOptions {
  readonly readMaxBytes: number;
  readonly writeMaxBytes: number;
  readonly recursionLimit: number;
  /** Maps what `answer` throws to the wire error (the API's `toConnectError`). */
  readonly toConnectError: (e: unknown) => ConnectError;
  /** Calls started per event-loop turn at most (`turn-admission.ts`; default `CALLS_PER_TURN`). */
  readonly callsPerTurn?: number;
}

/**
 * The lean path's handler. Called with a compatibility-layer pair, or (`stream`) with a raw
 * stream and its headers: returns false (and touches nothing) for a call it does not serve.
 */
export interface FastPathHandler {
  (req: Http2ServerRequest, res: Http2ServerResponse): boolean;
  stream(stream: ServerHttp2Stream, headers: IncomingHttpHeaders): boolean;
}

const GRPC_TYPES = new Set(["application/grpc", "application/grpc+proto"]);
const RESPONSE_TYPE = "application/grpc+proto";
const OK_TRAILERS = Object.freeze({ "grpc-status": "0" });

/** Where a call's body comes from and how its answer goes out (a raw stream or `res`). */
interface CallIo {
  /** The request body: `data`, `end` and `error` events. */
  readonly body: NodeJS.EventEmitter;
  /** Writes the answer (bytes) or the error; a no-op once the client went away. */
  respond(bytes: Uint8Array | undefined, error?: ConnectError): void;
}

// biome-ignore lint/suspicious/noExplicitAny: methods of different request types
type AnyFastMethod = FastUnaryMethod<any>;

export function grpcFastPath(
  methods: ReadonlyArray<AnyFastMethod>,
  opts: FastPathOptions,
): FastPathHandler {
  const byPath = new Map(methods.map((m) => [m.path, m]));
  const admission = new TurnAdmission(opts.callsPerTurn);
  const pick = (
    method: unknown,
    path: unknown,
    h: IncomingHttpHeaders,
  ): AnyFastMethod | undefined => {
    if (method !== "POST") return undefined;
    const m = byPath.get(String(path));
    if (m === undefined) return undefined;
    if (!GRPC_TYPES.has(String(h["content-type"]))) return undefined;
    const encoding = h["grpc-encoding"];
    if (encoding !== undefined && encoding !== "identity") return undefined;
    if (h["grpc-timeout"] !== undefined) return undefined;
    return m;
  };
  const handler = ((req: Http2ServerRequest, res: Http2ServerResponse) => {
    const method = pick(req.method, req.url, req.headers);
    if (method === undefined) return false;
    req.on("error", () => {}); // the client went away: nothing to answer
    serve(method, { body: req, respond: (b, e) => respondRes(res, b, e) }, opts, admission);
    return true;
  }) as FastPathHandler;
  handler.stream = (stream, headers) => {
    const method = pick(headers[":method"], headers[":path"], headers);
    if (method === undefined) return false;
    stream.on("error", () => {}); // the client went away: nothing to answer
    serve(
      method,
      { body: stream, respond: (b, e) => respondStream(stream, b, e) },
      opts,
      admission,
    );
    return true;
  };
  return handler;
}

/**
 * Routes `server`'s streams: those `fast` serves on the raw stream, the rest to `request`
 * through node's compatibility layer (`Http2ServerRequest`/`Http2ServerResponse`), exactly as
 * `createServer(request)` would. @throws Error when this node's compatibility layer is not the
 * one `stream` listener it adds for a `request` listener (then nothing is routed).
 */
export function serveStreams(
  server: Http2Server,
  fast: FastPathHandler | undefined,
  request: (req: Http2ServerRequest, res: Http2ServerResponse) => void,
): void {
  const before = server.listeners("stream").length;
  server.on("request", request);
  if (fast === undefined) return;
  const added = server.listeners("stream").slice(before);
  if (added.length !== 1) {
    server.off("request", request);
    throw new Error(
      `node:http2's compatibility layer added ${added.length} stream listeners (expected 1); run with grpcFastPath off`,
    );
  }
  const compat = added[0] as (...args: unknown[]) => void;
  server.off("stream", compat);
  server.on("stream", function (this: Http2Server, stream, headers, ...rest: unknown[]) {
    if (!fast.stream(stream, headers)) compat.call(this, stream, headers, ...rest);
  });
}

function serve<I extends DescMessage>(
  method: FastUnaryMethod<I>,
  io: CallIo,
  opts: FastPathOptions,
  admission: TurnAdmission,
): void {
  const receivedAt = performance.now();
  let first: Buffer | undefined;
  let chunks: Buffer[] | undefined;
  let size = 0;
  let checked = false;
  let failed = false;
  const onData = (c: Buffer) => {
    if (failed) return;
    size += c.length;
    if (first === undefined) first = c;
    else (chunks ??= [first]).push(c);
    // The envelope's declared length is known once 5 bytes are in: refuse an oversized message
    // at once, before buffering it (as Connect does).
    if (!checked && size >= 5) {
      checked = true;
      const declared = (chunks === undefined ? c : Buffer.concat(chunks)).readUInt32BE(1);
      if (declared > opts.readMaxBytes) {
        failed = true;
        first = undefined;
        chunks = undefined;
        io.respond(
          undefined,
          new ConnectError(
            `message size ${declared} is larger than configured readMaxBytes ${opts.readMaxBytes}`,
            Code.ResourceExhausted,
          ),
        );
      }
    }
  };
  io.body.on("data", onData);
  io.body.once("end", () => {
    if (failed) return;
    const body = chunks !== undefined ? Buffer.concat(chunks, size) : (first ?? Buffer.alloc(0));
    let message: MessageShape<I>;
    try {
      message = decodeUnary(method, body, opts.recursionLimit);
    } catch (e) {
      io.respond(undefined, e as ConnectError);
      return;
    }
    const times = { receivedAt, decodedAt: performance.now() };
    admission.admit(() =>
      method.answer(message, times).then(
        (bytes) => {
          if (bytes.length > opts.writeMaxBytes) {
            io.respond(
              undefined,
              new ConnectError(
                `message size ${bytes.length} is larger than configured writeMaxBytes ${opts.writeMaxBytes}`,
                Code.ResourceExhausted,
              ),
            );
          } else io.respond(bytes);
        },
        (e: unknown) => io.respond(undefined, opts.toConnectError(e)),
      ),
    );
  });
}

/** The one message of a unary gRPC request body, with Connect's errors for bad framing. */
function decodeUnary<I extends DescMessage>(
  method: FastUnaryMethod<I>,
  body: Buffer,
  recursionLimit: number,
): MessageShape<I> {
  if (body.length === 0) {
    throw new ConnectError(
      "protocol error: missing input message for unary method",
      Code.Unimplemented,
    );
  }
  const flags = body[0]!;
  const length = body.length < 5 ? 0 : body.readUInt32BE(1);
  if (body.length < 5 || body.length < 5 + length) {
    throw new ConnectError("protocol error: incomplete envelope", Code.InvalidArgument);
  }
  if (body.length > 5 + length) {
    throw body.length - 5 - length >= 5
      ? new ConnectError(
          "protocol error: received extra input message for unary method",
          Code.Unimplemented,
        )
      : new ConnectError("protocol error: incomplete envelope", Code.InvalidArgument);
  }
  if ((flags & 0b01) !== 0) {
    throw new ConnectError(
      "received compressed envelope, but do not know how to decompress",
      Code.Internal,
    );
  }
  const payload = body.subarray(5);
  try {
    return (
      method.decode?.(payload) ??
      fromBinary(method.input, payload, { recursionLimit, readUnknownFields: true })
    );
  } catch (e) {
    const m = e instanceof Error ? e.message : String(e);
    throw new ConnectError(`parse binary: ${m}`, Code.Internal);
  }
}

function trailersOf(error: ConnectError | undefined): Record<string, string> {
  return error === undefined
    ? OK_TRAILERS
    : { "grpc-status": String(error.code), "grpc-message": encodeURIComponent(error.rawMessage) };
}

/**
 * Connect's response shape on the raw stream: headers (`:status` 200, the content type, `date`),
 * the message in one envelope (if any), then trailers.
 */
function respondStream(
  stream: ServerHttp2Stream,
  bytes: Uint8Array | undefined,
  error?: ConnectError,
): void {
  if (stream.destroyed || stream.closed || stream.headersSent) return; // the client went away
  try {
    const trailers = trailersOf(error);
    stream.once("wantTrailers", () => {
      if (!stream.destroyed) stream.sendTrailers(trailers);
    });
    stream.respond({ ":status": 200, "content-type": RESPONSE_TYPE }, { waitForTrailers: true });
    if (bytes === undefined) stream.end();
    else stream.end(grpcEnvelope(bytes));
  } catch {
    // The stream closed under us (the session is going away): nothing left to answer.
  }
}

/** Connect's response shape through the compatibility layer's `res`. */
function respondRes(res: Http2ServerResponse, bytes: Uint8Array | undefined, error?: ConnectError) {
  if (res.stream.destroyed || res.stream.closed) return; // the client went away
  try {
    res.writeHead(200, { "content-type": RESPONSE_TYPE });
    res.addTrailers(trailersOf(error));
    if (bytes === undefined) res.end();
    else res.end(grpcEnvelope(bytes));
  } catch {
    // The stream closed under us (the session is going away): nothing left to answer.
  }
}
