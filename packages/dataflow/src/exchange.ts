/**
 * The exchange between workers: the `Allocator`/`Channel` interface the runtime implements, and
 * an in-memory implementation that runs W workers in one thread (tests, benchmarks).
 *
 * ## Contract (what an implementation must guarantee)
 * 1. Every worker opens the same channel ids in the same order (graphs are built identically).
 * 2. Messages are plain data (`ExchangeMessage`: arrays of rows, bigint times, number diffs, or a
 *    frontier) and survive `structuredClone`/`postMessage`; an implementation may also encode
 *    them into ArrayBuffers (`@mzts/repr` `RowPacker`).
 * 3. Delivery is asynchronous: `send()` never runs the receiver; a message shows up in a later
 *    `drain()` on the receiving worker, possibly much later.
 * 4. **FIFO per (channel, sender, receiver)**. Nothing is promised across senders. This is what
 *    makes progress tracking work: a sender's `progress(f)` follows every data message it sent at
 *    times `< f`, so when the receiver sees `progress(f)` from sender s it has all of s's data
 *    below f, and its input frontier is the meet over all senders (`PartitionedFrontier`).
 * 5. Sending to oneself goes through the channel too (it keeps FIFO with the progress messages).
 *
 * The runtime (mz-cluster, worker_threads) implements `Allocator` over MessagePorts and calls
 * `graph.step()` when messages arrive.
 */
import type { Frontier, Row, Timestamp } from "@mzts/repr";
import { ExchangeMisuse } from "./errors.js";
import type { Graph } from "./graph.js";

/** What travels between workers on one channel. Plain data only. */
export type ExchangeMessage =
  | {
      readonly kind: "data";
      readonly rows: Row[];
      readonly times: Timestamp[];
      readonly diffs: number[];
    }
  | { readonly kind: "progress"; readonly frontier: Frontier };

/** One worker's end of one exchange channel. */
export interface Channel {
  /** Queues `message` for worker `to` (possibly this worker). Must not deliver synchronously. */
  send(to: number, message: ExchangeMessage): void;
  /**
   * Hands every message that has arrived to `handler`, in per-sender FIFO order, and returns how
   * many there were.
   */
  drain(handler: (from: number, message: ExchangeMessage) => void): number;
}

/** One worker's endpoint of the exchange: allocates channels by id. */
export interface Allocator {
  /** This worker's index in `[0, peers)`. */
  readonly index: number;
  /** Number of workers. */
  readonly peers: number;
  /** Opens channel `id` (the same ids on every worker). */
  channel(id: number): Channel;
}

export interface InMemoryExchangeOptions {
  /**
   * `true` (default): a message is ready for the receiver as soon as it is sent (still only
   * seen at its next `drain()`). `false`: messages wait in flight until `deliver()`.
   */
  readonly immediate?: boolean;
  /** `structuredClone` every message, proving it is plain data (slower; for tests). */
  readonly clone?: boolean;
}

type Envelope = readonly [from: number, message: ExchangeMessage];

/** W workers' exchange in one thread: per (channel, sender, receiver) FIFO queues. */
export class InMemoryExchange {
  readonly peers: number;
  readonly #immediate: boolean;
  readonly #clone: boolean;
  /** channel id → [from][to] → messages in flight (manual delivery only). */
  readonly #inFlight = new Map<number, ExchangeMessage[][][]>();
  /** channel id → [to] → arrived envelopes, in arrival order. */
  readonly #inbox = new Map<number, Envelope[][]>();
  #inFlightCount = 0;

  constructor(peers: number, options: InMemoryExchangeOptions = {}) {
    if (!Number.isInteger(peers) || peers < 1) {
      throw new ExchangeMisuse(`peers must be a positive integer, got ${peers}`);
    }
    this.peers = peers;
    this.#immediate = options.immediate ?? true;
    this.#clone = options.clone ?? false;
  }

  /** Worker `index`'s endpoint. */
  allocator(index: number): Allocator {
    if (!Number.isInteger(index) || index < 0 || index >= this.peers) {
      throw new ExchangeMisuse(`worker ${index} outside [0, ${this.peers})`);
    }
    return { index, peers: this.peers, channel: (id) => this.#channel(id, index) };
  }

  /** Messages sent and not yet delivered (always 0 with immediate delivery). */
  get inFlight(): number {
    return this.#inFlightCount;
  }

  /**
   * Delivers in-flight messages. Without `random`, everything. With `random`, a random prefix of
   * each (sender, receiver) queue, visiting queues in random order: per-pair FIFO holds, every
   * other interleaving is possible. Returns the number of messages delivered.
   */
  deliver(random?: () => number): number {
    let delivered = 0;
    const pairs: Array<[ExchangeMessage[], Envelope[], number]> = [];
    for (const [id, byFrom] of this.#inFlight) {
      const inbox = this.#inboxOf(id);
      for (let from = 0; from < this.peers; from++) {
        for (let to = 0; to < this.peers; to++) {
          const q = byFrom[from]![to]!;
          if (q.length > 0) pairs.push([q, inbox[to]!, from]);
        }
      }
    }
    if (random) shuffle(pairs, random);
    for (const [q, inbox, from] of pairs) {
      const n = random ? Math.floor(random() * (q.length + 1)) : q.length;
      for (const m of q.splice(0, n)) inbox.push([from, m]);
      delivered += n;
    }
    this.#inFlightCount -= delivered;
    return delivered;
  }

  #inboxOf(id: number): Envelope[][] {
    let inbox = this.#inbox.get(id);
    if (!inbox) {
      inbox = Array.from({ length: this.peers }, () => []);
      this.#inbox.set(id, inbox);
    }
    return inbox;
  }

  #channel(id: number, self: number): Channel {
    const inbox = this.#inboxOf(id);
    let inFlight = this.#inFlight.get(id);
    if (!inFlight) {
      inFlight = Array.from({ length: this.peers }, () =>
        Array.from({ length: this.peers }, () => [] as ExchangeMessage[]),
      );
      this.#inFlight.set(id, inFlight);
    }
    const outQueues = inFlight[self]!;
    const myInbox = inbox;
    return {
      send: (to, message) => {
        if (!Number.isInteger(to) || to < 0 || to >= this.peers) {
          throw new ExchangeMisuse(`send to worker ${to} outside [0, ${this.peers})`);
        }
        const m = this.#clone ? structuredClone(message) : message;
        if (this.#immediate) myInbox[to]!.push([self, m]);
        else {
          outQueues[to]!.push(m);
          this.#inFlightCount++;
        }
      },
      drain: (handler) => {
        const q = myInbox[self]!;
        if (q.length === 0) return 0;
        const taken = q.splice(0, q.length);
        for (const [from, m] of taken) handler(from, m);
        return taken.length;
      },
    };
  }
}

/** An in-memory exchange for `peers` workers in one thread. */
export function createInMemoryExchange(
  peers: number,
  options: InMemoryExchangeOptions = {},
): InMemoryExchange {
  return new InMemoryExchange(peers, options);
}

export interface RunWorkersOptions {
  /** Randomises delivery (prefixes of each queue) and the order in which workers step. */
  readonly random?: () => number;
  /** Upper bound on rounds (a guard against livelock in tests). Default 1e6. */
  readonly maxRounds?: number;
}

/**
 * Steps W graphs sharing an in-memory exchange until every graph is idle and nothing is in
 * flight. Returns the number of rounds.
 */
export function runWorkers(
  graphs: readonly Graph[],
  exchange: InMemoryExchange,
  options: RunWorkersOptions = {},
): number {
  const { random } = options;
  const max = options.maxRounds ?? 1_000_000;
  const order = graphs.map((_, i) => i);
  for (let round = 0; round < max; round++) {
    let progress = exchange.deliver(random) > 0;
    if (random) shuffle(order, random);
    for (const i of order) if (graphs[i]!.step()) progress = true;
    if (!progress && exchange.inFlight === 0) return round;
    if (!progress) exchange.deliver();
  }
  throw new ExchangeMisuse(`workers did not quiesce within ${max} rounds`);
}

function shuffle<T>(a: T[], random: () => number): void {
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    const t = a[i]!;
    a[i] = a[j]!;
    a[j] = t;
  }
}
