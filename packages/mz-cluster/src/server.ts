/**
 * The controller-facing stream handler: one bidirectional Connect stream per controller
 * connection, generic over the workload's wire and domain types.
 *
 * ## Flow
 * 1. The first command of the stream must be a hello (else `InvalidArgument`). It is checked by
 *    `ControllerConnections` (fencing by generation, protocol version, newest wins).
 * 2. `openSession(conn)` starts serving the connection (e.g. `runtime.connect(nonce)`).
 * 3. Every later request message is decoded (a payload that does not parse as protobuf, or that
 *    parses into an invalid command, ends the stream with `InvalidArgument`: Internal is kept for
 *    bugs), each command is admitted by the connection's stage rules (a second hello, a second
 *    InitializationComplete, a createInstance after InitializationComplete end it with the
 *    violation's code), then handed to the session in order. A message over the transport's
 *    `readMaxBytes` ends it with `ResourceExhausted` (Connect checks it before decoding).
 * 4. The session's responses are batched into response messages as they come (one per session
 *    flush: a microtask after the worker message that produced them). On a binary stream they
 *    leave pre-encoded (`StreamCodec.frameResponses`): Connect's `toBinary` then copies bytes
 *    instead of walking every response by reflection.
 * 5. The stream ends when the controller closes its side (the session closes and the replica waits
 *    for the next controller), when a newer connection supersedes this one (`Aborted`), or on a
 *    protocol violation. The replica stays up in every case.
 *
 * `serveStream` is the skeleton (read in order, end once) shared with the unified cluster stream's
 * handler (`cluster-stream.ts`); a `StreamLane` (`stream-lane.ts`) holds one protocol's connection
 * and session.
 *
 * Errors map to Connect codes in one place, `toConnectError()` (style §9). Refusals of a hello
 * carry the trailer `mz-refusal` (`stale-generation` with `mz-highest-generation`, or
 * `unauthenticated`; `@mzts/protocol` `hello-refusal.ts`), so a controller can tell them apart
 * without parsing messages.
 */
import { Code, ConnectError, type HandlerContext } from "@connectrpc/connect";
import {
  HelloMismatch,
  HIGHEST_GENERATION_TRAILER,
  MAX_COMMAND_MESSAGE_BYTES,
  MAX_RESPONSE_MESSAGE_BYTES,
  MalformedCommand,
  ProtocolVersionMismatch,
  REFUSAL_TRAILER,
  StaleGeneration,
} from "@mzts/protocol";
import { AsyncQueue } from "./async-queue.js";
import {
  ConnectionSuperseded,
  type ControllerConnection,
  type ControllerConnections,
  type HelloInfo,
  HelloUnauthenticated,
  ProtocolViolation,
} from "./controller-connections.js";
import { StreamLane } from "./stream-lane.js";

/** How a command relates to the protocol stages. */
export type CommandClass =
  | { readonly kind: "hello"; readonly hello: HelloInfo }
  | { readonly kind: "createInstance" }
  | { readonly kind: "initializationComplete" }
  | { readonly kind: "other" };

export interface StreamCodec<WireReq, Cmd, WireRes, Resp> {
  /** Decodes a request message into commands. Throws on malformed input (→ InvalidArgument). */
  decodeRequest(req: WireReq): Cmd[];
  /** Encodes a batch of responses into one response message. */
  encodeResponses(resps: readonly Resp[]): WireRes;
  /**
   * Encodes a batch into one response message with the responses pre-encoded, for binary
   * serialization only (same bytes as `encodeResponses`'s; `@mzts/protocol` `response-frames.ts`).
   * Binary streams use it when present; JSON streams always get `encodeResponses`.
   */
  frameResponses?(resps: readonly Resp[]): WireRes;
  classify(cmd: Cmd): CommandClass;
}

/** Serving one accepted connection. */
export interface StreamSession<Cmd, Resp> {
  /** Commands after the hello, in order (InitializationComplete included). */
  commands(cmds: readonly Cmd[]): void;
  /** The server registers its response sink here once. */
  onResponses(sink: (resps: readonly Resp[]) => void): void;
  /** Ends the session (stream ended, superseded or failed). */
  close(reason: Error | undefined): void;
}

export interface StreamHandlerOptions<WireReq, Cmd, WireRes, Resp> {
  readonly codec: StreamCodec<WireReq, Cmd, WireRes, Resp>;
  readonly connections: ControllerConnections;
  openSession(conn: ControllerConnection): StreamSession<Cmd, Resp>;
  /** Observes protocol errors (for logs and metrics). */
  onStreamError?(err: ConnectError, conn: ControllerConnection | undefined): void;
}

/**
 * The Connect handler options of every controller-stream server (pass them to
 * `connectNodeAdapter`): per-message read/write limits (`@mzts/protocol` `limits.ts`), no
 * compression — controllers never compress, and a gzip message inflates ~1000× before decoding —
 * and unknown fields written (protobuf-es's default, spelled out): pre-encoded responses travel
 * as unknown fields (`StreamCodec.frameResponses`).
 */
export const CONTROLLER_STREAM_SERVER_OPTIONS: {
  readonly readMaxBytes: number;
  readonly writeMaxBytes: number;
  readonly acceptCompression: never[];
  readonly binaryOptions: { readonly writeUnknownFields: true };
} = {
  readMaxBytes: MAX_COMMAND_MESSAGE_BYTES,
  writeMaxBytes: MAX_RESPONSE_MESSAGE_BYTES,
  acceptCompression: [],
  binaryOptions: { writeUnknownFields: true },
};

/**
 * Maps the runtime's errors to Connect errors (style §9). `refusedBy` names this side in hello
 * refusals (e.g. "replica u1 compute port").
 */
export function toConnectError(err: unknown, refusedBy = "this replica"): ConnectError {
  if (err instanceof ConnectError) {
    // The request iterator's only Internal errors are payloads that do not parse (Connect's
    // "parse binary: …", a compressed flag without an encoding): the sender's fault.
    if (err.code === Code.Internal) {
      return new ConnectError(
        `undecodable request message: ${err.rawMessage}; the command was not applied — send ` +
          "uncompressed binary protobuf of this service's request type",
        Code.InvalidArgument,
      );
    }
    return err;
  }
  if (err instanceof HelloUnauthenticated) {
    return new ConnectError(
      err.message,
      Code.Unauthenticated,
      new Headers({ [REFUSAL_TRAILER]: "unauthenticated" }),
    );
  }
  if (err instanceof StaleGeneration) {
    return new ConnectError(
      `${refusedBy}: ${err.message}`,
      Code.Aborted,
      new Headers({
        [REFUSAL_TRAILER]: "stale-generation",
        [HIGHEST_GENERATION_TRAILER]: err.currentGeneration.toString(),
      }),
    );
  }
  if (err instanceof ConnectionSuperseded) return new ConnectError(err.message, Code.Aborted);
  if (err instanceof ProtocolVersionMismatch)
    return new ConnectError(err.message, Code.FailedPrecondition);
  if (err instanceof ProtocolViolation) {
    return new ConnectError(
      err.message,
      err.code === "InvalidArgument" ? Code.InvalidArgument : Code.FailedPrecondition,
    );
  }
  if (err instanceof MalformedCommand || err instanceof HelloMismatch)
    return new ConnectError(err.message, Code.InvalidArgument);
  return new ConnectError(
    `internal error: ${String((err as Error)?.message ?? err)}`,
    Code.Internal,
  );
}

/**
 * True when the stream's messages travel as binary protobuf (gRPC, gRPC-web, Connect `+proto`),
 * judged by the request's content type: then responses may leave pre-encoded (`frameResponses`).
 * False for JSON, and without a context (a handler called in process, whose responses are read
 * as messages).
 */
export function isBinaryStream(context: HandlerContext | undefined): boolean {
  const type = context?.requestHeader.get("content-type");
  return type != null && !/json/i.test(type);
}

/** What a handler does with one controller stream (`serveStream`). */
export interface StreamRoute<WireReq> {
  /** Routes one request message. Throws to end the stream (mapped by `toConnectError`). */
  message(req: WireReq): void;
  /** The stream ended (`undefined`: the controller closed its side); called exactly once. */
  finish(err: ConnectError | undefined): void;
}

/**
 * The skeleton of every controller-stream handler: reads the request messages in order into
 * `route`, and ends the response stream once — when the requests end, when `route` throws, or
 * when `end(err)` is called (a newer connection superseded this one). `start` gets the response
 * queue and `end`. `refusedBy` names this side in hello refusals.
 */
export function serveStream<WireReq, WireRes>(
  requests: AsyncIterable<WireReq>,
  refusedBy: string,
  start: (out: AsyncQueue<WireRes>, end: (err: unknown) => void) => StreamRoute<WireReq>,
): AsyncIterable<WireRes> {
  const out = new AsyncQueue<WireRes>();
  let route: StreamRoute<WireReq> | undefined;
  const end = (err: unknown) => {
    if (out.ended) return;
    const cerr = err === undefined ? undefined : toConnectError(err, refusedBy);
    route?.finish(cerr);
    if (cerr) out.fail(cerr);
    else out.end();
  };
  route = start(out, end);
  const read = async () => {
    const it = requests[Symbol.asyncIterator]();
    for (;;) {
      const next = await it.next();
      if (next.done || out.ended) return;
      route.message(next.value);
    }
  };
  read().then(
    () => end(undefined),
    (e: unknown) => end(e),
  );
  return out;
}

/** The violation of a stream (or sub-protocol) whose first command is not its hello. */
export function helloNotFirst(what = "a stream"): ProtocolViolation {
  return new ProtocolViolation("InvalidArgument", `the first command of ${what} must be a hello`);
}

// PHASE(client): legacy — delete when cluster-unification-client is retired (one stream per
// workload, the two-port layout; the cluster stream is `createClusterStreamHandler`)
/** Builds the bidi-stream handler implementation for a Connect service method. */
export function createStreamHandler<WireReq, Cmd, WireRes, Resp>(
  opts: StreamHandlerOptions<WireReq, Cmd, WireRes, Resp>,
): (requests: AsyncIterable<WireReq>, context?: HandlerContext) => AsyncIterable<WireRes> {
  const { codec, connections } = opts;
  return (requests, context) =>
    serveStream<WireReq, WireRes>(requests, connections.label, (out, end) => {
      const encode =
        codec.frameResponses !== undefined && isBinaryStream(context)
          ? codec.frameResponses
          : codec.encodeResponses;
      const lane = new StreamLane<Cmd, Resp>(codec.classify, opts.openSession, (resps) =>
        out.push(encode(resps)),
      );
      return {
        message(req) {
          const cmds = codec.decodeRequest(req);
          let start = 0;
          if (!lane.conn) {
            const first = cmds[0];
            const cls = first === undefined ? undefined : codec.classify(first);
            if (cls?.kind !== "hello") throw helloNotFirst();
            lane.open(connections.open(cls.hello, end));
            start = 1;
          }
          for (let i = start; i < cmds.length; i++) lane.admit(cmds[i]!);
          lane.forward(start === 0 ? cmds : cmds.slice(start));
        },
        finish(err) {
          if (err) opts.onStreamError?.(err, lane.conn);
          lane.close(err, connections);
        },
      };
    });
}
