/**
 * `ResponseBatcher`: a worker's responses leave for the main thread in one message per step round
 * or event-loop turn, per connection nonce, so a burst of peek answers crosses the thread boundary
 * once. Used by the unified runtime's worker and by the legacy runtimes' workers alike.
 *
 * - `push(nonce, r)`: queues `r`; a response of another nonce first sends what is queued (a
 *   message never mixes connections); the queue is sent at the latest in a microtask.
 * - `flush()`: sends what is queued now. Callers flush after every `step()` and before any other
 *   message to the main thread, so the main thread sees everything in the order it was produced.
 * - `send` must not push (the runtimes' send is a `postMessage`): a push from inside the send a
 *   nonce switch made would leave under the next nonce.
 */
export class ResponseBatcher<R> {
  readonly #send: (nonce: string | null, responses: R[]) => void;
  #pending: R[] = [];
  #nonce: string | null = null;
  #scheduled = false;

  constructor(send: (nonce: string | null, responses: R[]) => void) {
    this.#send = send;
  }

  push(nonce: string | null, response: R): void {
    if (this.#pending.length > 0 && this.#nonce !== nonce) this.flush();
    this.#nonce = nonce;
    this.#pending.push(response);
    if (!this.#scheduled) {
      this.#scheduled = true;
      queueMicrotask(() => this.flush());
    }
  }

  flush(): void {
    this.#scheduled = false;
    if (this.#pending.length === 0) return;
    const responses = this.#pending;
    this.#pending = [];
    this.#send(this.#nonce, responses);
  }
}
