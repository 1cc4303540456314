/**
 * `StreamLane`: one protocol's half of a controller stream — its accepted connection (the stage
 * rules) and the session serving it. A compute or storage stream has one lane; the unified cluster
 * stream has two, one per sub-protocol (`cluster-stream.ts`).
 *
 * ## Lifecycle
 * 1. Closed until its hello is accepted (`open(conn)`): the session opens then (e.g.
 *    `runtime.connect(nonce)`) and its responses go to the lane's `emit`.
 * 2. Each later command is `admit`ted by the connection's stages (throws `ProtocolViolation`);
 *    a stream message's admitted commands are `forward`ed to the session together, in order, so a
 *    message with a violation hands nothing of itself to the runtime.
 * 3. `close(err)` ends the session and tells the connections that this side went away; the
 *    runtime keeps running for the next controller.
 */
import type { ConnectError } from "@connectrpc/connect";
import type { ControllerConnection, ControllerConnections } from "./controller-connections.js";
import type { CommandClass, StreamSession } from "./server.js";

export class StreamLane<Cmd, Resp> {
  /** The accepted connection; undefined until the lane's hello, kept after close. */
  #conn: ControllerConnection | undefined;
  /** The open session; undefined before the hello and after close. */
  #session: StreamSession<Cmd, Resp> | undefined;
  readonly #classify: (cmd: Cmd) => CommandClass;
  readonly #openSession: (conn: ControllerConnection) => StreamSession<Cmd, Resp>;
  readonly #emit: (resps: readonly Resp[]) => void;

  constructor(
    classify: (cmd: Cmd) => CommandClass,
    openSession: (conn: ControllerConnection) => StreamSession<Cmd, Resp>,
    emit: (resps: readonly Resp[]) => void,
  ) {
    this.#classify = classify;
    this.#openSession = openSession;
    this.#emit = emit;
  }

  get conn(): ControllerConnection | undefined {
    return this.#conn;
  }

  /** The stage class of `cmd` (hello, createInstance, initializationComplete, other). */
  classify(cmd: Cmd): CommandClass {
    return this.#classify(cmd);
  }

  /** Starts serving `conn` (its hello was accepted). */
  open(conn: ControllerConnection): void {
    this.#conn = conn;
    const session = this.#openSession(conn);
    this.#session = session;
    session.onResponses((resps) => {
      if (resps.length > 0 && this.#session === session) this.#emit(resps);
    });
  }

  /** Checks `cmd`'s place in the stages. @throws ProtocolViolation */
  admit(cmd: Cmd): void {
    // A lane is opened before any of its commands is admitted (the callers check the hello).
    this.#conn?.admit(this.#classify(cmd).kind);
  }

  /** Hands admitted commands to the session, in order. */
  forward(cmds: readonly Cmd[]): void {
    if (cmds.length > 0) this.#session?.commands(cmds);
  }

  /** Ends the session; `connections` learns that the controller side went away. */
  close(err: ConnectError | undefined, connections: ControllerConnections): void {
    this.#session?.close(err);
    this.#session = undefined;
    if (this.#conn) connections.closed(this.#conn);
  }
}
