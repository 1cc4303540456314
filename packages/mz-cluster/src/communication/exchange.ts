/**
 * The dataflow engine's exchange (`@mzts/dataflow` `Allocator`/`Channel`) over the worker mesh.
 *
 * Each exchange channel id maps to the mesh channel `exchange:<id>`. A MessagePort delivers in
 * FIFO order per (sender, receiver) pair, which is exactly the engine's requirement (a sender's
 * progress message follows its data). Sending to oneself is queued and seen at the next `drain()`,
 * never delivered synchronously. Arrivals call `onArrival` so the runtime can step the worker.
 *
 * Messages are the engine's plain-data `ExchangeMessage`s (rows, bigint times, number diffs, or a
 * frontier); they cross `postMessage` by structured clone.
 */
import type { WorkerMesh } from "./mesh.js";

/** The engine's message (structurally `@mzts/dataflow`'s `ExchangeMessage`). */
export type ExchangeEnvelope = unknown;

export interface MeshChannel<M> {
  send(to: number, message: M): void;
  drain(handler: (from: number, message: M) => void): number;
}

export interface MeshAllocator<M> {
  readonly index: number;
  readonly peers: number;
  channel(id: number): MeshChannel<M>;
}

/** An exchange allocator for this worker over `mesh`; `onArrival` fires when a message arrives. */
export function createMeshAllocator<M>(mesh: WorkerMesh, onArrival: () => void): MeshAllocator<M> {
  const inboxes = new Map<number, Array<readonly [number, M]>>();
  const inboxOf = (id: number) => {
    let q = inboxes.get(id);
    if (!q) {
      q = [];
      inboxes.set(id, q);
    }
    return q;
  };
  return {
    index: mesh.index,
    peers: mesh.peers,
    channel(id) {
      const name = `exchange:${id}`;
      const inbox = inboxOf(id);
      mesh.on(name, (payload, from) => {
        inbox.push([from, payload as M]);
        onArrival();
      });
      return {
        send(to, message) {
          if (!Number.isInteger(to) || to < 0 || to >= mesh.peers) {
            throw new RangeError(`exchange channel ${id}: no worker ${to} (peers ${mesh.peers})`);
          }
          mesh.send(to, name, message);
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
