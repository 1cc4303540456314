/**
 * The lean gRPC unary path of the API's h2c port (issue 16): `EnvironmentService/Peek` and
 * `Status` in plain gRPC are answered here, on the same `node:http2` server, without Connect's
 * per-call machinery (async-iterable pipeline, abort controllers, header conversion, response
 * compression), a peek's answer written by `peekResponseToBinary` instead of `create()` +
 * reflective `toBinary`. Everything else goes to Connect, unchanged.
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
import type { Http2ServerRequest, Http2ServerResponse } from "node:http2";
import { type DescMessage, fromBinary, type MessageShape } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { TurnAdmission } from "./turn-admission.js";

/** One unary method served here: its path, request schema and the bytes of its answer. */
export interface FastUnaryMethod<I extends DescMessage> {
  /** `/<package>.<Service>/<Method>`. */
  readonly path: string;
  readonly input: I;
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

const GRPC_TYPES = new Set(["application/grpc", "application/grpc+proto"]);
const RESPONSE_TYPE = "application/grpc+proto";

/**
 * A request handler for the h2c port: returns false (and touches nothing) for a call it does not
 * serve, so the caller hands it to Connect.
 */
export function grpcFastPath(
  // biome-ignore lint/suspicious/noExplicitAny: methods of different request types
  methods: ReadonlyArray<FastUnaryMethod<any>>,
  opts: FastPathOptions,
): (req: Http2ServerRequest, res: Http2ServerResponse) => boolean {
  const byPath = new Map(methods.map((m) => [m.path, m]));
  const admission = new TurnAdmission(opts.callsPerTurn);
  return (req, res) => {
    if (req.method !== "POST") return false;
    const method = byPath.get(req.url);
    if (method === undefined) return false;
    const h = req.headers;
    if (!GRPC_TYPES.has(String(h["content-type"]))) return false;
    const encoding = h["grpc-encoding"];
    if (encoding !== undefined && encoding !== "identity") return false;
    if (h["grpc-timeout"] !== undefined) return false;
    serve(method, req, res, opts, admission);
    return true;
  };
}

function serve<I extends DescMessage>(
  method: FastUnaryMethod<I>,
  req: Http2ServerRequest,
  res: Http2ServerResponse,
  opts: FastPathOptions,
  admission: TurnAdmission,
): void {
  const receivedAt = performance.now();
  const chunks: Buffer[] = [];
  let size = 0;
  let checked = false;
  let failed = false;
  req.on("data", (c: Buffer) => {
    if (failed) return;
    size += c.length;
    chunks.push(c);
    // The envelope's declared length is known once 5 bytes are in: refuse an oversized message
    // at once, before buffering it (as Connect does).
    if (!checked && size >= 5) {
      checked = true;
      const declared = Buffer.concat(chunks).readUInt32BE(1);
      if (declared > opts.readMaxBytes) {
        failed = true;
        chunks.length = 0;
        respond(
          res,
          undefined,
          new ConnectError(
            `message size ${declared} is larger than configured readMaxBytes ${opts.readMaxBytes}`,
            Code.ResourceExhausted,
          ),
        );
      }
    }
  });
  req.on("error", () => {}); // the client went away: nothing to answer
  req.on("end", () => {
    if (failed) return;
    let message: MessageShape<I>;
    try {
      message = decodeUnary(method.input, Buffer.concat(chunks, size), opts.recursionLimit);
    } catch (e) {
      respond(res, undefined, e as ConnectError);
      return;
    }
    const times = { receivedAt, decodedAt: performance.now() };
    admission.admit(() =>
      method.answer(message, times).then(
        (bytes) => {
          if (bytes.length > opts.writeMaxBytes) {
            respond(
              res,
              undefined,
              new ConnectError(
                `message size ${bytes.length} is larger than configured writeMaxBytes ${opts.writeMaxBytes}`,
                Code.ResourceExhausted,
              ),
            );
          } else respond(res, bytes, undefined);
        },
        (e: unknown) => respond(res, undefined, opts.toConnectError(e)),
      ),
    );
  });
}

/** The one message of a unary gRPC request body, with Connect's errors for bad framing. */
function decodeUnary<I extends DescMessage>(
  schema: I,
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
  try {
    return fromBinary(schema, body.subarray(5), { recursionLimit, readUnknownFields: true });
  } catch (e) {
    const m = e instanceof Error ? e.message : String(e);
    throw new ConnectError(`parse binary: ${m}`, Code.Internal);
  }
}

/** Connect's response shape: headers, the message in one envelope (if any), then trailers. */
function respond(res: Http2ServerResponse, bytes: Uint8Array | undefined, error?: ConnectError) {
  if (res.stream.destroyed || res.stream.closed) return; // the client went away
  try {
    write(res, bytes, error);
  } catch {
    // The stream closed under us (the session is going away): nothing left to answer.
  }
}

function write(res: Http2ServerResponse, bytes: Uint8Array | undefined, error?: ConnectError) {
  res.writeHead(200, { "content-type": RESPONSE_TYPE });
  res.addTrailers(
    error === undefined
      ? { "grpc-status": "0" }
      : { "grpc-status": String(error.code), "grpc-message": encodeURIComponent(error.rawMessage) },
  );
  if (bytes === undefined) {
    res.end();
    return;
  }
  const frame = Buffer.allocUnsafe(5 + bytes.length);
  frame[0] = 0;
  frame.writeUInt32BE(bytes.length, 1);
  frame.set(bytes, 5);
  res.end(frame);
}
