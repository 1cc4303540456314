/**
 * `SubConnection<C, R>`: one incarnation (epoch) of one instance's connection to a replica, riding
 * the replica's shared cluster stream (`replica-stream.ts`) as a sub-protocol. It implements the
 * `ReplicaConnection` seam exactly like the per-workload replica task, so an instance cannot tell
 * one stream from two.
 *
 * ## Lifecycle (driven by the replica stream)
 * `connecting` (attached, the stream is connecting) → `connected` (`join`: `onConnected(epoch)`,
 * then its fresh hello and its replay — read at that moment — go on the stream) → `failed`
 * (`fail`: the stream ended; `onFailed(epoch, cause)` once). `close()` detaches it from any state
 * without `onFailed`; no callback fires afterwards.
 *
 * ## Invariants
 * - Responses are delivered only while `connected`, tagged with this incarnation's epoch.
 * - `send` writes only after the join (before it, the commands are in the replay it reads).
 */
import type { Hello } from "@mzts/protocol";
import { signHello } from "@mzts/protocol";
import type {
  ReplicaConnection,
  ReplicaConnectionOptions,
  ReplicaConnectionState,
} from "../replicas/replica-connection.js";
import type { SubProtocol } from "./sub-protocol.js";

/** What a sub-connection needs from the stream it is attached to. */
export interface SubStream {
  /** Writes `commands` of `sub` (already fresh-helloed) as one request message. */
  write(sub: SubConnection<unknown, unknown>, commands: readonly unknown[]): void;
  /** Detaches `sub`; resolves when nothing of the stream can call it any more. */
  detach(sub: SubConnection<unknown, unknown>): Promise<void>;
  /** The replica was seen starting: a backoff pause of the stream ends now. */
  retryNow(): void;
}

/** One sub-protocol incarnation on a shared cluster stream (see the file comment). */
export class SubConnection<C, R> implements ReplicaConnection<C, R> {
  readonly epoch: number;
  readonly protocol: SubProtocol<C, R>;
  readonly options: ReplicaConnectionOptions<C, R>;
  /** See the lifecycle in the file comment. */
  #state: ReplicaConnectionState = "connecting";
  /** The stream it is attached to; set by `attach`, for `send` and `close`. */
  #stream: SubStream | undefined;
  /** The hello of the stream it joined (same nonce and generation for both sub-protocols). */
  #hello: Hello | undefined;

  constructor(protocol: SubProtocol<C, R>, options: ReplicaConnectionOptions<C, R>) {
    this.protocol = protocol;
    this.options = options;
    this.epoch = options.epoch;
  }

  get state(): ReplicaConnectionState {
    return this.#state;
  }

  /** Whether it is still attached (neither failed nor closed). */
  get live(): boolean {
    return this.#state === "connecting" || this.#state === "connected";
  }

  /** @internal The stream it rides (set once, by the stream). */
  attach(stream: SubStream): void {
    this.#stream = stream;
  }

  /**
   * @internal The stream is connected and writable: reports the connection and returns its first
   * commands — its hello (signed for its own sub-protocol) and its replay, read now. Empty when it
   * is no longer live (the owner closed it from a callback).
   */
  join(hello: Hello): C[] {
    if (this.#state !== "connecting") return [];
    this.#state = "connected";
    this.#hello = hello;
    this.options.onConnected(this.epoch);
    if (this.#state !== "connected") return [];
    const p = this.protocol;
    const first: C[] = [p.hello(this.#signed(hello))];
    for (const c of this.options.replay()) if (!p.isHello(c)) first.push(c);
    return first;
  }

  /** @internal Responses of its sub-protocol, in arrival order. @throws what the instance throws */
  deliver(responses: readonly R[]): void {
    if (this.#state === "connected") this.options.onResponses(this.epoch, responses);
  }

  /** @internal The stream ended: `onFailed` once. */
  fail(cause: Error): void {
    if (!this.live) return;
    this.#state = "failed";
    try {
      this.options.onFailed(this.epoch, cause);
    } catch (e) {
      const err = e instanceof Error ? e.message : String(e);
      this.options.logger.error({ replica_id: this.options.replicaId, err }, "onFailed threw");
    }
  }

  /** @internal Commands as written: a hello replaced by the stream's, signed for this sub-protocol. */
  outgoing(commands: readonly C[]): C[] {
    const p = this.protocol;
    const hello = this.#hello;
    if (hello === undefined) return [...commands];
    return commands.map((c) => (p.isHello(c) ? p.hello(this.#signed(hello)) : c));
  }

  send(commands: readonly C[]): void {
    if (this.#state !== "connected" || commands.length === 0) return;
    this.#stream?.write(this as SubConnection<unknown, unknown>, commands);
  }

  retryNow(): void {
    if (this.#state === "connecting") this.#stream?.retryNow();
  }

  async close(): Promise<void> {
    if (this.live) this.#state = "closed";
    await this.#stream?.detach(this as SubConnection<unknown, unknown>);
  }

  #signed(hello: Hello): Hello {
    const secret = this.options.replicaSecret;
    return secret === undefined ? hello : signHello(hello, secret, this.protocol.kind);
  }
}
