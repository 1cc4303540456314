/**
 * The unified replica task (design §9 phase 3): one incarnation (epoch) of the controller's
 * connection to one replica, for any workload whose protocol is described by a `ReplicaProtocol`
 * (compute and storage today), on one stream of its own (the two-port layout). Implements the
 * `ReplicaConnection` seam; `createReplicaTaskConnector` makes the `ReplicaConnector` an instance
 * takes, carrying the unified rehydration policy.
 *
 * ## Flow
 * The connection machinery — probe, backoff, keepalive, fail-once, layout mismatch — is
 * `StreamTask` (`stream-task.ts`), shared with phase 4's cluster stream. On top of it:
 * 1. Connected: `onConnected(epoch)`; in the turn the stream opens its first message is written:
 *    a fresh hello (new nonce, `generation`, signed for the workload's stream with the replica
 *    secret when there is one), then `replay()` read at that moment with its hellos dropped.
 *    Every later `send` follows in order (a hello in it is replaced by a fresh one too); the
 *    `send`s of one event-loop turn leave together in one message at its end (`SendCoalescer`).
 * 2. Responses are decoded by the protocol and delivered in arrival order, tagged with the epoch,
 *    only while this incarnation is connected (never after it failed or was closed). The
 *    protocol may leave out peek answers the instance no longer waits for (`awaitsPeek`),
 *    undecoded (issue 16).
 * 3. Fail-once: any error — including a response that does not decode, a command that does not
 *    encode, a callback throwing — ends the incarnation: `onFailed(epoch, error)` exactly once.
 *
 * ## Invariants
 * - `connecting → connected → failed`, or `→ closed` from `connecting`/`connected`; never back.
 * - Nothing here is workload specific: the protocol description is the only difference.
 */
import type { Message } from "@bufbuild/protobuf";
import { createHello, type Hello, signHello } from "@mzts/protocol";
import { createRehydrationPolicy, type RehydrationPolicy } from "./rehydration.js";
import type {
  ReplicaConnection,
  ReplicaConnectionOptions,
  ReplicaConnectionState,
  ReplicaConnector,
} from "./replica-connection.js";
import type { ReplicaProtocol } from "./replica-protocol.js";
import { SendCoalescer } from "./send-coalescer.js";
import { StreamTask, toError } from "./stream-task.js";

export { UNIFIED_TUNING } from "./stream-task.js";

/** Options of `createReplicaTaskConnector`. */
export interface ReplicaTaskConnectorOptions {
  /** The rehydration policy the connector carries (default: the unified one). */
  readonly rehydration?: RehydrationPolicy;
}

/**
 * The `ReplicaConnector` of the unified path for `protocol`: every incarnation is a
 * `ReplicaTask`, and the connector carries the unified rehydration policy for the instance.
 */
export function createReplicaTaskConnector<C, R, Req extends Message, Res extends Message>(
  protocol: ReplicaProtocol<C, R, Req, Res>,
  options: ReplicaTaskConnectorOptions = {},
): ReplicaConnector<C, R> {
  const connect = (o: ReplicaConnectionOptions<C, R>) => new ReplicaTask(protocol, o);
  return Object.assign(connect, {
    rehydration: options.rehydration ?? createRehydrationPolicy(),
  });
}

/** One incarnation of one replica over the unified task (see the file comment). */
export class ReplicaTask<C, R, Req extends Message = Message, Res extends Message = Message>
  implements ReplicaConnection<C, R>
{
  readonly epoch: number;
  readonly #protocol: ReplicaProtocol<C, R, Req, Res>;
  readonly #opts: ReplicaConnectionOptions<C, R>;
  /** The connection and its one stream. */
  readonly #task: StreamTask<Req, Res>;
  /** `send`s of one event-loop turn, written as one message at its end (issue 16). */
  readonly #outbox = new SendCoalescer<C>((commands) => {
    if (this.#task.writable) this.#write(commands);
  });
  /** The instance's `awaitsPeek`, if any (see `ReplicaConnectionOptions`). */
  readonly #awaitsPeek: ((uuid: string) => boolean) | undefined;

  constructor(protocol: ReplicaProtocol<C, R, Req, Res>, opts: ReplicaConnectionOptions<C, R>) {
    this.#protocol = protocol;
    this.#opts = opts;
    this.epoch = opts.epoch;
    this.#awaitsPeek = opts.awaitsPeek?.bind(opts);
    this.#task = new StreamTask<Req, Res>({
      service: protocol.service,
      stream: protocol.stream,
      layout: "two-port",
      replicaId: opts.replicaId,
      logFields: { epoch: opts.epoch },
      location: opts.location,
      logger: opts.logger,
      tuning: opts.tuning,
      connected: () => opts.onConnected(this.epoch),
      opened: () => {
        // The replay is read now, in the turn the stream becomes writable: every command sent
        // before is in it, every later one goes through `send`.
        const p = this.#protocol;
        const first: C[] = [p.hello(this.#hello())];
        for (const c of opts.replay()) if (!p.isHello(c)) first.push(c);
        this.#write(first);
      },
      message: (message) => {
        const responses = this.#protocol.decode(message, this.#awaitsPeek);
        if (this.#task.state === "connected") opts.onResponses(this.epoch, responses);
      },
      failed: (cause) => {
        this.#outbox.discard();
        opts.onFailed(this.epoch, cause);
      },
    });
  }

  get state(): ReplicaConnectionState {
    return this.#task.state;
  }

  send(commands: readonly C[]): void {
    // Before the stream opens they are in the history the replay reads; after its end, dropped.
    if (!this.#task.writable || commands.length === 0) return;
    this.#outbox.add(commands);
  }

  close(): Promise<void> {
    this.#outbox.discard();
    return this.#task.close();
  }

  retryNow(): void {
    this.#task.retryNow();
  }

  /** A fresh hello for this connection, signed for the workload's stream when there is a secret. */
  #hello(): Hello {
    const hello = createHello(this.#opts.generation);
    const secret = this.#opts.replicaSecret;
    return secret === undefined ? hello : signHello(hello, secret, this.#protocol.stream);
  }

  /** Writes one request message; an encode error fails the stream (never the caller). */
  #write(commands: readonly C[]): void {
    const p = this.#protocol;
    const out = commands.map((c) => (p.isHello(c) ? p.hello(this.#hello()) : c));
    let message: Req;
    try {
      message = p.encode(out);
    } catch (e) {
      this.#task.fail(toError(e));
      return;
    }
    this.#task.push(message);
    for (const c of out) this.#opts.onCommandSent?.(c);
  }
}
