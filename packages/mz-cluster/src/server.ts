/**
 * The controller-facing stream handler: one bidirectional Connect stream per controller
 * connection, generic over the workload's wire and domain types.
 *
 * ## Flow
 * 1. The first command of the stream must be a hello (else `InvalidArgument`). It is checked by
 *    `ControllerConnections` (fencing by generation, protocol version, newest wins).
 * 2. `openSession(conn)` starts serving the connection (e.g. `runtime.connect(nonce)`).
 * 3. Every later request message is decoded (a decode failure ends the stream with
 *    `InvalidArgument`), each command is admitted by the connection's stage rules (a second hello
 *    or InitializationComplete ends it with the violation's code), then handed to the session in
 *    order.
 * 4. The session's responses are batched into response messages as they come.
 * 5. The stream ends when the controller closes its side (the session closes and the replica waits
 *    for the next controller), when a newer connection supersedes this one (`Aborted`), or on a
 *    protocol violation. The replica stays up in every case.
 *
 * Errors map to Connect codes in one place, `toConnectError()` (style §9).
 */
import { Code, ConnectError } from "@connectrpc/connect";
import { MalformedCommand, ProtocolVersionMismatch, StaleGeneration } from "@mzts/protocol";
import { AsyncQueue } from "./async-queue.js";
import {
  ConnectionSuperseded,
  type ControllerConnection,
  type ControllerConnections,
  type HelloInfo,
  ProtocolViolation,
} from "./controller-connections.js";

/** How a command relates to the protocol stages. */
export type CommandClass =
  | { readonly kind: "hello"; readonly hello: HelloInfo }
  | { readonly kind: "initializationComplete" }
  | { readonly kind: "other" };

export interface StreamCodec<WireReq, Cmd, WireRes, Resp> {
  /** Decodes a request message into commands. Throws on malformed input (→ InvalidArgument). */
  decodeRequest(req: WireReq): Cmd[];
  /** Encodes a batch of responses into one response message. */
  encodeResponses(resps: readonly Resp[]): WireRes;
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

/** Maps the runtime's errors to Connect errors (style §9). */
export function toConnectError(err: unknown): ConnectError {
  if (err instanceof ConnectError) return err;
  if (err instanceof StaleGeneration) return new ConnectError(err.message, Code.Aborted);
  if (err instanceof ConnectionSuperseded) return new ConnectError(err.message, Code.Aborted);
  if (err instanceof ProtocolVersionMismatch)
    return new ConnectError(err.message, Code.FailedPrecondition);
  if (err instanceof ProtocolViolation) {
    return new ConnectError(
      err.message,
      err.code === "InvalidArgument" ? Code.InvalidArgument : Code.FailedPrecondition,
    );
  }
  if (err instanceof MalformedCommand) return new ConnectError(err.message, Code.InvalidArgument);
  return new ConnectError(
    `internal error: ${String((err as Error)?.message ?? err)}`,
    Code.Internal,
  );
}

/** Builds the bidi-stream handler implementation for a Connect service method. */
export function createStreamHandler<WireReq, Cmd, WireRes, Resp>(
  opts: StreamHandlerOptions<WireReq, Cmd, WireRes, Resp>,
): (requests: AsyncIterable<WireReq>) => AsyncIterable<WireRes> {
  const { codec, connections } = opts;
  return (requests) => {
    const out = new AsyncQueue<WireRes>();
    let conn: ControllerConnection | undefined;
    let session: StreamSession<Cmd, Resp> | undefined;

    const finish = (err: unknown) => {
      const cerr = err === undefined ? undefined : toConnectError(err);
      if (cerr) opts.onStreamError?.(cerr, conn);
      session?.close(cerr);
      session = undefined;
      if (conn) connections.closed(conn);
      if (cerr) out.fail(cerr);
      else out.end();
    };

    const read = async () => {
      const it = requests[Symbol.asyncIterator]();
      for (;;) {
        const next = await it.next();
        if (next.done) return;
        if (out.ended) return;
        const cmds = codec.decodeRequest(next.value);
        let start = 0;
        if (!conn) {
          const first = cmds[0];
          const cls = first === undefined ? undefined : codec.classify(first);
          if (cls?.kind !== "hello") {
            throw new ProtocolViolation(
              "InvalidArgument",
              "the first command of a stream must be a hello",
            );
          }
          conn = connections.open(cls.hello, (e) => finish(e));
          session = opts.openSession(conn);
          session.onResponses((resps) => {
            if (resps.length > 0 && !out.ended) out.push(codec.encodeResponses(resps));
          });
          start = 1;
        }
        for (let i = start; i < cmds.length; i++) {
          const cls = codec.classify(cmds[i]!);
          conn.admit(cls.kind);
        }
        if (start < cmds.length) session?.commands(start === 0 ? cmds : cmds.slice(start));
      }
    };

    read().then(
      () => finish(undefined),
      (e: unknown) => finish(e),
    );
    return out;
  };
}
