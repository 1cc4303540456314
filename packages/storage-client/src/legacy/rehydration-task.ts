// PHASE(replicas): legacy — delete when cluster-unification-replicas is retired
/**
 * The legacy storage replica task: one connection of the storage controller to one replica's
 * storage port (materialize.md §4.3, `storage-controller` `instance.rs` replica task). It is
 * deliberately separate from compute's replica task (style §15): it talks straight to the
 * replica's `StorageService.Control` stream, tags responses with the replica id only (no epoch)
 * and does no sequential hydration.
 *
 * ## Flow
 * 1. Connect with retry: open an HTTP/2 session to the replica's current storage URL; on failure
 *    wait `backoffDelayMs(attempt)` (125 ms doubling, capped at 1 s, ±20 % jitter) and try again,
 *    forever, until connected or closed.
 * 2. Send a `hello` with a **fresh nonce** and the controller's generation (the history's own
 *    hello is a placeholder and is dropped), then the replay commands the task was created with
 *    (the reduced history filtered for this replica), then every live command queued since, in
 *    order.
 * 3. Stream: every response is handed to `onResponse`; live commands are sent as they come.
 * 4. Any error — the stream failing or ending, a response that does not decode — ends the task:
 *    `onFailed` is called once and the task sends nothing more. The controller replaces it with a
 *    new task (a rehydration) at its next maintenance; the replica's reconciliation then brings
 *    it to the controller's target state. `close()` ends the task without `onFailed`.
 *
 * ## Invariants
 * - Commands reach the replica in the order `send` was called, after the replay, after the hello.
 * - No callback fires after `close()` or after `onFailed`.
 * - `connected` is true only between a successful connection and the task's end.
 */
import { ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport, Http2SessionManager } from "@connectrpc/connect-node";
import {
  createHello,
  type StorageCommand,
  type StorageResponse,
  storageRequestToProto,
  storageResponsesFromProto,
} from "@mzts/protocol";
import { LivenessProbe, StorageService, type storageV1 } from "@mzts/protocol/wire";
import type { ReplicaId } from "@mzts/repr";
import type { Logger } from "pino";
import type { StorageControllerMetrics } from "../metrics.js";

/** Reconnect backoff: the first delay, its cap, and the jitter as a fraction of the delay. */
export interface ReconnectBackoff {
  readonly initialMs: number;
  readonly maxMs: number;
  readonly jitter: number;
}

/** Materialize's reconnect backoff: 125, 250, 500 ms, then 1 s flat, with ±20 % jitter. */
export const DEFAULT_RECONNECT_BACKOFF: ReconnectBackoff = {
  initialMs: 125,
  maxMs: 1000,
  jitter: 0.2,
};

/**
 * The delay before connection attempt `attempt + 1` (attempt counts from 1): the initial delay
 * doubled per failed attempt, capped, then scaled by a factor in `[1 - jitter, 1 + jitter)`.
 */
export function backoffDelayMs(
  attempt: number,
  backoff: ReconnectBackoff = DEFAULT_RECONNECT_BACKOFF,
  random: () => number = Math.random,
): number {
  const exponent = Math.min(Math.max(attempt - 1, 0), 30);
  const base = Math.min(backoff.maxMs, backoff.initialMs * 2 ** exponent);
  return Math.round(base * (1 - backoff.jitter + 2 * backoff.jitter * random()));
}

/** What a task needs. */
export interface RehydrationTaskOptions {
  readonly replicaId: ReplicaId;
  /** The replica's storage URL; read at every connection attempt (locations may move). */
  readonly url: () => string;
  /** The controller's generation, sent in every hello. */
  readonly generation: bigint;
  /** The commands to replay after the hello (reduced history filtered for this replica). */
  readonly replay: readonly StorageCommand[];
  readonly onResponse: (replicaId: ReplicaId, response: StorageResponse) => void;
  readonly onConnected: (replicaId: ReplicaId) => void;
  readonly onFailed: (replicaId: ReplicaId, error: Error) => void;
  readonly metrics: StorageControllerMetrics;
  readonly logger: Logger;
  readonly backoff?: ReconnectBackoff;
  readonly random?: () => number;
  /** HTTP/2 keepalive: PING interval and timeout (default 1 s / 5 s) to detect a dead replica. */
  readonly pingIntervalMs?: number;
  readonly pingTimeoutMs?: number;
}

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

/** The state of a task. */
export type RehydrationTaskState = "connecting" | "connected" | "failed" | "closed";

/** One connection of the storage controller to one replica. Starts connecting at construction. */
export class RehydrationTask {
  readonly replicaId: ReplicaId;
  readonly #opts: RehydrationTaskOptions;
  /** Live commands sent before the connection was up; flushed after the replay, then unused. */
  #pending: StorageCommand[] = [];
  /** The open request stream while connected; undefined before and after. */
  #requests: RequestQueue | undefined;
  /** Lifecycle: connecting → connected → failed | closed (closed from any state). */
  #state: RehydrationTaskState = "connecting";
  /** Aborts the connect wait, the stream and the session on `close()`. */
  readonly #abort = new AbortController();
  /** The HTTP/2 session of the current attempt or connection. */
  #session: Http2SessionManager | undefined;
  /** Resolves when the task's loop has returned. */
  readonly done: Promise<void>;

  constructor(opts: RehydrationTaskOptions) {
    this.replicaId = opts.replicaId;
    this.#opts = opts;
    this.done = this.#run();
  }

  get state(): RehydrationTaskState {
    return this.#state;
  }

  /** Sends live commands (queued until connected; dropped once the task has ended). */
  send(commands: readonly StorageCommand[]): void {
    if (commands.length === 0) return;
    if (this.#state === "connecting") {
      this.#pending.push(...commands);
    } else if (this.#state === "connected" && this.#requests !== undefined) {
      this.#write(this.#requests, commands);
    }
  }

  /** Ends the task without reporting a failure; resolves when its loop has returned. */
  async close(): Promise<void> {
    if (this.#state === "closed" || this.#state === "failed") return this.done;
    this.#leave("closed");
    this.#requests?.end();
    this.#abort.abort();
    this.#session?.abort();
    return this.done;
  }

  #leave(state: "closed" | "failed"): void {
    if (this.#state === "connected") this.#opts.metrics.connectedReplicaCount.dec();
    this.#state = state;
  }

  #write(requests: RequestQueue, commands: readonly StorageCommand[]): void {
    for (const c of commands) this.#opts.metrics.commandsTotal.inc({ command_type: c.kind });
    requests.push(storageRequestToProto(commands));
  }

  async #run(): Promise<void> {
    const { logger, replicaId } = this.#opts;
    const connected = await this.#connect();
    if (connected === undefined) return; // closed while connecting
    const { session, probe } = connected;
    const requests = new RequestQueue();
    this.#requests = requests;
    this.#state = "connected";
    this.#opts.metrics.connectedReplicaCount.inc();
    this.#opts.metrics.replicaConnectsTotal.inc();
    const hello = createHello(this.#opts.generation);
    logger.info({ replica_id: replicaId, nonce: hello.nonce }, "storage replica connected");
    this.#opts.onConnected(replicaId);
    const first: StorageCommand[] = [{ kind: "hello", hello }];
    for (const c of this.#opts.replay) if (c.kind !== "hello") first.push(c);
    first.push(...this.#pending);
    this.#pending = [];
    this.#write(requests, first);

    let error: Error;
    try {
      const client = createClient(
        StorageService,
        createGrpcTransport({ baseUrl: this.#opts.url(), sessionManager: session }),
      );
      probe.keepalive();
      for await (const message of client.control(requests, { signal: probe.signal })) {
        if (this.#state !== "connected") break;
        for (const response of storageResponsesFromProto(message)) {
          if (this.#state !== "connected") break;
          this.#opts.metrics.responsesTotal.inc({ response_type: response.kind });
          this.#opts.onResponse(replicaId, response);
        }
      }
      error = new Error("the replica ended the storage stream");
    } catch (e) {
      error = probe.failure ?? (e instanceof Error ? e : ConnectError.from(e));
    } finally {
      requests.end();
      probe.close();
      session.abort();
    }
    if (this.#state !== "connected") return; // closed
    this.#leave("failed");
    logger.warn({ replica_id: replicaId, err: error.message }, "storage replica failed");
    this.#opts.onFailed(replicaId, error);
  }

  /**
   * Opens an HTTP/2 session and proves the replica alive with a PING probe (a stopped process's
   * kernel still accepts connections), with retry; undefined when closed first.
   */
  async #connect(): Promise<{ session: Http2SessionManager; probe: LivenessProbe } | undefined> {
    const { logger, replicaId, metrics } = this.#opts;
    const started = performance.now();
    try {
      for (let attempt = 1; ; attempt++) {
        if (this.#state !== "connecting") return undefined;
        const url = this.#opts.url();
        // No connect-node PINGs: they raised uncaught errors from torn-down sessions. The probe
        // (its own session) PINGs instead and aborts the stream through its signal.
        const session = new Http2SessionManager(url);
        this.#session = session;
        const probe = new LivenessProbe(
          url,
          {
            connectTimeoutMs: 5000,
            pingIntervalMs: this.#opts.pingIntervalMs ?? 1000,
            pingTimeoutMs: this.#opts.pingTimeoutMs ?? 5000,
          },
          this.#abort.signal,
        );
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
        const delay = backoffDelayMs(attempt, this.#opts.backoff, this.#opts.random);
        // Materialize logs the first retries quietly and then loudly (INFO_MIN_RETRIES).
        logger[attempt >= 5 && attempt % 5 === 0 ? "warn" : "debug"](
          { replica_id: replicaId, url, attempt, delay_ms: delay, err: reason },
          "storage replica connect failed; retrying",
        );
        await sleep(delay, this.#abort.signal);
      }
    } finally {
      metrics.replicaConnectWaitSeconds.inc((performance.now() - started) / 1000);
    }
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    }
    signal.addEventListener("abort", done, { once: true });
  });
}
