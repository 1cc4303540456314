/**
 * `ExchangeRouter<M>`: the dataflow engine's exchange (`@mzts/dataflow`'s `Allocator`/`Channel`,
 * structurally) between one worker and its peers, for every dataflow of the worker, multiplexed
 * over ONE mesh channel. The one exchange of the runtime: compute's dataflows and legacy command
 * channel use it, and storage can.
 *
 * Like the rest of `communication/`, it imports nothing from the rest of the package (style §22):
 * it needs only a mesh's `index`, `peers`, `send` and `on` (`ExchangeMesh`), so tests drive it
 * over an in-memory mesh. It is generic over the message type `M` (the engine's plain-data
 * `ExchangeMessage`), so the package does not depend on the engine.
 *
 * ## Namespaces
 * Each `Graph` numbers its exchange channels from 0, so two dataflows of one worker need
 * separate namespaces: a dataflow gets the namespace `ns` = a number identical on every worker
 * (compute uses the dataflow's build sequence number: every worker builds dataflows in the same
 * command order). A message travels as `[ns, channelId, message]` on the router's mesh channel.
 *
 * ## Invariants
 * - FIFO per (namespace, channel, sender, receiver): the mesh is FIFO per (sender, receiver).
 * - A message for a namespace not yet opened here waits (a faster worker built it first), and
 *   opening the namespace signals `onArrival`; a message for a closed namespace is discarded, and
 *   closing frees the namespace's queues — so a dropped dataflow leaves nothing behind (one mesh
 *   handler per router, never one per channel: mesh handlers cannot be removed).
 * - Sending never delivers synchronously (the mesh queues even self-sends); `drain()` hands over
 *   what has arrived. A send to a worker outside `[0, peers)` throws `RangeError` (a bug).
 */
import type { WorkerMesh } from "./mesh.js";

/** The part of a `WorkerMesh` the router needs. */
export type ExchangeMesh = Pick<WorkerMesh, "index" | "peers" | "send" | "on">;

/** One worker's end of one exchange channel (structurally the engine's `Channel`). */
export interface ExchangeChannel<M> {
  /** Queues `message` for worker `to` (possibly this worker); never delivers synchronously. */
  send(to: number, message: M): void;
  /** Hands every arrived message to `handler`, per-sender FIFO; returns how many there were. */
  drain(handler: (from: number, message: M) => void): number;
}

/** One namespace's endpoint: allocates channels by id (structurally the engine's `Allocator`). */
export interface ExchangeAllocator<M> {
  readonly index: number;
  readonly peers: number;
  channel(id: number): ExchangeChannel<M>;
}

type Envelope<M> = readonly [ns: number, channel: number, message: M];
type Inbox<M> = Array<readonly [from: number, message: M]>;

/** Per-namespace exchange channels over one mesh channel. */
export class ExchangeRouter<M> {
  readonly #mesh: ExchangeMesh;
  readonly #name: string;
  readonly #onArrival: (ns: number) => void;
  /** ns → channel id → arrived messages. Present for open namespaces and early arrivals. */
  readonly #inboxes = new Map<number, Map<number, Inbox<M>>>();
  /** Namespaces opened and not closed. */
  readonly #open = new Set<number>();
  /** Namespaces closed (arrivals for them are discarded). */
  readonly #closed = new Set<number>();

  /**
   * Registers the router's handler for mesh channel `channelName` (one router per name and
   * worker). `onArrival` fires when a message for an open namespace arrives, or when a namespace
   * with early arrivals opens, with that namespace: the worker should step (at least the
   * namespace's dataflow; compute activates only that one).
   * @throws RangeError for a channel name in the mesh's reserved `mesh:` space.
   */
  constructor(mesh: ExchangeMesh, channelName: string, onArrival: (ns: number) => void) {
    if (channelName.startsWith("mesh:")) {
      throw new RangeError(`exchange channel name ${channelName}: the mesh: prefix is reserved`);
    }
    this.#mesh = mesh;
    this.#name = channelName;
    this.#onArrival = onArrival;
    mesh.on(channelName, (payload, from) => {
      const [ns, ch, msg] = payload as Envelope<M>;
      if (this.#closed.has(ns)) return;
      this.#inbox(ns, ch).push([from, msg]);
      if (this.#open.has(ns)) this.#onArrival(ns);
    });
  }

  /** Messages queued for open or not-yet-opened namespaces (for tests and statistics). */
  get queued(): number {
    let n = 0;
    for (const chans of this.#inboxes.values()) for (const q of chans.values()) n += q.length;
    return n;
  }

  /** The allocator of namespace `ns` (the same number on every worker). */
  open(ns: number): ExchangeAllocator<M> {
    this.#open.add(ns);
    if (this.#inboxes.has(ns)) this.#onArrival(ns);
    const mesh = this.#mesh;
    const name = this.#name;
    return {
      index: mesh.index,
      peers: mesh.peers,
      channel: (id: number): ExchangeChannel<M> => {
        const inbox = this.#inbox(ns, id);
        return {
          send(to, message) {
            if (!Number.isInteger(to) || to < 0 || to >= mesh.peers) {
              throw new RangeError(
                `exchange ${name} namespace ${ns} channel ${id}: no worker ${to} (peers ${mesh.peers})`,
              );
            }
            mesh.send(to, name, [ns, id, message] satisfies Envelope<M>);
          },
          drain(handler) {
            if (inbox.length === 0) return 0;
            const taken = inbox.splice(0, inbox.length);
            for (const [from, m] of taken) handler(from, m);
            return taken.length;
          },
        };
      },
    };
  }

  /** Closes namespace `ns`: its queues are freed and later arrivals discarded. */
  close(ns: number): void {
    this.#open.delete(ns);
    this.#closed.add(ns);
    this.#inboxes.delete(ns);
  }

  #inbox(ns: number, ch: number): Inbox<M> {
    let chans = this.#inboxes.get(ns);
    if (!chans) this.#inboxes.set(ns, (chans = new Map()));
    let q = chans.get(ch);
    if (!q) chans.set(ch, (q = []));
    return q;
  }
}
