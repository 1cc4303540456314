/**
 * The worker mesh: W worker threads, a MessagePort between every pair of workers and one between
 * each worker and the process's main thread.
 *
 * This layer imports nothing from the rest of the package (timely's `communication` crate): it
 * moves plain-data messages (anything `structuredClone` accepts; ArrayBuffers may be transferred)
 * on named channels. Higher layers (the sequencer, the dataflow exchange, responses) each use
 * their own channel name.
 *
 * ## Flow
 * 1. `spawnMesh()` on the main thread makes W×(W−1)/2 `MessageChannel`s and one per worker to the
 *    main thread, starts W `Worker`s with `workerData = {index, peers, init}`, and transfers each
 *    worker its ports in a first `mesh-init` message.
 * 2. In the worker, `joinMesh()` waits for `mesh-init` and returns a `WorkerMesh`.
 * 3. Ports deliver messages in FIFO order per pair; nothing here relies on cross-pair ordering.
 *    `broadcast` (main → every worker) posts the same payload on every worker's port.
 *
 * Channel names beginning with `mesh:` are reserved.
 */

import {
  MessageChannel,
  type MessagePort,
  parentPort,
  type TransferListItem,
  Worker,
  workerData,
} from "node:worker_threads";

/** A message on the mesh: a channel name and a payload. */
export interface MeshEnvelope {
  readonly channel: string;
  readonly payload: unknown;
}

type Handler = (payload: unknown, from: number) => void;

/** Dispatches envelopes to per-channel handlers; messages for a channel without a handler wait. */
class ChannelDispatcher {
  readonly #handlers = new Map<string, Handler>();
  readonly #waiting = new Map<string, Array<[unknown, number]>>();

  on(channel: string, handler: Handler): void {
    this.#handlers.set(channel, handler);
    const queued = this.#waiting.get(channel);
    if (queued) {
      this.#waiting.delete(channel);
      for (const [payload, from] of queued) handler(payload, from);
    }
  }

  dispatch(env: MeshEnvelope, from: number): void {
    const h = this.#handlers.get(env.channel);
    if (h) h(env.payload, from);
    else {
      let q = this.#waiting.get(env.channel);
      if (!q) this.#waiting.set(env.channel, (q = []));
      q.push([env.payload, from]);
    }
  }
}

/** The main thread's index in `from` arguments. */
export const MAIN = -1;

/** Worker-side view of the mesh. */
export interface WorkerMesh {
  readonly index: number;
  readonly peers: number;
  /** The `init` value given to `spawnMesh`. */
  readonly init: unknown;
  /** Sends to worker `to` (may be this worker: delivered on a later microtask) or `MAIN`. */
  send(to: number, channel: string, payload: unknown, transfer?: readonly TransferListItem[]): void;
  /** Registers the handler of a channel; earlier arrivals are delivered at once. */
  on(channel: string, handler: (payload: unknown, from: number) => void): void;
  /** Closes every port (the worker may then exit). */
  close(): void;
}

/** Main-thread view of the mesh. */
export interface MainMesh {
  readonly peers: number;
  readonly workers: readonly Worker[];
  send(to: number, channel: string, payload: unknown, transfer?: readonly TransferListItem[]): void;
  /**
   * Sends one payload to every worker: `postMessage` on each worker's port (a native structured
   * clone per worker). Session 13 serialized once with `v8.serialize` and posted the bytes; that
   * module's serializer costs ~30 µs more per message than the native clones (main thread and
   * workers together: 52 vs 21 µs at W=2 for a one-peek message, about even at 64 peeks), and
   * the controller's messages are mostly small.
   */
  broadcast(channel: string, payload: unknown): void;
  on(channel: string, handler: (payload: unknown, from: number) => void): void;
  /** Resolves when every worker has joined. */
  readonly ready: Promise<void>;
  /** Terminates every worker and closes the ports. */
  terminate(): Promise<void>;
  /** Called when a worker exits or errors unexpectedly. */
  onWorkerExit(cb: (index: number, error: Error | undefined, code: number) => void): void;
}

interface InitMessage {
  readonly kind: "mesh-init";
  readonly main: MessagePort;
  readonly peers: ReadonlyArray<MessagePort | null>;
}

/**
 * Starts `peers` worker threads running `entry` and wires the mesh.
 * `init` is passed to every worker as `WorkerMesh.init` (plain data).
 */
export function spawnMesh(
  entry: URL,
  peers: number,
  init: unknown,
  opts: { resourceLimits?: { maxOldGenerationSizeMb?: number } } = {},
): MainMesh {
  if (!Number.isInteger(peers) || peers < 1)
    throw new RangeError(`peers must be a positive integer, got ${peers}`);
  const dispatcher = new ChannelDispatcher();
  const toWorker: MessagePort[] = [];
  const workerPorts: Array<Array<MessagePort | null>> = Array.from({ length: peers }, () =>
    new Array<MessagePort | null>(peers).fill(null),
  );
  for (let a = 0; a < peers; a++) {
    for (let b = a + 1; b < peers; b++) {
      const ch = new MessageChannel();
      workerPorts[a]![b] = ch.port1;
      workerPorts[b]![a] = ch.port2;
    }
  }
  const workers: Worker[] = [];
  const exitCbs: Array<(index: number, error: Error | undefined, code: number) => void> = [];
  let terminating = false;
  const joined: Promise<void>[] = [];
  for (let i = 0; i < peers; i++) {
    const mainCh = new MessageChannel();
    const w = new Worker(entry, {
      workerData: { index: i, peers, init },
      ...(opts.resourceLimits ? { resourceLimits: opts.resourceLimits } : {}),
    });
    let lastError: Error | undefined;
    w.on("error", (e) => {
      lastError = e;
    });
    w.on("exit", (code) => {
      if (!terminating) for (const cb of exitCbs) cb(i, lastError, code);
    });
    const ports = workerPorts[i]!;
    const transfer: MessagePort[] = [
      mainCh.port2,
      ...ports.filter((p): p is MessagePort => p !== null),
    ];
    const msg: InitMessage = { kind: "mesh-init", main: mainCh.port2, peers: ports };
    w.postMessage(msg, transfer);
    const port = mainCh.port1;
    joined.push(
      new Promise<void>((resolve, reject) => {
        const onExit = (code: number) =>
          reject(lastError ?? new Error(`worker ${i} exited with code ${code} before joining`));
        w.once("exit", onExit);
        port.once("message", (m: unknown) => {
          w.off("exit", onExit);
          if ((m as MeshEnvelope).channel === "mesh:joined") resolve();
          else reject(new Error(`worker ${i} sent ${JSON.stringify(m)} before joining`));
          port.on("message", (env: MeshEnvelope) => dispatcher.dispatch(env, i));
        });
      }),
    );
    toWorker.push(port);
    workers.push(w);
  }
  const ready = Promise.all(joined).then(() => undefined);
  ready.catch(() => {});
  return {
    peers,
    workers,
    ready,
    send(to, channel, payload, transfer) {
      const port = toWorker[to];
      if (!port) throw new RangeError(`no worker ${to}`);
      port.postMessage({ channel, payload } satisfies MeshEnvelope, transfer);
    },
    broadcast(channel, payload) {
      const env: MeshEnvelope = { channel, payload };
      for (const port of toWorker) port.postMessage(env);
    },
    on: (channel, handler) => dispatcher.on(channel, handler),
    onWorkerExit(cb) {
      exitCbs.push(cb);
    },
    async terminate() {
      terminating = true;
      for (const p of toWorker) p.close();
      await Promise.all(workers.map((w) => w.terminate()));
    },
  };
}

/** Joins the mesh from inside a worker thread started by `spawnMesh`. */
export function joinMesh(): Promise<WorkerMesh> {
  const data = workerData as { index: number; peers: number; init: unknown } | null;
  if (!parentPort || !data)
    return Promise.reject(new Error("joinMesh() must run inside a worker started by spawnMesh()"));
  const parent = parentPort;
  return new Promise((resolve) => {
    parent.once("message", (m: InitMessage) => {
      const dispatcher = new ChannelDispatcher();
      const { index, peers } = data;
      m.main.on("message", (env: MeshEnvelope) => dispatcher.dispatch(env, MAIN));
      m.peers.forEach((p, from) => {
        p?.on("message", (env: MeshEnvelope) => dispatcher.dispatch(env, from));
      });
      const mesh: WorkerMesh = {
        index,
        peers,
        init: data.init,
        send(to, channel, payload, transfer) {
          const env: MeshEnvelope = { channel, payload };
          if (to === MAIN) m.main.postMessage(env, transfer);
          else if (to === index) queueMicrotask(() => dispatcher.dispatch(env, index));
          else {
            const p = m.peers[to];
            if (!p) throw new RangeError(`worker ${index}: no peer ${to}`);
            p.postMessage(env, transfer);
          }
        },
        on: (channel, handler) => dispatcher.on(channel, handler),
        close() {
          m.main.close();
          for (const p of m.peers) p?.close();
        },
      };
      m.main.postMessage({ channel: "mesh:joined", payload: index } satisfies MeshEnvelope);
      resolve(mesh);
    });
  });
}
