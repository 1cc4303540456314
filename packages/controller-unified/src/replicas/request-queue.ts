/**
 * `RequestQueue<T>`: the request side of one replica stream — messages pushed by the task,
 * consumed once by the Connect client as an async iterable.
 *
 * ## Invariants
 * - Messages come out in push order; nothing is lost between a push and the consumer's `next()`.
 * - `end()` finishes the iteration once the pushed messages are drained; `fail(e)` makes the
 *   consumer's next read throw `e` (the transport then fails the call) and drops what is pending.
 * - After `end()`/`fail()`, pushes are ignored. The consumer's `return()` (the transport gave up)
 *   ends it too.
 */

/** A single-consumer push queue (see the file comment). */
export class RequestQueue<T> implements AsyncIterable<T> {
  /** Pushed, not yet consumed; read from `#head` (no `shift()` per message). */
  #items: T[] = [];
  #head = 0;
  /** Wakes the consumer waiting for a push, an end or a failure. */
  #wake: (() => void) | undefined;
  /** Set once by `end()` or `fail()`. */
  #ended = false;
  /** Set by `fail()`: what the consumer's next read throws. */
  #error: Error | undefined;

  push(item: T): void {
    if (this.#ended) return;
    this.#items.push(item);
    this.#wakeUp();
  }

  end(): void {
    this.#ended = true;
    this.#wakeUp();
  }

  fail(error: Error): void {
    if (this.#ended) return;
    this.#error = error;
    this.#items = [];
    this.#head = 0;
    this.end();
  }

  #wakeUp(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<T> {
    try {
      for (;;) {
        if (this.#error !== undefined) throw this.#error;
        if (this.#head < this.#items.length) {
          const item = this.#items[this.#head++] as T;
          if (this.#head === this.#items.length) {
            this.#items = [];
            this.#head = 0;
          }
          yield item;
          continue;
        }
        if (this.#ended) return;
        await new Promise<void>((resolve) => {
          this.#wake = resolve;
        });
      }
    } finally {
      this.#ended = true;
    }
  }
}
