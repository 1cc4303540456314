/**
 * `ExchangeRouter`: the dataflow engine's exchange (`Allocator`/`Channel`) for every dataflow of
 * one worker, multiplexed over ONE mesh channel.
 *
 * Each `Graph` numbers its exchange channels from 0, so two dataflows of one worker need
 * separate namespaces: a dataflow gets the namespace `ns` = its build sequence number, which is
 * identical on every worker because every worker builds dataflows in the same command order.
 * A message travels as `[ns, channelId, message]` on the mesh channel `compute:exchange`.
 *
 * ## Invariants
 * - FIFO per (namespace, channel, sender, receiver): the mesh is FIFO per (sender, receiver).
 * - A message for a namespace not yet opened here waits (a faster worker built it first); a
 *   message for a closed namespace is discarded, and closing frees the namespace's queues — so a
 *   dropped dataflow leaves nothing behind (mz-cluster's `createMeshAllocator` registers one mesh
 *   handler per channel that can never be removed, which is why this router exists).
 * - Sending never delivers synchronously (the mesh queues even self-sends).
 */
import type { Allocator, Channel, ExchangeMessage } from "@mzts/dataflow";

/** The part of mz-cluster's `WorkerMesh` the router needs. */
export interface MeshLike {
  readonly index: number;
  readonly peers: number;
  send(to: number, channel: string, payload: unknown): void;
  on(channel: string, handler: (payload: unknown, from: number) => void): void;
}

type Envelope = readonly [ns: number, channel: number, message: ExchangeMessage];
type Inbox = Array<readonly [from: number, message: ExchangeMessage]>;

/** Per-dataflow exchange namespaces over one mesh channel. */
export class ExchangeRouter {
  readonly #mesh: MeshLike;
  readonly #name: string;
  readonly #onArrival: () => void;
  /** ns → channel id → arrived messages. Present for open namespaces and early arrivals. */
  readonly #inboxes = new Map<number, Map<number, Inbox>>();
  /** Namespaces opened and not closed. */
  readonly #open = new Set<number>();
  /** Namespaces closed (arrivals for them are discarded). */
  readonly #closed = new Set<number>();

  constructor(mesh: MeshLike, onArrival: () => void, channelName = "compute:exchange") {
    this.#mesh = mesh;
    this.#name = channelName;
    this.#onArrival = onArrival;
    mesh.on(channelName, (payload, from) => {
      const [ns, ch, msg] = payload as Envelope;
      if (this.#closed.has(ns)) return;
      this.#inbox(ns, ch).push([from, msg]);
      if (this.#open.has(ns)) this.#onArrival();
    });
  }

  /** Messages queued for open or not-yet-opened namespaces (for tests and statistics). */
  get queued(): number {
    let n = 0;
    for (const chans of this.#inboxes.values()) for (const q of chans.values()) n += q.length;
    return n;
  }

  /** The allocator of namespace `ns` (a dataflow's build sequence number). */
  open(ns: number): Allocator {
    this.#open.add(ns);
    if (this.#inboxes.has(ns)) this.#onArrival();
    const mesh = this.#mesh;
    const name = this.#name;
    return {
      index: mesh.index,
      peers: mesh.peers,
      channel: (id: number): Channel => {
        const inbox = this.#inbox(ns, id);
        return {
          send(to, message) {
            mesh.send(to, name, [ns, id, message] satisfies Envelope);
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

  #inbox(ns: number, ch: number): Inbox {
    let chans = this.#inboxes.get(ns);
    if (!chans) this.#inboxes.set(ns, (chans = new Map()));
    let q = chans.get(ch);
    if (!q) chans.set(ch, (q = []));
    return q;
  }
}
