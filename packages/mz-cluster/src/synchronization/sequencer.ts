/**
 * `Sequencer<T>`: one total order of items, delivered identically to every worker.
 *
 * Any worker may `push()` an item. Worker 0 decides the order; every worker (worker 0 included)
 * then yields the items in that order, each with its global sequence number. This is how the
 * unified runtime gives every worker the same commands in the same order (timely requires all
 * workers to build the same dataflows in the same order), and how storage's internal commands
 * (started by any worker) are ordered.
 *
 * ## Algorithm (Materialize's worker-0 index scheme, `internal_control.rs`)
 * 1. A pushing worker tags its items with its own running index (0, 1, 2, … per worker) and sends
 *    `submit {from, index, items}` to worker 0 (`items[i]` has index `index + i`; `pushAll` sends
 *    a whole batch as one message).
 * 2. Worker 0 keeps, per source worker, the next index it expects and a stash of early arrivals;
 *    it releases a source's items strictly in index order, stamping each with the next global
 *    sequence number, and sends `sequenced {seq, items}` to every worker — one message per peer
 *    for every run of items one submit released (`items[i]` has sequence number `seq + i`), so a
 *    batch of 64 commands crosses each thread boundary once, not 64 times.
 * 3. Every worker stashes sequenced items that arrive early and yields them strictly in `seq`
 *    order.
 *
 * ## Correctness
 * - Total order: only worker 0 assigns `seq`, each value once, so all workers see one order.
 * - Per-worker FIFO: a worker's pushes are released in the order it pushed them (its indexes),
 *   even if the transport reorders messages.
 * - No loss, no duplicates: duplicate indexes or sequence numbers are protocol errors (they would
 *   mean a transport bug), reported as `SequencerProtocolError`.
 * The transport only needs to deliver every message eventually; it may delay and reorder.
 *
 * ## A leader that is not a worker (`leaderOnly`)
 * The unified runtime runs index 0 on its main thread as a pure leader and its W workers as
 * indexes 1…W: the controller's commands then reach every worker in one hop (main → worker), not
 * two in series (main → worker 0 → the others), and a worker's internal commands go worker →
 * main → every worker, as many hops as before. The leader yields nothing.
 *
 * ```ts
 * // Two workers in one thread, wired directly:
 * const seqs: Sequencer<string>[] = [];
 * for (let w = 0; w < 2; w++) {
 *   seqs.push(new Sequencer<string>(w, 2, (to, msg) => seqs[to]!.receive(msg)));
 * }
 * seqs[1]!.push("create u1");
 * seqs[0]!.push("peek u1");
 * [...seqs[0]!.drain()]; // the same order as [...seqs[1]!.drain()]
 * ```
 */
import { SequencerClosed, SequencerProtocolError } from "../errors.js";

/** A message between sequencer instances. Plain data: crosses `postMessage` unchanged. */
export type SequencerMessage<T> =
  | {
      readonly kind: "submit";
      readonly from: number;
      /** The running index of `items[0]`; `items[i]` has `index + i`. */
      readonly index: number;
      readonly items: readonly T[];
    }
  | {
      readonly kind: "sequenced";
      /** The sequence number of `items[0]`; `items[i]` has `seq + i`. */
      readonly seq: number;
      readonly items: readonly T[];
    };

/** An item with its global sequence number. */
export interface Sequenced<T> {
  readonly seq: number;
  readonly item: T;
}

/** Sends a sequencer message to worker `to` (possibly this worker itself). */
export type SequencerSend<T> = (to: number, msg: SequencerMessage<T>) => void;

export interface SequencerOptions<T> {
  /**
   * Index 0 only: a pure leader that orders items but applies none itself (it yields nothing) —
   * the unified runtime's main thread, whose workers are indexes 1…peers−1. Default false.
   */
  readonly leaderOnly?: boolean;
  /**
   * Index 0 only: sends one `sequenced` message to every other index at once (e.g. serialized
   * once for all); default: `send` to each.
   */
  readonly broadcast?: (msg: SequencerMessage<T>) => void;
  /**
   * How many sequence numbers an item occupies (default 1): an item that stands for several
   * commands (the runtime's forwarded frames) takes one per command, so the numbers commands are
   * applied with do not depend on how they were packed. Every index must use the same function.
   */
  readonly size?: (item: T) => number;
}

export class Sequencer<T> implements Disposable {
  /** This worker's index in `[0, peers)`. */
  readonly workerIndex: number;
  /** Number of workers. */
  readonly peers: number;
  readonly #send: SequencerSend<T>;
  /** Next running index for this worker's own pushes. */
  #nextPushIndex = 0;
  /** Worker 0 only: per source worker, the next index to release. */
  readonly #nextFrom: number[];
  /** Worker 0 only: per source worker, items that arrived ahead of their turn, by index. */
  readonly #early: Map<number, T>[];
  /** Worker 0 only: the next global sequence number to assign. */
  #nextAssign = 0;
  /** Sequenced items that arrived ahead of their turn, by seq. */
  readonly #pending = new Map<number, T>();
  /** Next sequence number to yield. */
  #nextDeliver = 0;
  /** Items ready to yield, in order; `#head` avoids Array.shift on long queues. */
  #ready: Sequenced<T>[] = [];
  #head = 0;
  #closed = false;
  readonly #leaderOnly: boolean;
  readonly #broadcast: ((msg: SequencerMessage<T>) => void) | undefined;
  readonly #size: ((item: T) => number) | undefined;

  constructor(
    workerIndex: number,
    peers: number,
    send: SequencerSend<T>,
    options: SequencerOptions<T> = {},
  ) {
    if (
      !Number.isInteger(peers) ||
      peers < 1 ||
      !Number.isInteger(workerIndex) ||
      workerIndex < 0 ||
      workerIndex >= peers
    ) {
      throw new SequencerProtocolError(workerIndex, `invalid worker ${workerIndex} of ${peers}`);
    }
    if (workerIndex !== 0 && (options.leaderOnly || options.broadcast)) {
      throw new SequencerProtocolError(workerIndex, "only index 0 leads the order");
    }
    this.workerIndex = workerIndex;
    this.peers = peers;
    this.#send = send;
    this.#leaderOnly = options.leaderOnly ?? false;
    this.#broadcast = options.broadcast;
    this.#size = options.size;
    this.#nextFrom = workerIndex === 0 ? new Array<number>(peers).fill(0) : [];
    this.#early =
      workerIndex === 0 ? Array.from({ length: peers }, () => new Map<number, T>()) : [];
  }

  /** Submits an item for sequencing. @throws SequencerClosed after `close()`. */
  push(item: T): void {
    this.pushAll([item]);
  }

  /**
   * Submits items for sequencing, in order, as one message (they stay consecutive in the total
   * order only if no other worker's items are released between them). @throws SequencerClosed
   * after `close()`.
   */
  pushAll(items: readonly T[]): void {
    if (this.#closed) throw new SequencerClosed(this.workerIndex);
    if (items.length === 0) return;
    const msg: SequencerMessage<T> = {
      kind: "submit",
      from: this.workerIndex,
      index: this.#nextPushIndex,
      items,
    };
    this.#nextPushIndex += items.length;
    if (this.workerIndex === 0) this.receive(msg);
    else this.#send(0, msg);
  }

  /**
   * Feeds a message that arrived from the transport.
   * @throws SequencerProtocolError on a duplicate, misrouted or malformed message.
   */
  receive(msg: SequencerMessage<T>): void {
    if (this.#closed) return;
    if (!Array.isArray(msg.items) || !Number.isInteger(msg.kind === "submit" ? msg.index : msg.seq))
      throw new SequencerProtocolError(
        this.workerIndex,
        `malformed message ${JSON.stringify(msg)}`,
      );
    if (msg.kind === "submit") this.#onSubmit(msg.from, msg.index, msg.items);
    else if (msg.kind === "sequenced") this.#onSequencedRun(msg.seq, msg.items);
    else
      throw new SequencerProtocolError(this.workerIndex, `unknown message ${JSON.stringify(msg)}`);
  }

  /** The next item in the total order, if it has arrived. */
  next(): Sequenced<T> | undefined {
    if (this.#head >= this.#ready.length) return undefined;
    const out = this.#ready[this.#head++]!;
    if (this.#head === this.#ready.length) {
      this.#ready = [];
      this.#head = 0;
    }
    return out;
  }

  /** Yields every item that is ready, in order. */
  *drain(): Generator<Sequenced<T>> {
    for (let s = this.next(); s !== undefined; s = this.next()) yield s;
  }

  /** Number of items ready to yield. */
  get readyCount(): number {
    return this.#ready.length - this.#head;
  }

  /** Stops accepting pushes and ignores further messages. */
  close(): void {
    this.#closed = true;
    this.#pending.clear();
    for (const m of this.#early) m.clear();
  }

  [Symbol.dispose](): void {
    this.close();
  }

  #onSubmit(from: number, index: number, items: readonly T[]): void {
    if (this.workerIndex !== 0) {
      throw new SequencerProtocolError(
        this.workerIndex,
        `submit from worker ${from} reached a worker other than 0`,
      );
    }
    if (!Number.isInteger(from) || from < 0 || from >= this.peers) {
      throw new SequencerProtocolError(0, `submit from unknown worker ${from}`);
    }
    const early = this.#early[from]!;
    for (let i = 0; i < items.length; i++) {
      if (index + i < this.#nextFrom[from]! || early.has(index + i)) {
        throw new SequencerProtocolError(0, `duplicate submit ${index + i} from worker ${from}`);
      }
    }
    for (let i = 0; i < items.length; i++) early.set(index + i, items[i] as T);
    // Release this source's items in index order, as one run of consecutive sequence numbers.
    const seq = this.#nextAssign;
    const released: T[] = [];
    for (let i = this.#nextFrom[from]!; early.has(i); i++) {
      released.push(early.get(i) as T);
      early.delete(i);
      this.#nextFrom[from] = i + 1;
    }
    if (released.length === 0) return;
    this.#nextAssign += this.#sizeOf(released);
    const sequenced: SequencerMessage<T> = { kind: "sequenced", seq, items: released };
    if (this.#broadcast !== undefined) {
      if (this.peers > 1) this.#broadcast(sequenced);
    } else for (let w = 1; w < this.peers; w++) this.#send(w, sequenced);
    if (this.#leaderOnly) return;
    this.#onSequencedRun(seq, released);
  }

  /** Sequence numbers taken by `items` (one each unless the `size` option says otherwise). */
  #sizeOf(items: readonly T[]): number {
    const size = this.#size;
    if (size === undefined) return items.length;
    let n = 0;
    for (const item of items) n += size(item);
    return n;
  }

  /** A run of items whose first has sequence number `seq`. */
  #onSequencedRun(seq: number, items: readonly T[]): void {
    const size = this.#size;
    for (let i = 0, s = seq; i < items.length; i++) {
      const item = items[i] as T;
      this.#onSequenced(s, item);
      s += size === undefined ? 1 : size(item);
    }
  }

  #onSequenced(seq: number, item: T): void {
    if (seq < this.#nextDeliver || this.#pending.has(seq)) {
      throw new SequencerProtocolError(this.workerIndex, `duplicate sequence number ${seq}`);
    }
    if (seq !== this.#nextDeliver) {
      this.#pending.set(seq, item);
      return;
    }
    const size = this.#size;
    this.#ready.push({ seq, item });
    this.#nextDeliver += size === undefined ? 1 : size(item);
    for (
      let it = this.#pending.get(this.#nextDeliver);
      it !== undefined || this.#pending.has(this.#nextDeliver);
      it = this.#pending.get(this.#nextDeliver)
    ) {
      this.#pending.delete(this.#nextDeliver);
      this.#ready.push({ seq: this.#nextDeliver, item: it as T });
      this.#nextDeliver += size === undefined ? 1 : size(it as T);
    }
  }
}
