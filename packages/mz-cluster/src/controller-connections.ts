/**
 * Controller connections of one replica server: hello checks, generation fencing, newest-wins,
 * protocol stages, and the "no controller" timeout.
 *
 * ## Rules (shared/design.md §1, §3, §4)
 * - The first message of a stream is a hello `{nonce, generation, protocolVersion, buildVersion}`.
 * - A hello whose generation is below the highest generation this replica has seen is refused with
 *   `StaleGeneration` (the controller was fenced by a newer environmentd); a hello with another
 *   protocol version is refused with `ProtocolVersionMismatch`. Both name both values.
 * - Otherwise the new connection wins: the previous one (if any) is told it was superseded and its
 *   stream ends with `ConnectionSuperseded`.
 * - Stages per connection: `initializing` (the replayed history) until exactly one
 *   `InitializationComplete`, then `live`. A second hello or a second InitializationComplete is a
 *   `ProtocolViolation` (the stream ends; the replica stays up for the next connection).
 * - With no connection for `noControllerTimeoutMs`, `onNoController` fires (clusterd exits then),
 *   so a replica whose environmentd is gone for good does not linger.
 */
import { checkHello, type Hello, StaleGeneration } from "@mzts/protocol";
import { ClusterError } from "./errors.js";

/** The hello that opens every controller stream (`@mzts/protocol`'s `Hello`). */
export type HelloInfo = Hello;

/** Connect code names the server maps these errors to (style §9). */
export type ViolationCode = "InvalidArgument" | "FailedPrecondition";

/** A newer controller connection replaced this one. */
export class ConnectionSuperseded extends ClusterError {
  override name = "ConnectionSuperseded";
  constructor(
    readonly nonce: string,
    readonly byNonce: string,
    readonly byGeneration: bigint,
  ) {
    super(
      `controller connection ${nonce} was replaced by a newer connection ${byNonce} (generation ${byGeneration}); ` +
        "only the newest controller connection is served",
    );
  }
}

/** A message broke the protocol's stage rules. The stream ends; the replica stays up. */
export class ProtocolViolation extends ClusterError {
  override name = "ProtocolViolation";
  constructor(
    readonly code: ViolationCode,
    readonly reason: string,
  ) {
    super(`protocol violation: ${reason}`);
  }
}

export type Stage = "initializing" | "live" | "closed";

/** One accepted controller connection. */
export class ControllerConnection {
  readonly hello: HelloInfo;
  #stage: Stage = "initializing";
  readonly #onEnd: (err: ClusterError) => void;

  /** @internal */
  constructor(hello: HelloInfo, onEnd: (err: ClusterError) => void) {
    this.hello = hello;
    this.#onEnd = onEnd;
  }

  get stage(): Stage {
    return this.#stage;
  }

  get nonce(): string {
    return this.hello.nonce;
  }

  /**
   * Checks a command's place in the stages and advances them.
   * @throws ProtocolViolation on a second hello, a second InitializationComplete, or a command on a
   * closed connection.
   */
  admit(kind: "hello" | "initializationComplete" | "other"): void {
    if (this.#stage === "closed")
      throw new ProtocolViolation("FailedPrecondition", "command on a closed connection");
    if (kind === "hello")
      throw new ProtocolViolation(
        "InvalidArgument",
        "a second hello on one stream (hello must be sent once, first)",
      );
    if (kind === "initializationComplete") {
      if (this.#stage === "live") {
        throw new ProtocolViolation(
          "FailedPrecondition",
          "a second InitializationComplete (it must be sent exactly once per connection)",
        );
      }
      this.#stage = "live";
    }
  }

  /** @internal Ends the connection from the server side. */
  end(err: ClusterError): void {
    if (this.#stage === "closed") return;
    this.#stage = "closed";
    this.#onEnd(err);
  }

  /** @internal The stream ended from the controller side. */
  markClosed(): void {
    this.#stage = "closed";
  }
}

export interface ControllerConnectionsOptions {
  /** The protocol version this replica speaks (`PROTOCOL_VERSION`). */
  readonly protocolVersion: number;
  /** Time with no controller after which `onNoController` fires; 0 disables. */
  readonly noControllerTimeoutMs: number;
  readonly onNoController?: () => void;
}

/** The connections of one replica server (one per workload stream, or one unified). */
export class ControllerConnections implements Disposable {
  /** Highest generation accepted so far; only rises. */
  #highest = -1n;
  /** The connection being served, if any. */
  #current: ControllerConnection | null = null;
  #idleTimer: NodeJS.Timeout | undefined;
  readonly #opts: ControllerConnectionsOptions;
  /** Count of hellos refused for a stale generation. */
  fencedCount = 0;

  constructor(opts: ControllerConnectionsOptions) {
    this.#opts = opts;
    this.#armIdle();
  }

  get current(): ControllerConnection | null {
    return this.#current;
  }

  get highestGeneration(): bigint {
    return this.#highest;
  }

  /**
   * Accepts a hello. The previous connection (if any) ends with `ConnectionSuperseded`.
   * @throws StaleGeneration | ProtocolVersionMismatch (from `@mzts/protocol`'s `checkHello`)
   */
  open(hello: HelloInfo, onEnd: (err: ClusterError) => void): ControllerConnection {
    try {
      checkHello(hello, this.#highest, this.#opts.protocolVersion);
    } catch (e) {
      if (e instanceof StaleGeneration) this.fencedCount++;
      throw e;
    }
    this.#highest = hello.generation;
    const prev = this.#current;
    const conn = new ControllerConnection(hello, onEnd);
    this.#current = conn;
    this.#disarmIdle();
    prev?.end(new ConnectionSuperseded(prev.nonce, hello.nonce, hello.generation));
    return conn;
  }

  /** The controller side of `conn` went away (stream ended or failed). */
  closed(conn: ControllerConnection): void {
    conn.markClosed();
    if (this.#current === conn) {
      this.#current = null;
      this.#armIdle();
    }
  }

  close(): void {
    this.#disarmIdle();
    this.#current?.markClosed();
    this.#current = null;
  }

  [Symbol.dispose](): void {
    this.close();
  }

  #armIdle(): void {
    this.#disarmIdle();
    const ms = this.#opts.noControllerTimeoutMs;
    if (ms > 0 && this.#opts.onNoController) {
      this.#idleTimer = setTimeout(() => this.#opts.onNoController?.(), ms);
      this.#idleTimer.unref();
    }
  }

  #disarmIdle(): void {
    if (this.#idleTimer) clearTimeout(this.#idleTimer);
    this.#idleTimer = undefined;
  }
}
