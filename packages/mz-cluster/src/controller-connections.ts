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
 * - Authentication (docs/design/20261206_replica_auth.md): with a `secret`, a hello is accepted
 *   only with a valid `authProof` for this stream and a nonce not seen before; it is checked
 *   **before** the generation, so an unauthenticated hello can neither fence nor supersede the
 *   controller. Without a secret (`--insecure-no-auth`) every hello is accepted as before.
 * - Every refusal names the refusing side (`label`, e.g. "replica u1 compute port").
 * - The unified cluster stream (phase 4) carries two sub-protocols, each opened by its own hello
 *   signed for its own stream name: the first hello `open`s the connection (`open(hello, onEnd,
 *   "storage")`), the other sub-protocol's hello `join`s it — it must carry a valid proof for its
 *   stream and agree with the first (`checkClusterHellos`: same nonce, generation, versions), so it
 *   neither fences nor supersedes anything. Newest-wins and fencing apply to the connection, and so
 *   to the stream as a whole.
 */
import {
  checkClusterHellos,
  checkHello,
  type Hello,
  type HelloStream,
  StaleGeneration,
  truncateForLog,
  verifyHelloProof,
} from "@mzts/protocol";
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

/** A hello without a valid proof of the environment's replica secret, or a replayed one. */
export class HelloUnauthenticated extends ClusterError {
  override name = "HelloUnauthenticated";
  constructor(
    /** Who refused (`ControllerConnectionsOptions.label`). */
    readonly refusedBy: string,
    /** Which check failed. */
    readonly check: "missing" | "mismatch" | "replayed",
    readonly nonce: string,
  ) {
    const what =
      check === "missing"
        ? "carries no auth proof"
        : check === "mismatch"
          ? "carries an auth proof that does not match this replica's secret"
          : "reuses a nonce this replica has already accepted (a replayed hello)";
    super(
      `${refusedBy} refused an unauthenticated hello (nonce ${truncateForLog(nonce, 64)}): the hello ` +
        `${what}; a controller signs every hello with its environment's replica secret ` +
        "(<environmentd data dir>/replica-secret) — if this is your environmentd, restart the replica " +
        "so it is spawned with that environment's secret",
    );
  }
}

export type Stage = "initializing" | "live" | "closed";

/** One accepted controller connection (on a cluster stream: one sub-protocol of it). */
export class ControllerConnection {
  readonly hello: HelloInfo;
  /** The stream (or sub-protocol) this hello was accepted for; "compute" must createInstance first. */
  readonly stream: HelloStream;
  #stage: Stage = "initializing";
  #createdInstance = false;
  readonly #onEnd: (err: ClusterError) => void;

  /** @internal */
  constructor(hello: HelloInfo, onEnd: (err: ClusterError) => void, stream: HelloStream) {
    this.hello = hello;
    this.#onEnd = onEnd;
    this.stream = stream;
  }

  get stage(): Stage {
    return this.#stage;
  }

  get nonce(): string {
    return this.hello.nonce;
  }

  /**
   * Checks a command's place in the stages and advances them.
   * @throws ProtocolViolation on a second hello, a misplaced or second createInstance, a command
   * before createInstance on a compute stream, a second InitializationComplete, or a command on a
   * closed connection.
   */
  admit(kind: "hello" | "createInstance" | "initializationComplete" | "other"): void {
    if (this.#stage === "closed")
      throw new ProtocolViolation("FailedPrecondition", "command on a closed connection");
    if (kind === "hello")
      throw new ProtocolViolation(
        "InvalidArgument",
        "a second hello on one stream (hello must be sent once, first)",
      );
    if (kind === "createInstance") {
      // command.proto stage 1: createInstance belongs to creation, once, before the history.
      if (this.#stage === "live") {
        throw new ProtocolViolation(
          "FailedPrecondition",
          "createInstance after initializationComplete (it must be sent once, right after the hello)",
        );
      }
      if (this.#createdInstance) {
        throw new ProtocolViolation(
          "FailedPrecondition",
          "a second createInstance (it must be sent once per connection, right after the hello)",
        );
      }
      this.#createdInstance = true;
    } else if (this.stream === "compute" && !this.#createdInstance) {
      // command.proto stage 1: nothing but createInstance comes between the hello and it.
      throw new ProtocolViolation(
        "FailedPrecondition",
        "a command before createInstance (a compute stream sends createInstance right after the hello)",
      );
    }
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
  /** Names this side in refusals, e.g. "replica u1 compute port". */
  readonly label?: string;
  /**
   * The stream whose hellos this accepts (part of the auth proof); default "cluster". On the
   * unified stream each hello names its sub-protocol instead (`open`'s and `join`'s `stream`).
   */
  readonly stream?: HelloStream;
  /**
   * The environment's replica secret; every hello must carry a valid proof of it. `null` turns
   * authentication off (clusterd `--insecure-no-auth`, tests): say so explicitly.
   */
  readonly secret: Uint8Array | null;
}

/** Accepted nonces remembered against replays (oldest forgotten first). */
const REMEMBERED_NONCES = 4096;

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
  /** Count of hellos refused as unauthenticated. */
  unauthenticatedCount = 0;
  /** Nonces of accepted hellos, oldest first (replay protection). */
  readonly #seenNonces = new Set<string>();

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
   * Accepts a hello for `stream` (default: the `stream` option). The previous connection (if any)
   * ends with `ConnectionSuperseded`.
   * @throws HelloUnauthenticated (checked first), StaleGeneration | ProtocolVersionMismatch (from
   * `@mzts/protocol`'s `checkHello`)
   */
  open(
    hello: HelloInfo,
    onEnd: (err: ClusterError) => void,
    stream: HelloStream = this.#opts.stream ?? "cluster",
  ): ControllerConnection {
    this.#authenticate(hello, stream);
    try {
      checkHello(hello, this.#highest, this.#opts.protocolVersion);
    } catch (e) {
      if (e instanceof StaleGeneration) this.fencedCount++;
      throw e;
    }
    this.#highest = hello.generation;
    this.#seenNonces.add(hello.nonce);
    if (this.#seenNonces.size > REMEMBERED_NONCES) {
      this.#seenNonces.delete(this.#seenNonces.values().next().value as string);
    }
    const prev = this.#current;
    const conn = new ControllerConnection(hello, onEnd, stream);
    this.#current = conn;
    this.#disarmIdle();
    prev?.end(new ConnectionSuperseded(prev.nonce, hello.nonce, hello.generation));
    return conn;
  }

  /**
   * Accepts the other sub-protocol's hello on `first`'s unified stream: it opens no new
   * connection (no fencing, no superseding, `current` stays `first`) and ends with `first`.
   * @throws HelloUnauthenticated (no valid proof for `stream`; checked first), HelloMismatch (it
   * disagrees with `first`'s hello), ProtocolViolation (`first` is closed or already `stream`)
   */
  join(first: ControllerConnection, hello: HelloInfo, stream: HelloStream): ControllerConnection {
    if (first.stage === "closed")
      throw new ProtocolViolation("FailedPrecondition", "command on a closed connection");
    if (first.stream === stream || stream === "cluster") {
      throw new ProtocolViolation(
        "InvalidArgument",
        `a second ${stream} hello on one stream (each sub-protocol sends its hello once, first)`,
      );
    }
    // The nonce was accepted with `first`: this hello's proof is checked, not its freshness.
    this.#authenticate(hello, stream, false);
    if (stream === "compute") checkClusterHellos(hello, first.hello);
    else checkClusterHellos(first.hello, hello);
    return new ControllerConnection(hello, () => {}, stream);
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

  /** Who refuses, for messages. */
  get label(): string {
    return this.#opts.label ?? "this replica";
  }

  #authenticate(hello: HelloInfo, stream: HelloStream, fresh = true): void {
    const secret = this.#opts.secret;
    if (secret === null) return;
    const check = verifyHelloProof(hello, secret, stream);
    const failed =
      check !== "valid" ? check : fresh && this.#seenNonces.has(hello.nonce) ? "replayed" : null;
    if (failed !== null) {
      this.unauthenticatedCount++;
      throw new HelloUnauthenticated(this.label, failed, hello.nonce);
    }
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
