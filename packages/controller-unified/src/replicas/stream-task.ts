/**
 * `StreamTask`: the connection machinery of the unified path, shared by the phase 3 replica task
 * (`replica-task.ts`, one stream per workload) and the phase 4 cluster stream
 * (`../client/replica-stream.ts`, one stream for both): connect with a liveness probe and
 * backoff, open one bidi `Control` stream, keep it alive, report its end exactly once. What goes
 * on the stream (hellos, replays, codecs, demultiplexing) is the owner's, through the hooks.
 *
 * ## Flow
 * 1. Connect: a `LivenessProbe` (`@mzts/protocol/wire`) opens an HTTP/2 session to `location()`
 *    (read at every attempt) and waits for one PING ack (`connectTimeoutMs`): a stopped process's
 *    kernel still accepts TCP, only an ack proves the replica alive. A failed attempt is retried
 *    after `backoffDelayMs(n)` (125 ms doubling to 1 s, ±20 % jitter) — the first 5 at debug,
 *    later ones at info — until connected or closed; a pause ends early at `retryNow()` (the
 *    replica was seen starting) or when `location()`
 *    changes (a restarted replica's new address is tried within 50 ms).
 * 2. Connected: `hooks.connected()`; then the stream opens on the probe's HTTP/2 session (one TCP
 *    connection per task, probe and stream together) and, in the same turn, `hooks.opened()`
 *    writes its first messages (`push`).
 * 3. Liveness: the probe PINGs every `pingIntervalMs`; one unanswered for `pingTimeoutMs`, or its
 *    session dying, aborts the stream.
 * 4. Each response message goes to `hooks.message` in arrival order while connected; a throw
 *    there (a malformed message, a callback's bug) fails the stream.
 * 5. Fail-once: once connected, any end — the stream ending or failing, the keepalive, `fail(e)`,
 *    a hook throwing — is reported by one warning `replica task failed: …` and one
 *    `hooks.failed(cause)`; nothing is delivered afterwards. `Unimplemented` from the replica
 *    (it does not serve this service: the other layout) becomes `ReplicaLayoutMismatch`.
 *    `close()` ends it from any state without `failed`.
 *
 * ## Invariants
 * - `connecting → connected → failed`, or `→ closed` from `connecting`/`connected`; never back.
 * - No listener is left on the task's abort signal per attempt (`sleep`, `LivenessProbe.close`).
 */
import type { Message } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { CONTROLLER_CLIENT_TRANSPORT_OPTIONS } from "@mzts/protocol";
import { LivenessProbe } from "@mzts/protocol/wire";
import type { Logger } from "pino";
import { type ReplicaLayout, ReplicaLayoutMismatch, ReplicaStreamEnded } from "../errors.js";
import { backoffDelayMs, DEFAULT_BACKOFF } from "./backoff.js";
import { grpcBidi } from "./grpc-bidi.js";
import type { ReplicaConnectionState, ReplicaConnectionTuning } from "./replica-connection.js";
import type { ControlService } from "./replica-protocol.js";
import { RequestQueue } from "./request-queue.js";
import { RetryKick } from "./retry-kick.js";

/**
 * The unified path's defaults, the same for every workload: Materialize's reconnect backoff, and
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

/** What a `StreamTask` is and what it tells its owner (see the file comment). */
export interface StreamTaskOptions<Req extends Message, Res extends Message> {
  /** The service whose bidi `control` method the stream calls. */
  readonly service: ControlService<Req, Res>;
  /** The stream's name in logs and errors ("compute", "storage", "cluster"). */
  readonly stream: string;
  /** The layout this service belongs to (named by `ReplicaLayoutMismatch`). */
  readonly layout: ReplicaLayout;
  readonly replicaId: string;
  /** Log fields of every line (epoch, …). */
  readonly logFields: Readonly<Record<string, unknown>>;
  readonly location: () => string;
  readonly logger: Logger;
  readonly tuning?: ReplicaConnectionTuning | undefined;
  /** The probe answered: the task is connected; the stream opens right after, in this turn. */
  connected(): void;
  /** The stream is open: write the first messages (`push`) now. */
  opened(): void;
  /** One response message, in arrival order. @throws to fail the stream */
  message(message: Res): void;
  /** Once, when a connected stream ended for any reason other than `close()`. */
  failed(cause: Error): void;
}

/** One connection with one `Control` stream (see the file comment). */
export class StreamTask<Req extends Message, Res extends Message> {
  readonly #o: StreamTaskOptions<Req, Res>;
  readonly #tuning: Required<ReplicaConnectionTuning>;
  /** See the state machine in the file comment. */
  #state: ReplicaConnectionState = "connecting";
  /** The open stream's request queue; set in the turn the stream opens, cleared when it ends. */
  #requests: RequestQueue<Req> | undefined;
  /** The first local error of the open stream (`fail`, a hook), preferred over the transport's. */
  #localError: Error | undefined;
  /** Aborts the current attempt, the stream and any pause, on `close()`. */
  readonly #abort = new AbortController();
  /** Resolves when the run loop has returned. */
  readonly #done: Promise<void>;
  /** Ends a backoff pause early (`retryNow`). */
  readonly #kick = new RetryKick();

  constructor(options: StreamTaskOptions<Req, Res>) {
    this.#o = options;
    this.#tuning = { ...UNIFIED_TUNING, ...options.tuning };
    this.#done = this.#run();
  }

  get state(): ReplicaConnectionState {
    return this.#state;
  }

  /** Whether the stream is open for writing (connected and not yet ended). */
  get writable(): boolean {
    return this.#state === "connected" && this.#requests !== undefined;
  }

  /** Writes one request message; ignored unless `writable`. */
  push(message: Req): void {
    if (this.#state === "connected") this.#requests?.push(message);
  }

  /** Fails the open stream with `error` (a local error: it is the cause reported). */
  fail(error: Error): void {
    this.#localError ??= error;
    this.#requests?.fail(error);
  }

  /** Ends the task from any state without `failed`; resolves when its loop has exited. */
  async close(): Promise<void> {
    if (this.#live) this.#state = "closed";
    this.#requests?.end();
    this.#abort.abort();
    await this.#done;
  }

  get #live(): boolean {
    return this.#state === "connecting" || this.#state === "connected";
  }

  #fields(extra: Record<string, unknown>): Record<string, unknown> {
    return {
      replica_id: this.#o.replicaId,
      ...this.#o.logFields,
      stream: this.#o.stream,
      ...extra,
    };
  }

  async #run(): Promise<void> {
    const o = this.#o;
    for (let failures = 0; this.#live; ) {
      const url = o.location();
      const probe = new LivenessProbe(url, this.#tuning, this.#abort.signal);
      let connected = false;
      let error: Error | undefined;
      try {
        await probe.probe();
        if (!this.#live) return;
        connected = true;
        this.#state = "connected";
        this.#kick.connected();
        o.connected();
        if (this.#state === "connected") await this.#stream(probe);
      } catch (e) {
        error = toError(e);
      } finally {
        this.#requests?.end();
        this.#requests = undefined;
        probe.close();
      }
      if (!this.#live) return; // closed
      if (connected) {
        this.#state = "failed";
        const cause = this.#cause(this.#localError ?? probe.failure ?? error);
        o.logger.warn(
          this.#fields({ err: cause.message }),
          `replica task failed: ${cause.message}`,
        );
        try {
          o.failed(cause);
        } catch (e) {
          // The owner's bug; the task has ended either way (close() must still resolve).
          o.logger.error(this.#fields({ err: toError(e).message }), "failed hook threw");
        }
        return;
      }
      failures++;
      const delay = backoffDelayMs(failures, this.#tuning.backoff, this.#tuning.random);
      const reason = probe.failure ?? error;
      o.logger[failures > QUIET_RETRIES ? "info" : "debug"](
        this.#fields({ url, attempt: failures, delay_ms: delay, err: reason?.message }),
        "replica connect attempt failed, retrying",
      );
      await this.#pause(delay, url);
    }
  }

  /** The reported cause: `Unimplemented` is the other layout; no error at all, an ended stream. */
  #cause(error: Error | undefined): Error {
    if (error === undefined) return new ReplicaStreamEnded(this.#o.stream);
    if (error instanceof ConnectError && error.code === Code.Unimplemented) {
      return new ReplicaLayoutMismatch(
        this.#o.replicaId,
        this.#o.layout,
        this.#o.service.typeName,
        error.rawMessage,
      );
    }
    return error;
  }

  /**
   * The backoff pause before the next attempt, cut short when the replica's location changes (a
   * restarted replica listens elsewhere: the orchestrator's new address is tried within
   * `LOCATION_POLL_MS` instead of after up to a full backoff step).
   */
  async #pause(delayMs: number, url: string): Promise<void> {
    const until = performance.now() + delayMs;
    for (let left = delayMs; left > 0 && this.#live; left = until - performance.now()) {
      if (await this.#kick.wait(Math.min(left, LOCATION_POLL_MS), this.#abort.signal)) return;
      if (this.#o.location() !== url) return;
    }
  }

  /** The replica was seen (re)starting: the pause before the next attempt ends now. */
  retryNow(): void {
    if (this.#state === "connecting") this.#kick.kick();
  }

  /**
   * Runs the stream until it ends, fails, or the probe aborts it. The stream is a plain gRPC call
   * on the probe's own HTTP/2 session (`grpc-bidi.ts`): the probe and the stream share ONE TCP
   * connection per replica and die together (`probe.close()` destroys the session).
   */
  async #stream(probe: LivenessProbe): Promise<void> {
    const requests = new RequestQueue<Req>();
    this.#requests = requests;
    try {
      this.#o.opened();
    } catch (e) {
      this.fail(toError(e));
    }
    probe.keepalive();
    const responses = grpcBidi(
      probe.session,
      this.#o.service,
      requests,
      probe.signal,
      CONTROLLER_CLIENT_TRANSPORT_OPTIONS,
    );
    for await (const message of responses) {
      if (this.#state !== "connected") return;
      try {
        this.#o.message(message);
      } catch (e) {
        this.fail(toError(e));
        return;
      }
    }
  }
}

/** `e` as an Error. */
export function toError(e: unknown): Error {
  return e instanceof Error ? e : new Error(String(e));
}
