/**
 * Replica liveness over HTTP/2 PINGs, shared by the compute and storage controllers' replica
 * tasks (controller side; Node only). connect-node's own `pingIntervalMs`/`pingTimeoutMs` raised
 * uncaught errors from torn-down sessions (a stopped replica crashed environmentd), so the tasks
 * probe on a session of their own and turn every outcome into an abort of `signal`.
 */
import * as http2 from "node:http2";

/** PING timings of a probe (ms). */
export interface LivenessTuning {
  /** The first PING's deadline: how long a connection attempt may take. */
  readonly connectTimeoutMs: number;
  /** Pause between keepalive PINGs. */
  readonly pingIntervalMs: number;
  /** A keepalive PING unanswered for this long fails the probe. */
  readonly pingTimeoutMs: number;
}

/**
 * One connection attempt's liveness probe: a separate HTTP/2 session to the replica whose PINGs
 * the replica's process must answer. `probe()` resolves after the first PING ack (the process is
 * alive and speaks HTTP/2 — a stopped process's kernel still accepts TCP connections, so a TCP
 * connect proves nothing); `keepalive()` then PINGs every `pingIntervalMs` and aborts `signal`
 * (with `failure` set) when a PING stays unanswered for `pingTimeoutMs` or the session dies.
 */
export class LivenessProbe {
  readonly #session: http2.ClientHttp2Session;
  readonly #tuning: LivenessTuning;
  readonly #abort = new AbortController();
  /** The attempt's outer signal and our listener on it, removed by `close()`. */
  readonly #outer: AbortSignal;
  readonly #onOuterAbort = () => this.#abort.abort();
  #timer: NodeJS.Timeout | undefined;
  /** Why the attempt was aborted by the probe (undefined = not by the probe). */
  failure: Error | undefined;

  constructor(url: string, tuning: LivenessTuning, outer: AbortSignal) {
    this.#tuning = tuning;
    this.#session = http2.connect(url);
    this.#session.on("error", (e) =>
      this.#fail(new Error(`replica connection error: ${e.message}`)),
    );
    this.#session.on("close", () => this.#fail(new Error("replica connection closed")));
    this.#outer = outer;
    if (outer.aborted) this.#abort.abort();
    else outer.addEventListener("abort", this.#onOuterAbort, { once: true });
  }

  get signal(): AbortSignal {
    return this.#abort.signal;
  }

  /**
   * The probe's HTTP/2 session: a stream opened on it (the unified replica tasks' `Control`
   * stream) shares the probe's one TCP connection and dies with it.
   */
  get session(): http2.ClientHttp2Session {
    return this.#session;
  }

  #fail(e: Error): void {
    if (this.#abort.signal.aborted) return;
    this.failure = e;
    this.#abort.abort(e);
  }

  /** One PING; rejects when unanswered within `ms`, the session fails, or the attempt ends. */
  #ping(ms: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const signal = this.#abort.signal;
      if (signal.aborted) return reject(this.failure ?? new Error("replica task closed"));
      const onAbort = () => {
        clearTimeout(timer);
        reject(this.failure ?? new Error("replica task closed"));
      };
      const timer = setTimeout(() => {
        signal.removeEventListener("abort", onAbort);
        const e = new Error(`replica did not answer an HTTP/2 PING within ${ms} ms`);
        this.#fail(e);
        reject(e);
      }, ms);
      signal.addEventListener("abort", onAbort, { once: true });
      const send = () => {
        if (this.#session.destroyed) return;
        try {
          this.#session.ping((err) => {
            if (err !== null) return; // cancelled with the session; the abort path rejects
            clearTimeout(timer);
            signal.removeEventListener("abort", onAbort);
            resolve();
          });
        } catch (e) {
          this.#fail(e instanceof Error ? e : new Error(String(e)));
        }
      };
      // A PING can only be sent once the session is connected.
      if (this.#session.connecting) this.#session.once("connect", send);
      else send();
    });
  }

  /** Resolves once the replica answered a PING (within the connect timeout). */
  probe(): Promise<void> {
    return this.#ping(this.#tuning.connectTimeoutMs);
  }

  /** Starts the periodic PINGs. */
  keepalive(): void {
    const loop = () => {
      this.#timer = setTimeout(() => {
        this.#ping(this.#tuning.pingTimeoutMs).then(loop, () => {});
      }, this.#tuning.pingIntervalMs);
    };
    loop();
  }

  /**
   * Ends the probe: stops the PINGs, aborts `signal`, destroys the session and removes the
   * listener on the outer signal (which outlives the attempt: one listener per reconnect would
   * pile up, issue 10).
   */
  close(): void {
    clearTimeout(this.#timer);
    this.#outer.removeEventListener("abort", this.#onOuterAbort);
    this.#abort.abort();
    if (!this.#session.destroyed) this.#session.destroy();
  }
}
