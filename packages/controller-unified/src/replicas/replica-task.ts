/**
 * The unified replica task (design §9 phase 3): one incarnation (epoch) of the controller's
 * connection to one replica, for any workload whose protocol is described by a `ReplicaProtocol`
 * (compute and storage today). Implements the `ReplicaConnection` seam; `createReplicaTaskConnector`
 * makes the `ReplicaConnector` an instance takes, carrying the unified rehydration policy.
 *
 * ## Flow
 * 1. Connect: a `LivenessProbe` (`@mzts/protocol/wire`) opens an HTTP/2 session to `location()`
 *    (read at every attempt) and waits for one PING ack (`connectTimeoutMs`): a stopped process's
 *    kernel still accepts TCP, only an ack proves the replica alive. A failed attempt is retried
 *    after `backoffDelayMs(n)` (125 ms doubling to 1 s, ±20 % jitter) — the first 5 at debug,
 *    later ones at info — until connected or closed; a pause ends early when `location()`
 *    changes (a restarted replica's new address is tried within 50 ms). Nothing is sent before.
 * 2. Connected: `onConnected(epoch)`; the stream opens on a session of its own and, in the same
 *    turn, its first message is written: a fresh hello (new nonce, `generation`, signed for the
 *    workload's stream with the replica secret when there is one), then `replay()` read at that
 *    moment with its hellos dropped. Every later `send` follows in order (a hello in it is
 *    replaced by a fresh one too).
 * 3. Liveness: the probe PINGs every `pingIntervalMs`; one unanswered for `pingTimeoutMs`, or its
 *    session dying, aborts the stream: a stopped replica is detected within
 *    `pingIntervalMs + pingTimeoutMs` (1.75 s by default).
 * 4. Responses are decoded by the protocol and delivered in arrival order, tagged with the epoch,
 *    only while this incarnation is connected (never after it failed or was closed).
 * 5. Fail-once: once connected, any error — the stream ending or failing, the keepalive, a
 *    response that does not decode, a command that does not encode, a callback throwing — ends
 *    the incarnation: warning `replica task failed: …`, `onFailed(epoch, error)` exactly once,
 *    nothing delivered afterwards. `close()` ends it from any state without `onFailed`.
 *
 * ## Invariants
 * - `connecting → connected → failed`, or `→ closed` from `connecting`/`connected`; never back.
 * - No listener is left on the task's abort signal per attempt (`sleep`, `LivenessProbe.close`).
 * - Nothing here is workload specific: the protocol description is the only difference.
 */

import type { Message } from "@bufbuild/protobuf";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport, Http2SessionManager } from "@connectrpc/connect-node";
import {
  CONTROLLER_CLIENT_TRANSPORT_OPTIONS,
  createHello,
  type Hello,
  signHello,
} from "@mzts/protocol";
import { LivenessProbe } from "@mzts/protocol/wire";
import { ReplicaStreamEnded } from "../errors.js";
import { sleep } from "./abortable-sleep.js";
import { backoffDelayMs, DEFAULT_BACKOFF } from "./backoff.js";
import { createRehydrationPolicy, type RehydrationPolicy } from "./rehydration.js";
import type {
  ReplicaConnection,
  ReplicaConnectionOptions,
  ReplicaConnectionState,
  ReplicaConnectionTuning,
  ReplicaConnector,
} from "./replica-connection.js";
import type { ReplicaProtocol } from "./replica-protocol.js";
import { RequestQueue } from "./request-queue.js";

/**
 * The unified task's defaults, the same for every workload: Materialize's reconnect backoff, and
 * a keepalive that detects a stopped replica within 1.75 s (design goal ≤ 2 s; the legacy
 * tasks: 3 s compute, 6 s storage). A replica whose process stalls for 1.5 s is taken for dead.
 */
export const UNIFIED_TUNING: Required<ReplicaConnectionTuning> = {
  backoff: DEFAULT_BACKOFF,
  random: Math.random,
  pingIntervalMs: 250,
  pingTimeoutMs: 1500,
  connectTimeoutMs: 5000,
};

/** Connect attempts logged at debug before they are logged at info (Materialize's). */
const QUIET_RETRIES = 5;
/** How often a backoff pause checks whether the replica's location changed. */
const LOCATION_POLL_MS = 50;

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
  readonly #tuning: Required<ReplicaConnectionTuning>;
  /** See the state machine in the file comment. */
  #state: ReplicaConnectionState = "connecting";
  /** The open stream's request queue; set in the turn the stream opens, cleared when it ends. */
  #requests: RequestQueue<Req> | undefined;
  /** The first local error of the open stream (encode, callback), preferred over the transport's. */
  #localError: Error | undefined;
  /** Aborts the current attempt, the stream and any pause, on `close()`. */
  readonly #abort = new AbortController();
  /** Resolves when the run loop has returned. */
  readonly #done: Promise<void>;

  constructor(protocol: ReplicaProtocol<C, R, Req, Res>, opts: ReplicaConnectionOptions<C, R>) {
    this.#protocol = protocol;
    this.#opts = opts;
    this.epoch = opts.epoch;
    this.#tuning = { ...UNIFIED_TUNING, ...opts.tuning };
    this.#done = this.#run();
  }

  get state(): ReplicaConnectionState {
    return this.#state;
  }

  send(commands: readonly C[]): void {
    // Before the stream opens they are in the history the replay reads; after its end, dropped.
    if (this.#state !== "connected" || commands.length === 0) return;
    this.#write(commands);
  }

  async close(): Promise<void> {
    if (this.#state === "connecting" || this.#state === "connected") this.#state = "closed";
    this.#requests?.end();
    this.#abort.abort();
    await this.#done;
  }

  get #live(): boolean {
    return this.#state === "connecting" || this.#state === "connected";
  }

  /** A fresh hello for this connection, signed for the workload's stream when there is a secret. */
  #hello(): Hello {
    const hello = createHello(this.#opts.generation);
    const secret = this.#opts.replicaSecret;
    return secret === undefined ? hello : signHello(hello, secret, this.#protocol.stream);
  }

  /** Writes one request message; an encode error fails the stream (never the caller). */
  #write(commands: readonly C[]): void {
    const requests = this.#requests;
    if (requests === undefined) return;
    const p = this.#protocol;
    const out = commands.map((c) => (p.isHello(c) ? p.hello(this.#hello()) : c));
    try {
      requests.push(p.encode(out));
    } catch (e) {
      this.#failStream(toError(e));
      return;
    }
    for (const c of out) this.#opts.onCommandSent?.(c);
  }

  #failStream(error: Error): void {
    this.#localError ??= error;
    this.#requests?.fail(error);
  }

  async #run(): Promise<void> {
    const { logger, replicaId } = this.#opts;
    for (let failures = 0; this.#live; ) {
      const url = this.#opts.location();
      const probe = new LivenessProbe(url, this.#tuning, this.#abort.signal);
      let connected = false;
      let error: Error | undefined;
      try {
        await probe.probe();
        if (!this.#live) return;
        connected = true;
        this.#state = "connected";
        this.#opts.onConnected(this.epoch);
        if (this.#state === "connected") await this.#stream(url, probe);
      } catch (e) {
        error = toError(e);
      } finally {
        this.#requests?.end();
        this.#requests = undefined;
        probe.close();
      }
      if (this.#state !== "connected" && this.#state !== "connecting") return; // closed
      if (connected) {
        const cause =
          this.#localError ??
          probe.failure ??
          error ??
          new ReplicaStreamEnded(this.#protocol.stream);
        this.#state = "failed";
        logger.warn(
          {
            replica_id: replicaId,
            epoch: this.epoch,
            stream: this.#protocol.stream,
            err: cause.message,
          },
          `replica task failed: ${cause.message}`,
        );
        try {
          this.#opts.onFailed(this.epoch, cause);
        } catch (e) {
          // The instance's bug; the task has ended either way (close() must still resolve).
          logger.error({ replica_id: replicaId, err: toError(e).message }, "onFailed threw");
        }
        return;
      }
      failures++;
      const delay = backoffDelayMs(failures, this.#tuning.backoff, this.#tuning.random);
      const reason = probe.failure ?? error;
      logger[failures > QUIET_RETRIES ? "info" : "debug"](
        {
          replica_id: replicaId,
          epoch: this.epoch,
          stream: this.#protocol.stream,
          url,
          attempt: failures,
          delay_ms: delay,
          err: reason?.message,
        },
        "replica connect attempt failed, retrying",
      );
      await this.#pause(delay, url);
    }
  }

  /**
   * The backoff pause before the next attempt, cut short when the replica's location changes (a
   * restarted replica listens elsewhere: the orchestrator's new address is tried within
   * `LOCATION_POLL_MS` instead of after up to a full backoff step).
   */
  async #pause(delayMs: number, url: string): Promise<void> {
    const until = performance.now() + delayMs;
    for (let left = delayMs; left > 0 && this.#live; left = until - performance.now()) {
      await sleep(Math.min(left, LOCATION_POLL_MS), this.#abort.signal);
      if (this.#opts.location() !== url) return;
    }
  }

  /** Runs the stream until it ends, fails, or the probe aborts it. */
  async #stream(url: string, probe: LivenessProbe): Promise<void> {
    // A session of its own, torn down with the stream: a transport's default session would
    // linger after every reconnect, holding a socket to the replica.
    const session = new Http2SessionManager(url);
    try {
      const client = createClient(
        this.#protocol.service,
        createGrpcTransport({
          baseUrl: url,
          sessionManager: session,
          ...CONTROLLER_CLIENT_TRANSPORT_OPTIONS,
        }),
      );
      const requests = new RequestQueue<Req>();
      this.#requests = requests;
      // The replay is read now, in the turn the stream becomes writable: every command sent
      // before is in it, every later one goes through `send`.
      const p = this.#protocol;
      const first: C[] = [p.hello(this.#hello())];
      for (const c of this.#opts.replay()) if (!p.isHello(c)) first.push(c);
      this.#write(first);
      probe.keepalive();
      const responses = client.control(requests, { signal: probe.signal }) as AsyncIterable<Res>;
      for await (const message of responses) {
        if (this.#state !== "connected") return;
        let decoded: R[];
        try {
          decoded = p.decode(message);
        } catch (e) {
          this.#failStream(toError(e));
          return;
        }
        try {
          this.#opts.onResponses(this.epoch, decoded);
        } catch (e) {
          this.#failStream(toError(e));
          return;
        }
      }
    } finally {
      session.abort();
    }
  }
}

function toError(e: unknown): Error {
  return e instanceof Error ? e : new Error(String(e));
}
