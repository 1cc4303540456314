/**
 * The legacy replica task (materialize.md §4.2 "Replica task", §9.8): one incarnation (epoch) of
 * one replica, talking to its compute endpoint over one `ComputeService.Control` gRPC stream.
 * Implements the `ReplicaConnection` seam of `@mzts/controller-unified/replicas` for compute;
 * deliberately separate from storage's `storage-client/src/legacy/replica-task.ts` (style §15).
 *
 * PHASE(replicas): legacy — delete when cluster-unification-replicas is retired
 *
 * ## Flow
 * 1. Probe: open an HTTP/2 session to the replica's current location (`location()` is read at
 *    every attempt) and wait for the answer to one PING (`connectTimeoutMs`). A stopped process's
 *    kernel still accepts TCP connections, so only a PING ack proves the replica alive. A failed
 *    attempt is retried after `backoffDelayMs` (125 ms, doubling, capped at 1 s, ±20 % jitter); the first 5
 *    failures log at debug, later ones at info. Nothing is sent before the probe succeeds.
 * 2. Connected (`onConnected`, the connects metric): open the `Control` stream and write the
 *    replay — the reduced history as of this moment (`replay()`), its `hello` rewritten to a fresh
 *    `createHello(generation)` signed with the replica secret (`signHello`) — then every later
 *    `send`, the `send`s of one event-loop turn in one message at its end (`SendCoalescer`).
 * 3. Keepalive: the probe session PINGs every `pingIntervalMs`; a PING unanswered for
 *    `pingTimeoutMs` (or the session dying) aborts the stream. A stopped replica is therefore
 *    detected within `pingIntervalMs + pingTimeoutMs` (3 s by default).
 * 4. Responses are decoded and delivered tagged with the epoch. The stream is framed
 *    (`@mzts/protocol`'s `control-frames.ts`, issue 16; the same bytes on the wire): each
 *    command is encoded once for all replicas, and a peek answer the instance no longer waits
 *    for (`awaitsPeek`) is dropped before it is decoded — once checked to be well-framed.
 * 5. Once connected, **any** error — stream ended, transport error, keepalive timeout, malformed
 *    response — fails the incarnation: a warning `replica task failed: …`, `onFailed` once, and
 *    nothing more is delivered. The instance rehydrates with epoch + 1.
 */

import { connect as http2Connect } from "node:http2";
import { ConnectError } from "@connectrpc/connect";
import {
  backoffDelayMs,
  DEFAULT_BACKOFF,
  grpcBidi,
  type ReplicaConnectionOptions,
  type ReplicaConnectionState,
  type ReplicaConnectionTuning,
  RetryKick,
  SendCoalescer,
} from "@mzts/controller-unified/replicas";
import {
  CONTROLLER_CLIENT_TRANSPORT_OPTIONS,
  type ComputeCommand,
  type ComputeResponse,
  computeRequestFrames,
  computeResponsesFromFrames,
  createHello,
  type Hello,
  signHello,
} from "@mzts/protocol";
import { ComputeFramesService, type computeV1, LivenessProbe } from "@mzts/protocol/wire";
import type { ComputeReplicaConnection, ComputeReplicaConnector } from "../replicas.js";

/** The compute task's tuning defaults (storage's keepalive timeout differs: 5 s). */
const DEFAULTS: Required<ReplicaConnectionTuning> = {
  backoff: DEFAULT_BACKOFF,
  random: Math.random,
  pingIntervalMs: 1000,
  pingTimeoutMs: 2000,
  connectTimeoutMs: 5000,
};

type Options = ReplicaConnectionOptions<ComputeCommand, ComputeResponse>;

/** Starts a legacy compute replica task (the compute `ReplicaConnector` of the legacy path). */
export const connectLegacyComputeReplica: ComputeReplicaConnector = (options) =>
  new LegacyReplicaTask(options);

/** A single-consumer queue of request messages, iterated by the Connect client. */
class RequestQueue {
  /** Pending messages; consumed from `#head`. */
  #items: computeV1.ControlRequestFrames[] = [];
  #head = 0;
  #wake: (() => void) | undefined;
  #ended = false;

  push(msg: computeV1.ControlRequestFrames): void {
    this.#items.push(msg);
    this.#wake?.();
  }

  end(): void {
    this.#ended = true;
    this.#wake?.();
  }

  /** Must be an async generator: Connect calls `return()`/`throw()` on it. */
  async *iterate(): AsyncGenerator<computeV1.ControlRequestFrames> {
    for (;;) {
      while (this.#head < this.#items.length) {
        const item = this.#items[this.#head++] as computeV1.ControlRequestFrames;
        if (this.#head === this.#items.length) {
          this.#items = [];
          this.#head = 0;
        }
        yield item;
      }
      if (this.#ended) return;
      await new Promise<void>((resolve) => {
        this.#wake = resolve;
      });
      this.#wake = undefined;
    }
  }
}

class LegacyReplicaTask implements ComputeReplicaConnection {
  readonly epoch: number;
  /** connecting → connected → failed, or → closed from any state; never back. */
  #state: ReplicaConnectionState = "connecting";
  readonly #opts: Options;
  readonly #tuning: Required<ReplicaConnectionTuning>;
  /** The stream's request queue, while a stream is open. */
  #requests: RequestQueue | undefined;
  /** `send`s of one event-loop turn, written as one message at its end (issue 16). */
  readonly #outbox = new SendCoalescer<ComputeCommand>((commands) => this.#write(commands));
  /** The instance's `awaitsPeek`, if any (see `ReplicaConnectionOptions`). */
  readonly #awaitsPeek: ((uuid: string) => boolean) | undefined;
  /** Aborts the current attempt / stream and any sleep. */
  readonly #abort = new AbortController();
  /** Ends a backoff wait early (`retryNow`: the replica was seen starting). */
  readonly #kick = new RetryKick();
  /** Resolves when the run loop has exited. */
  readonly #done: Promise<void>;

  constructor(opts: Options) {
    this.#opts = opts;
    this.epoch = opts.epoch;
    this.#tuning = { ...DEFAULTS, ...opts.tuning };
    this.#awaitsPeek = opts.awaitsPeek?.bind(opts);
    this.#done = this.#run();
  }

  get state(): ReplicaConnectionState {
    return this.#state;
  }

  send(commands: readonly ComputeCommand[]): void {
    if (this.#state === "failed" || this.#state === "closed" || commands.length === 0) return;
    // Before the stream opens, `commands` are in the history that the replay will read.
    if (this.#requests !== undefined) this.#outbox.add(commands);
  }

  retryNow(): void {
    if (this.#state === "connecting") this.#kick.kick();
  }

  async close(): Promise<void> {
    if (this.#state !== "failed") this.#state = "closed";
    this.#abort.abort(new Error("replica task closed"));
    this.#requests?.end();
    await this.#done;
  }

  #write(commands: readonly ComputeCommand[]): void {
    const requests = this.#requests;
    // A stream message must carry at least one command (the replica refuses empty ones).
    if (requests === undefined || commands.length === 0) return;
    const out = commands.map((c) =>
      c.kind === "hello" ? { kind: "hello" as const, hello: this.#hello() } : c,
    );
    requests.push(computeRequestFrames(out));
    for (const c of out) this.#opts.onCommandSent?.(c);
  }

  /** A fresh hello, signed with the environment's replica secret when there is one. */
  #hello(): Hello {
    const hello = createHello(this.#opts.generation);
    const secret = this.#opts.replicaSecret;
    return secret === undefined ? hello : signHello(hello, secret, "compute");
  }

  get #stopped(): boolean {
    return this.#state === "closed" || this.#state === "failed";
  }

  async #run(): Promise<void> {
    const log = this.#opts.logger;
    let failures = 0;
    while (!this.#stopped) {
      const url = this.#opts.location();
      const attempt = new LivenessProbe(url, this.#tuning, this.#abort.signal);
      let error: unknown;
      let proven = false;
      try {
        await attempt.probe();
        proven = true;
        this.#state = "connected";
        this.#kick.connected();
        this.#opts.onConnected(this.epoch);
        await this.#stream(url, attempt);
      } catch (e) {
        error = e;
      } finally {
        attempt.close();
        this.#outbox.discard();
        this.#requests?.end();
        this.#requests = undefined;
      }
      if (this.#stopped) return;
      const err = toError(attempt.failure ?? error ?? new Error("the replica ended the stream"));
      if (proven) {
        this.#state = "failed";
        log.warn(
          { replica_id: this.#opts.replicaId, epoch: this.epoch, err: err.message },
          `replica task failed: ${err.message}`,
        );
        this.#opts.onFailed(this.epoch, err);
        return;
      }
      failures++;
      const delay = backoffDelayMs(failures, this.#tuning.backoff, this.#tuning.random);
      const fields = {
        replica_id: this.#opts.replicaId,
        epoch: this.epoch,
        attempt: failures,
        delay_ms: delay,
        err: err.message,
      };
      if (failures > 5) log.info(fields, "replica connect attempt failed, retrying");
      else log.debug(fields, "replica connect attempt failed, retrying");
      await this.#kick.wait(delay, this.#abort.signal);
    }
  }

  /**
   * Runs the stream until it ends or the attempt's keepalive kills it: a plain gRPC call
   * (`grpcBidi`, the same bytes as Connect's client) on an HTTP/2 session of its own, torn down
   * with the stream (apart from the probe's).
   */
  async #stream(url: string, attempt: LivenessProbe): Promise<void> {
    const session = http2Connect(url);
    // A transport error fails the call (its stream errors); nothing more to do here.
    session.on("error", () => {});
    const requests = new RequestQueue();
    this.#requests = requests;
    this.#write(this.#opts.replay());
    attempt.keepalive();
    try {
      const responses = grpcBidi(
        session,
        ComputeFramesService,
        requests.iterate(),
        attempt.signal,
        CONTROLLER_CLIENT_TRANSPORT_OPTIONS,
      );
      for await (const msg of responses) {
        if (this.#stopped) return;
        const arrivedAt = performance.now();
        const responses: ComputeResponse[] = computeResponsesFromFrames(msg, this.#awaitsPeek);
        this.#opts.onResponses(this.epoch, responses, arrivedAt);
      }
    } finally {
      session.destroy();
    }
  }
}

function toError(e: unknown): Error {
  if (e instanceof ConnectError) return e;
  return e instanceof Error ? e : new Error(String(e));
}
