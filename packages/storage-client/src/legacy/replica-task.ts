/**
 * The legacy storage replica task: one incarnation of the storage controller's connection to one
 * replica's storage port (materialize.md §4.3, `storage-controller` `instance.rs` replica task).
 * Implements the `ReplicaConnection` seam of `@mzts/controller-unified/replicas` for storage; it
 * is deliberately separate from compute's `compute-client/src/legacy/replica-task.ts` (style §15):
 * it talks straight to the replica's `StorageService.Control` stream and does no sequential
 * hydration.
 *
 * PHASE(replicas): legacy — delete when cluster-unification-replicas is retired
 *
 * ## Flow
 * 1. Connect with retry: open an HTTP/2 session to the replica's current storage URL
 *    (`location()`, read at every attempt) and prove it alive with a PING (`LivenessProbe`); on
 *    failure wait `backoffDelayMs(attempt)` (125 ms doubling, capped at 1 s, ±20 % jitter) and
 *    try again, forever, until connected or closed.
 * 2. Connected (`onConnected(epoch)`): send a `hello` with a **fresh nonce** and the controller's
 *    generation (the history's own hello is a placeholder and is dropped), then the replay read at
 *    this moment (`replay()`: the reduced history filtered for this replica, so it holds every
 *    command sent before), then every later `send`, in order.
 * 3. Stream: responses are delivered as they arrive, tagged with the epoch (`onResponses`).
 * 4. Any error — the stream failing or ending, a response that does not decode — ends the
 *    incarnation (a stream the replica refused unprocessed, racing its GOAWAY, is Unavailable:
 *    `refusedStreamIsUnavailable`): `onFailed(epoch, error)` is called once and it sends nothing
 *    more. The controller replaces it with a new incarnation (a rehydration) at its next
 *    maintenance; the replica's reconciliation then brings it to the controller's target state.
 *    `close()` ends it without `onFailed`.
 *
 * ## Invariants
 * - Commands reach the replica in the order `send` was called, after the replay, after the hello.
 * - No callback fires after `close()` or after `onFailed`.
 * - `state` is `connected` only between a successful connection and the incarnation's end.
 * - The pauses between attempts and the probes leave no listener on the task's abort signal
 *   (issue 10: one per reconnect piled up to `MaxListenersExceededWarning`).
 */
import { ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport, Http2SessionManager } from "@connectrpc/connect-node";
import {
  backoffDelayMs,
  DEFAULT_BACKOFF,
  type ReplicaConnectionOptions,
  type ReplicaConnectionState,
  type ReplicaConnectionTuning,
  RetryKick,
  refusedStreamIsUnavailable,
} from "@mzts/controller-unified/replicas";
import {
  CONTROLLER_CLIENT_TRANSPORT_OPTIONS,
  createHello,
  type StorageCommand,
  type StorageResponse,
  signHello,
  storageRequestToProto,
  storageResponsesFromProto,
} from "@mzts/protocol";
import { LivenessProbe, StorageService, type storageV1 } from "@mzts/protocol/wire";
import type { StorageReplicaConnection, StorageReplicaConnector } from "../controller.js";

type Options = ReplicaConnectionOptions<StorageCommand, StorageResponse>;

/** The storage task's tuning defaults (compute's keepalive timeout differs: 2 s). */
const DEFAULTS: Required<ReplicaConnectionTuning> = {
  backoff: DEFAULT_BACKOFF,
  random: Math.random,
  pingIntervalMs: 1000,
  pingTimeoutMs: 5000,
  connectTimeoutMs: 5000,
};

/** Starts a legacy storage replica task (the storage `ReplicaConnector` of the legacy path). */
export const connectLegacyStorageReplica: StorageReplicaConnector = (options) =>
  new LegacyStorageReplicaTask(options);

/** The request stream of one connection: a push queue consumed once as an async iterable. */
class RequestQueue implements AsyncIterable<storageV1.ControlRequest> {
  /** Requests not yet taken by the transport. */
  readonly #items: storageV1.ControlRequest[] = [];
  /** The transport's pending `next()`, if it is waiting. */
  #waiter: ((r: IteratorResult<storageV1.ControlRequest>) => void) | undefined;
  /** Set by `end()`; the iterator finishes once the items are drained. */
  #ended = false;

  push(item: storageV1.ControlRequest): void {
    if (this.#ended) return;
    const waiter = this.#waiter;
    if (waiter !== undefined) {
      this.#waiter = undefined;
      waiter({ value: item, done: false });
    } else {
      this.#items.push(item);
    }
  }

  end(): void {
    this.#ended = true;
    const waiter = this.#waiter;
    this.#waiter = undefined;
    waiter?.({ value: undefined, done: true });
  }

  /** An async generator, so the transport's `return`/`throw` end it like `end()` does. */
  async *[Symbol.asyncIterator](): AsyncGenerator<storageV1.ControlRequest> {
    try {
      for (;;) {
        const item = this.#items.shift();
        if (item !== undefined) {
          yield item;
          continue;
        }
        if (this.#ended) return;
        const next = await new Promise<IteratorResult<storageV1.ControlRequest>>((resolve) => {
          this.#waiter = resolve;
        });
        if (next.done === true) return;
        yield next.value;
      }
    } finally {
      this.end();
    }
  }
}

/** One incarnation of one storage replica connection. Starts connecting at construction. */
class LegacyStorageReplicaTask implements StorageReplicaConnection {
  readonly epoch: number;
  readonly #opts: Options;
  readonly #tuning: Required<ReplicaConnectionTuning>;
  /** The open request stream while connected; undefined before and after. */
  #requests: RequestQueue | undefined;
  /** Lifecycle: connecting → connected → failed | closed (closed from any state). */
  #state: ReplicaConnectionState = "connecting";
  /** Aborts the connect wait, the stream and the session on `close()`. */
  readonly #abort = new AbortController();
  /** Ends a backoff wait early (`retryNow`: the replica was seen starting). */
  readonly #kick = new RetryKick();
  /** The HTTP/2 session of the current attempt or connection. */
  #session: Http2SessionManager | undefined;
  /** Resolves when the task's loop has returned. */
  readonly #done: Promise<void>;

  constructor(opts: Options) {
    this.epoch = opts.epoch;
    this.#opts = opts;
    this.#tuning = { ...DEFAULTS, ...opts.tuning };
    this.#done = this.#run();
  }

  get state(): ReplicaConnectionState {
    return this.#state;
  }

  /** Sends live commands; before the stream opens they are in the replay, after its end dropped. */
  send(commands: readonly StorageCommand[]): void {
    if (commands.length === 0) return;
    if (this.#state === "connected" && this.#requests !== undefined) {
      this.#write(this.#requests, commands);
    }
  }

  retryNow(): void {
    if (this.#state === "connecting") this.#kick.kick();
  }

  /** Ends the task without reporting a failure; resolves when its loop has returned. */
  async close(): Promise<void> {
    if (this.#state === "closed" || this.#state === "failed") return this.#done;
    this.#state = "closed";
    this.#requests?.end();
    this.#abort.abort();
    this.#session?.abort();
    return this.#done;
  }

  #write(requests: RequestQueue, commands: readonly StorageCommand[]): void {
    requests.push(storageRequestToProto(commands));
    for (const c of commands) this.#opts.onCommandSent?.(c);
  }

  async #run(): Promise<void> {
    const { logger, replicaId } = this.#opts;
    const connected = await this.#connect();
    if (connected === undefined) return; // closed while connecting
    const { session, probe } = connected;
    const requests = new RequestQueue();
    this.#state = "connected";
    this.#kick.connected();
    const secret = this.#opts.replicaSecret;
    const unsigned = createHello(this.#opts.generation);
    const hello = secret === undefined ? unsigned : signHello(unsigned, secret, "storage");
    logger.info({ replica_id: replicaId, nonce: hello.nonce }, "storage replica connected");
    this.#opts.onConnected(this.epoch);
    // The replay is read now, in the same turn as the stream becomes writable: every command
    // sent before is in it, every command sent after goes through `send`.
    const first: StorageCommand[] = [{ kind: "hello", hello }];
    if (this.#state === "connected") {
      for (const c of this.#opts.replay()) if (c.kind !== "hello") first.push(c);
      this.#requests = requests;
      this.#write(requests, first);
    }

    let error: Error;
    try {
      const client = createClient(
        StorageService,
        createGrpcTransport({
          baseUrl: this.#opts.location(),
          sessionManager: session,
          ...CONTROLLER_CLIENT_TRANSPORT_OPTIONS,
          // A stream opened while the replica's GOAWAY was on its way is Unavailable (it was
          // not processed), not connect-node's Internal; the task fails and reconnects either way.
          interceptors: [refusedStreamIsUnavailable],
        }),
      );
      probe.keepalive();
      for await (const message of client.control(requests, { signal: probe.signal })) {
        if (this.#state !== "connected") break;
        const responses = storageResponsesFromProto(message);
        if (this.#state !== "connected") break;
        this.#opts.onResponses(this.epoch, responses);
      }
      error = new Error("the replica ended the storage stream");
    } catch (e) {
      error = probe.failure ?? (e instanceof Error ? e : ConnectError.from(e));
    } finally {
      requests.end();
      this.#requests = undefined;
      probe.close();
      session.abort();
    }
    if (this.#state !== "connected") return; // closed
    this.#state = "failed";
    logger.warn({ replica_id: replicaId, err: error.message }, "storage replica failed");
    this.#opts.onFailed(this.epoch, error);
  }

  /**
   * Opens an HTTP/2 session and proves the replica alive with a PING probe (a stopped process's
   * kernel still accepts connections), with retry; undefined when closed first.
   */
  async #connect(): Promise<{ session: Http2SessionManager; probe: LivenessProbe } | undefined> {
    const { logger, replicaId } = this.#opts;
    for (let attempt = 1; ; attempt++) {
      if (this.#state !== "connecting") return undefined;
      const url = this.#opts.location();
      // No connect-node PINGs: they raised uncaught errors from torn-down sessions. The probe
      // (its own session) PINGs instead and aborts the stream through its signal.
      const session = new Http2SessionManager(url);
      this.#session = session;
      const probe = new LivenessProbe(url, this.#tuning, this.#abort.signal);
      let outcome: string;
      try {
        outcome = await session.connect();
        if (outcome === "open" || outcome === "idle") await probe.probe();
      } catch (e) {
        outcome = e instanceof Error ? e.message : "error";
      }
      if (this.#state !== "connecting") {
        probe.close();
        session.abort();
        return undefined;
      }
      if (outcome === "open" || outcome === "idle") return { session, probe };
      probe.close();
      const reason = String((session.error() as Error | undefined)?.message ?? outcome);
      session.abort();
      const delay = backoffDelayMs(attempt, this.#tuning.backoff, this.#tuning.random);
      // Materialize logs the first retries quietly and then loudly (INFO_MIN_RETRIES).
      logger[attempt >= 5 && attempt % 5 === 0 ? "warn" : "debug"](
        { replica_id: replicaId, url, attempt, delay_ms: delay, err: reason },
        "storage replica connect failed; retrying",
      );
      await this.#kick.wait(delay, this.#abort.signal);
    }
  }
}
